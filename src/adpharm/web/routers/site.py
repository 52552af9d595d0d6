"""The home page, the favicon, the vendored plotly.js and the health check."""
from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, Response

from ... import RESEARCH_NOTICE, __version__
from ..context import HERE, WebContext, plotly_js


def router(ctx: WebContext) -> APIRouter:
    r = APIRouter()

    @r.get("/", response_class=HTMLResponse, include_in_schema=False)
    def home(request: Request):
        return ctx.page(request, "home.html", nav="home")

    @r.get("/favicon.ico", include_in_schema=False)
    def favicon():
        return FileResponse(HERE / "static" / "favicon.svg", media_type="image/svg+xml")

    @r.get("/vendor/plotly.min.js", include_in_schema=False)
    def vendor_plotly():
        p = plotly_js()
        if p is None:
            return Response("// plotly is not installed (pip install 'adpharm[web]')", media_type="text/javascript",
                            status_code=404)
        return FileResponse(p, media_type="text/javascript", headers={"Cache-Control": "public, max-age=86400"})

    @r.get("/api/health", summary="Liveness and version")
    def health() -> dict:
        return {"status": "ok", "adpharm": __version__, "notice": RESEARCH_NOTICE}

    return r
