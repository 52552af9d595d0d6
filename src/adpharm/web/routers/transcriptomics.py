"""Transcriptomics: two uploaded DE tables, their RRHO2 overlap and the reversal of one by the other."""
from __future__ import annotations

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse

from .. import services
from ..context import WebContext


def router(ctx: WebContext) -> APIRouter:
    r = APIRouter()

    async def signatures(disease, drug, disease_contrast, drug_contrast):
        ups = [await ctx.read(disease, "table", "disease"), await ctx.read(drug, "table", "drug")]
        return ctx.on_uploads(ups, lambda p: ctx.pool.run(services.signatures, p[0], p[1], disease_contrast,
                                                          drug_contrast))

    @r.get("/transcriptomics", response_class=HTMLResponse, include_in_schema=False)
    def tx_page(request: Request):
        return ctx.page(request, "transcriptomics.html", nav="transcriptomics")

    @r.post("/transcriptomics", response_class=HTMLResponse, include_in_schema=False)
    async def tx_run(request: Request, disease: UploadFile = File(...), drug: UploadFile = File(...),
                     disease_contrast: str = Form("", max_length=120), drug_contrast: str = Form("", max_length=120)):
        res = await signatures(disease, drug, disease_contrast, drug_contrast)
        return ctx.page(request, "transcriptomics.html", nav="transcriptomics", res=res)

    @r.post("/api/transcriptomics/signatures", summary="RRHO2 and reversal of two uploaded DE tables")
    async def api_signatures(disease: UploadFile = File(...), drug: UploadFile = File(...),
                             disease_contrast: str = Form("", max_length=120),
                             drug_contrast: str = Form("", max_length=120)) -> dict:
        return await signatures(disease, drug, disease_contrast, drug_contrast)

    return r
