"""Drugs: the list and one drug's cited profile, as pages and as JSON."""
from __future__ import annotations

from typing import Optional

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from .. import services
from ..context import WebContext


def router(ctx: WebContext) -> APIRouter:
    r = APIRouter()

    @r.get("/drugs", response_class=HTMLResponse, include_in_schema=False)
    def drugs_page(request: Request, q: str = Query("", max_length=80),
                   drug_class: str = Query("", alias="class", max_length=20)):
        rows = services.drugs(drug_class or None, q or None)
        return ctx.page(request, "drugs.html", nav="drugs", rows=rows, q=q, drug_class=drug_class)

    @r.get("/drugs/{name}", response_class=HTMLResponse, include_in_schema=False)
    def drug_page(request: Request, name: str):
        profile = services.drug_profile(name)
        return ctx.page(request, "drug.html", nav="drugs", **profile,
                        **services.drug_page_helpers(profile["references"]))

    @r.get("/api/drugs", summary="Drugs with class and primary mechanism")
    def api_drugs(drug_class: Optional[str] = Query(None, alias="class", max_length=20),
                  q: Optional[str] = Query(None, max_length=80)) -> list[dict]:
        return services.drugs(drug_class, q)

    @r.get("/api/drugs/{name}", summary="The cited profile of one drug")
    def api_drug(name: str) -> dict:
        return services.drug_profile(name)

    return r
