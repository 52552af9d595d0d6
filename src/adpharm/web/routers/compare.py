"""The comparison guide of two drugs or classes: the page, the rendered guide and its JSON."""
from __future__ import annotations

import re
from typing import Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from .. import services
from ..context import WebContext, pdf_available

MEDIA = {"html": "text/html; charset=utf-8", "md": "text/markdown; charset=utf-8", "pdf": "application/pdf",
         "json": "application/json"}


def slug(s: str) -> str:
    """A file-name part from a drug or class name."""
    return re.sub(r"[^a-z0-9]+", "-", s.lower()).strip("-")[:40] or "side"


def router(ctx: WebContext) -> APIRouter:
    r = APIRouter()

    @r.get("/compare", response_class=HTMLResponse, include_in_schema=False)
    def compare_page(request: Request, a: str = Query("", max_length=40), b: str = Query("", max_length=40)):
        page = {"nav": "compare", "a": a, "b": b, "sides": services.side_names(), "pdf": pdf_available()}
        if a and b:
            c = ctx.cache.comparison(a, b)
            page["title"] = f"{c.a['name']} vs {c.b['name']}"
        return ctx.page(request, "compare.html", **page)

    @r.get("/compare/guide", include_in_schema=False)
    def compare_guide(a: str = Query(..., max_length=40), b: str = Query(..., max_length=40),
                      format: Literal["html", "md", "pdf", "json"] = "html", download: bool = False):
        body = ctx.cache.rendered(a, b, format)
        headers = {}
        if download:
            headers["Content-Disposition"] = f'attachment; filename="{slug(a)}-vs-{slug(b)}.{format}"'
        return Response(body, media_type=MEDIA[format], headers=headers)

    @r.get("/api/compare", summary="The comparison guide of two drugs or classes (JSON)")
    def api_compare(a: str = Query(..., min_length=1, max_length=40),
                    b: str = Query(..., min_length=1, max_length=40)) -> Response:
        return Response(ctx.cache.rendered(a, b, "json"), media_type="application/json")

    return r
