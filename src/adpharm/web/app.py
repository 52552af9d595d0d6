"""The FastAPI application: HTML pages (Jinja2) and the JSON API under /api/.

The app is its safety nets (this module) and one router per area (:mod:`adpharm.web.routers`: drugs,
compare, simulate, trials, jobs, evidence, assays, transcriptomics), each thin over
:mod:`adpharm.web.services`.

Safety: the CLI binds to 127.0.0.1 unless told otherwise; request bodies are capped; uploads are
type- and size-checked and stored under fresh names in a temporary folder (:mod:`.uploads`);
every form and API field is validated; no traceback ever reaches a client (errors are one line,
with the ``field`` at fault in the JSON); every page says "research use only".
"""
from __future__ import annotations

import os

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException

from .. import RESEARCH_NOTICE, __version__
from ..errors import AdpharmInputError, UnknownNameError
from ..report.comparison import compare
from . import services, uploads
from .context import HERE, WebContext
from .jobs import JobManager
from .pool import HeavyPool
from .routers import AREAS

__all__ = ["create_app", "app_from_env"]

#: form pages that show their own errors (path -> template, navigation key)
FORM_PAGES = {"/assays": ("assays.html", "assays"), "/transcriptomics": ("transcriptomics.html", "transcriptomics")}


def create_app(max_upload_bytes: int = uploads.MAX_UPLOAD_BYTES, data_dir: str | os.PathLike | None = None,
               pool_workers: int = 0) -> FastAPI:
    """Build the app. One instance holds its guide cache; background jobs live in the SQLite job store
    under ``data_dir`` (default :func:`~adpharm.web.jobs.default_data_dir`), shared by every worker.
    Guide builds, simulations and upload analyses run in a pool of ``pool_workers`` processes
    (:class:`~adpharm.web.pool.HeavyPool`; 0 runs them in the request thread)."""
    app = FastAPI(title="adpharm", version=__version__, docs_url="/api/docs", redoc_url=None,
                  openapi_url="/api/openapi.json",
                  description=f"The adpharm JSON API: the same functions as the command line. {RESEARCH_NOTICE}")
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    templates.env.globals.update(notice=RESEARCH_NOTICE, version=__version__)
    pool = HeavyPool(pool_workers)
    cache = services.GuideCache(build=lambda a, b: pool.run(compare, a, b))
    app.router.on_shutdown.append(pool.shutdown)
    jobs = JobManager(data_dir)
    jobs.register("power", lambda p: services.power_job(p["protocol"], p["n_per_arm"], p["reps"], p["seed"]))
    app.state.cache, app.state.jobs, app.state.pool = cache, jobs, pool
    limit = int(max_upload_bytes)
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")

    # ------------------------------------------------------------------ safety nets
    @app.middleware("http")
    async def cap_body(request: Request, call_next):
        size = request.headers.get("content-length")
        if size is not None and (not size.isdigit() or int(size) > limit * 2 + 65536):
            return _error(request, 413, f"request body over the {limit / 1e6:.3g} MB upload limit")
        response = await call_next(request)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        return response

    def _error(request: Request, status: int, message: str, field: str | None = None):
        message = " ".join(str(message).split())
        if request.url.path.startswith("/api/") or "text/html" not in request.headers.get("accept", ""):
            body = {"error": message, "status": status} if field is None else \
                {"error": message, "field": field, "status": status}
            return JSONResponse(body, status_code=status)
        form = FORM_PAGES.get(request.url.path) if request.method == "POST" else None
        if form is not None:   # a form's error is shown above the form, which stays on the page
            return templates.TemplateResponse(request, form[0], {"nav": form[1], "form_error": message},
                                              status_code=status)
        return templates.TemplateResponse(request, "error.html", {"message": message, "status": status},
                                          status_code=status)

    @app.exception_handler(AdpharmInputError)
    async def bad_input(request: Request, exc: AdpharmInputError):
        status = 404 if isinstance(exc, UnknownNameError) else 413 if isinstance(exc, uploads.UploadTooLarge) else 400
        return _error(request, status, str(exc), exc.field)

    @app.exception_handler(RequestValidationError)
    async def bad_fields(request: Request, exc: RequestValidationError):
        parts = []
        for e in exc.errors()[:3]:
            loc = ".".join(str(x) for x in e.get("loc", ()) if x not in ("body", "query", "path"))
            parts.append(f"{loc or 'request'}: {e.get('msg', 'invalid')}")
        return _error(request, 422, "; ".join(parts))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        return _error(request, exc.status_code, exc.detail if isinstance(exc.detail, str) else "error")

    @app.exception_handler(Exception)
    async def internal(request: Request, exc: Exception):  # pragma: no cover - only on bugs
        return _error(request, 500, "internal error: the request could not be completed (no details are shown)")

    ctx = WebContext(templates=templates, cache=cache, jobs=jobs, pool=pool, limit=limit)
    for area in AREAS:
        app.include_router(area.router(ctx))
    return app


def app_from_env() -> FastAPI:
    """The app configured from the environment (``ADPHARM_DATA_DIR``, ``ADPHARM_MAX_UPLOAD_BYTES``,
    ``ADPHARM_POOL_WORKERS``): the
    factory each worker process calls under ``adpharm serve --workers N``."""
    return create_app(int(os.environ.get("ADPHARM_MAX_UPLOAD_BYTES", uploads.MAX_UPLOAD_BYTES)),
                      os.environ.get("ADPHARM_DATA_DIR") or None, int(os.environ.get("ADPHARM_POOL_WORKERS", "0")))

