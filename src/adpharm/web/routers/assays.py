"""Lab assays: the upload page and the JSON API (forced swim, sucrose preference, Western blot, LTP)."""
from __future__ import annotations

from typing import Literal, Optional

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse

from ...assays import western
from .. import services
from ..context import WebContext


def router(ctx: WebContext) -> APIRouter:
    r = APIRouter()

    async def analyse(kind, control, lanes, file, post, crop=""):
        western.check_lane_count(lanes)
        if crop.strip():
            western.parse_box(crop, "crop")          # a bad box is the form's error before any upload is stored
        if kind == "ltp":
            ups = [await ctx.read(file, "abf", "baseline recording"),
                   await ctx.read(post, "abf", "post-induction recording")]
            return ctx.on_uploads(ups, lambda p: ctx.pool.run(services.ltp_pair, *p))
        up = await ctx.read(file, "image" if kind == "western" else "table", "file")
        options = {"control": control, "lanes": lanes, "crop": crop}
        return ctx.on_uploads([up], lambda p: ctx.pool.run(services.assay, kind, p[0], options))

    @r.get("/assays", response_class=HTMLResponse, include_in_schema=False)
    def assays_page(request: Request):
        return ctx.page(request, "assays.html", nav="assays")

    @r.post("/assays", response_class=HTMLResponse, include_in_schema=False)
    async def assays_run(request: Request, kind: Literal["fst", "spt", "western", "ltp"] = Form(...),
                         control: str = Form("", max_length=40), lanes: str = Form("", max_length=3),
                         crop: str = Form("", max_length=40),
                         file: Optional[UploadFile] = File(None), post: Optional[UploadFile] = File(None)):
        res = await analyse(kind, control, lanes, file, post, crop)
        return ctx.page(request, "assays.html", nav="assays", res=res)

    @r.post("/api/assays/{kind}", summary="Analyse an uploaded lab file (fst, spt, western; ltp takes file and post)")
    async def api_assay(kind: Literal["fst", "spt", "western", "ltp"], file: UploadFile = File(...),
                        post: Optional[UploadFile] = File(None), control: str = Form("", max_length=40),
                        lanes: str = Form("", max_length=3), crop: str = Form("", max_length=40)) -> dict:
        return await analyse(kind, control, lanes, file, post, crop)

    return r
