"""Evidence: the meta-analysis page (bundled trials or an upload) and the JSON API of pairwise, bundled,
network and indirect meta-analysis."""
from __future__ import annotations

from typing import Literal, Optional

import pandas as pd
from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse

from ...evidence.effect_sizes import MEASURES, Measure
from ...evidence.meta import METHODS, Method
from .. import services, uploads
from ..context import WebContext
from ..models import MetaIn


def router(ctx: WebContext) -> APIRouter:
    r = APIRouter()

    def evidence(request: Request, **page):
        return ctx.page(request, "evidence.html", nav="evidence", treatments=services.bundled_treatments(),
                        measures=MEASURES, methods=METHODS, **page)

    @r.get("/evidence", response_class=HTMLResponse, include_in_schema=False)
    def evidence_page(request: Request):
        return evidence(request)

    @r.post("/evidence", response_class=HTMLResponse, include_in_schema=False)
    async def evidence_run(request: Request, source: Literal["bundled", "upload"] = Form("bundled"),
                           a: str = Form("TCA", max_length=40), b: str = Form("Placebo", max_length=40),
                           outcome: Literal["responders", "remitters"] = Form("responders"),
                           measure: Measure = Form("RR"),
                           method: Method = Form("REML"),
                           knha: bool = Form(False), file: Optional[UploadFile] = File(None)):
        if source == "bundled":
            res = services.bundled_meta(a, b, outcome, method)
            label = f"Linde 2015 bundled data: {a} vs {b}, {outcome}"
        else:
            from ...io import read_table
            up = await ctx.read(file, "table", "file")
            res = ctx.on_uploads([up], lambda p: ctx.pool.run(services.meta, read_table(p[0]), measure, method, knha,
                                                              uploads.safe_label(up[0])))
            label = f"uploaded {uploads.safe_label(up[0])}"
        return evidence(request, res=res, label=label)

    @r.post("/api/meta", summary="Pairwise meta-analysis of rows with metafor's column names")
    def api_meta(body: MetaIn) -> dict:
        return ctx.pool.run(services.meta, pd.DataFrame(body.data), body.measure, body.method, body.knha,
                            "request data")

    @r.get("/api/meta/bundled", summary="Meta-analysis of two treatments in the bundled Linde 2015 network")
    def api_meta_bundled(a: str = Query(..., max_length=40), b: str = Query(..., max_length=40),
                         outcome: Literal["responders", "remitters"] = "responders",
                         method: Method = "REML") -> dict:
        return services.bundled_meta(a, b, outcome, method)

    @r.get("/api/meta/network", summary="Network meta-analysis of the bundled Linde 2015 network")
    def api_network(outcome: Literal["responders", "remitters"] = "responders",
                    reference: Optional[str] = Query(None, max_length=40)) -> dict:
        return services.network_linde(outcome, reference)

    @r.get("/api/meta/indirect", summary="Adjusted indirect comparison (Bucher) of A and B via C, bundled trials")
    def api_indirect(a: str = Query(..., max_length=40), b: str = Query(..., max_length=40),
                     via: str = Query("placebo", max_length=40),
                     outcome: Literal["responders", "remitters"] = "responders",
                     measure: Literal["OR", "RR", "RD"] = "OR",
                     method: Method = "REML") -> dict:
        return services.indirect(a, b, via, outcome, measure, method)

    return r
