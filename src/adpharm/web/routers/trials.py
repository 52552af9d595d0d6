"""Virtual trials: the page, the bundled protocols and one simulated trial."""
from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from .. import services
from ..context import WebContext, plotly_js
from ..models import TrialIn


def router(ctx: WebContext) -> APIRouter:
    r = APIRouter()

    @r.get("/trials", response_class=HTMLResponse, include_in_schema=False)
    def trials_page(request: Request):
        return ctx.page(request, "trials.html", nav="trials", protocols=services.protocols(),
                        plotly=plotly_js() is not None, limits=services.LIMITS)

    @r.get("/api/protocols", summary="Bundled trial protocols")
    def api_protocols() -> list[dict]:
        return services.protocols()

    @r.post("/api/trials/simulate", summary="Simulate one virtual trial")
    def api_trial(body: TrialIn) -> dict:
        return ctx.pool.run(services.trial, body.protocol, body.n_per_arm, body.seed)

    return r
