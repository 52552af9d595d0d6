"""Simulation: the page, and the JSON API of concentrations, occupancy, TDM and the MADRS course."""
from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from .. import services
from ..context import WebContext, plotly_js
from ..models import MechanismIn, PKIn, SimulateIn, TDMIn


def router(ctx: WebContext) -> APIRouter:
    r = APIRouter()

    @r.get("/simulate", response_class=HTMLResponse, include_in_schema=False)
    def simulate_page(request: Request):
        return ctx.page(request, "simulate.html", nav="simulate", drugs=services.drugs(),
                        plotly=plotly_js() is not None, limits=services.LIMITS, tdm_drugs=services.tdm_drugs())

    @r.post("/api/simulate", summary="Concentrations, occupancy and MADRS course of a regimen")
    def api_simulate(body: SimulateIn) -> dict:
        return ctx.pool.run(services.simulate, body.drug, body.regimen, body.days, body.n, body.seed, body.weight_kg)

    @r.post("/api/pk", summary="Concentrations (NCA) and receptor occupancy of a regimen, as `adpharm pk occupancy`")
    def api_pk(body: PKIn) -> dict:
        return ctx.pool.run(services.pk, body.drug, body.regimen, body.hours, body.n, body.seed, body.weight_kg)

    @r.post("/api/pk/tdm", summary="Expected steady-state level, consensus range and a measured level's place, "
                                   "as `adpharm pk tdm` (research use only)")
    def api_tdm(body: TDMIn) -> dict:
        measured = body.measured if body.measured is not None else body.measured_ng_per_ml
        return ctx.pool.run(services.tdm, body.drug, body.regimen, measured, body.sample_h, body.phenotype,
                            body.cyp2d6_inhibitor, body.age_y, body.weight_kg, body.n, body.seed, body.unit,
                            body.since_start_h)

    @r.post("/api/mechanism", summary="Cascade states and the MADRS course, as `adpharm mechanism simulate`")
    def api_mechanism(body: MechanismIn) -> dict:
        return ctx.pool.run(services.mechanism, body.drug, body.regimen, body.days, body.n, body.seed,
                            body.weight_kg)

    return r
