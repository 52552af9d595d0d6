"""The FastAPI application: HTML pages (Jinja2) and the JSON API under /api/.

Safety: the CLI binds to 127.0.0.1 unless told otherwise; request bodies are capped; uploads are
type- and size-checked and stored under fresh names in a temporary folder (:mod:`.uploads`);
every form and API field is validated; no traceback ever reaches a client (errors are one line);
every page says "research use only".
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Literal, Optional

import pandas as pd
from fastapi import APIRouter, FastAPI, File, Form, Query, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from .. import RESEARCH_NOTICE, __version__
from ..errors import AdpharmInputError, UnknownNameError
from ..evidence.effect_sizes import MEASURES, Measure
from ..evidence.meta import METHODS, Method
from ..pharmacology.tdm_measured import Unit
from ..report.comparison import compare
from . import services, uploads
from .jobs import JobManager
from .pool import HeavyPool

HERE = Path(__file__).parent
MEDIA = {"html": "text/html; charset=utf-8", "md": "text/markdown; charset=utf-8", "pdf": "application/pdf",
         "json": "application/json"}

Name = Field(min_length=1, max_length=80, pattern=r"^[A-Za-z0-9 ._+()/-]+$")


class SimulateIn(BaseModel):
    drug: str = Name
    regimen: str = Field(min_length=1, max_length=200)
    days: float = Field(28, gt=0, le=services.LIMITS["days"])
    n: int = Field(50, ge=1, le=services.LIMITS["n"])
    seed: int = Field(1, ge=0, le=2**32 - 1)
    weight_kg: float = Field(70, ge=20, le=250)


class PKIn(BaseModel):
    drug: str = Name
    regimen: str = Field(min_length=1, max_length=200)
    hours: Optional[float] = Field(None, gt=0, le=24 * services.LIMITS["days"])
    n: int = Field(1, ge=1, le=services.LIMITS["n"])
    seed: int = Field(1, ge=0, le=2**32 - 1)
    weight_kg: float = Field(70, ge=20, le=250)


class TDMIn(BaseModel):
    drug: str = Name
    regimen: str = Field(min_length=1, max_length=200)
    measured_ng_per_ml: Optional[float] = Field(None, ge=0, le=1e6)
    #: a number (the monitored quantity) or each analyte, "imipramine=120,desipramine=95"
    measured: Optional[str] = Field(None, min_length=1, max_length=200)
    unit: Unit = "ng/mL"
    sample_h: Optional[float] = Field(None, ge=0, le=24 * 7)
    since_start_h: Optional[float] = Field(None, gt=0, le=24 * 365)
    phenotype: Literal["PM", "IM", "NM", "UM", "mixed"] = "NM"
    cyp2d6_inhibitor: Literal["none", "moderate", "strong"] = "none"
    age_y: float = Field(40, ge=0, le=120)
    weight_kg: float = Field(70, ge=20, le=250)
    n: int = Field(1000, ge=1, le=5000)
    seed: int = Field(2026, ge=0, le=2**32 - 1)


class MechanismIn(PKIn):
    days: float = Field(28, gt=0, le=services.LIMITS["days"])


class TrialIn(BaseModel):
    protocol: str = Name
    n_per_arm: int = Field(40, ge=2, le=services.LIMITS["n_per_arm"])
    seed: int = Field(1, ge=0, le=2**32 - 1)


class PowerIn(TrialIn):
    reps: int = Field(100, ge=2, le=services.LIMITS["reps"])


class MetaIn(BaseModel):
    data: list[dict[str, str | float | int | None]] = Field(min_length=1, max_length=500)
    measure: Measure
    method: Method = "REML"
    knha: bool = False


def _pdf_available() -> bool:
    try:
        import weasyprint  # noqa: F401
    except Exception:  # noqa: BLE001 - missing system libraries also count as unavailable
        return False
    return True


def _plotly_js() -> Path | None:
    try:
        import plotly
    except ImportError:
        return None
    p = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    return p if p.is_file() else None


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

    def _error(request: Request, status: int, message: str):
        message = " ".join(str(message).split())
        if request.url.path.startswith("/api/") or "text/html" not in request.headers.get("accept", ""):
            return JSONResponse({"error": message, "status": status}, status_code=status)
        form = FORM_PAGES.get(request.url.path) if request.method == "POST" else None
        if form is not None:   # a form's error is shown above the form, which stays on the page
            return templates.TemplateResponse(request, form[0], {"nav": form[1], "form_error": message},
                                              status_code=status)
        return templates.TemplateResponse(request, "error.html", {"message": message, "status": status},
                                          status_code=status)

    @app.exception_handler(AdpharmInputError)
    async def bad_input(request: Request, exc: AdpharmInputError):
        status = 404 if isinstance(exc, UnknownNameError) else 413 if isinstance(exc, uploads.UploadTooLarge) else 400
        return _error(request, status, str(exc))

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

    async def _read(upload: UploadFile | None, kind: str, field: str, required: bool = True):
        if upload is None or not upload.filename:
            if required:
                raise AdpharmInputError(f"{field}: choose a file to upload")
            return None
        data = await upload.read(limit + 1)
        return (upload.filename, data, kind)

    def _on_uploads(ups: list, fn):
        """Store the uploads, run ``fn(paths)``; error messages name the user's files, not ours."""
        names = [u[0] for u in ups]
        with uploads.stored(ups, limit) as paths:
            try:
                return uploads.relabel_result(fn(paths), paths, names)
            except AdpharmInputError as exc:
                raise AdpharmInputError(uploads.relabel(str(exc), paths, names)) from None

    # ------------------------------------------------------------------ pages
    def page(request: Request, name: str, **ctx):
        return templates.TemplateResponse(request, name, ctx)

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def home(request: Request):
        return page(request, "home.html", nav="home")

    @app.get("/drugs", response_class=HTMLResponse, include_in_schema=False)
    def drugs_page(request: Request, q: str = Query("", max_length=80), drug_class: str = Query("", alias="class", max_length=20)):
        rows = services.drugs(drug_class or None, q or None)
        return page(request, "drugs.html", nav="drugs", rows=rows, q=q, drug_class=drug_class)

    @app.get("/drugs/{name}", response_class=HTMLResponse, include_in_schema=False)
    def drug_page(request: Request, name: str):
        ctx = services.drug_profile(name)
        return page(request, "drug.html", nav="drugs", **ctx, **services.drug_page_helpers(ctx["references"]))

    @app.get("/compare", response_class=HTMLResponse, include_in_schema=False)
    def compare_page(request: Request, a: str = Query("", max_length=40), b: str = Query("", max_length=40)):
        ctx = {"nav": "compare", "a": a, "b": b, "sides": services.side_names(), "pdf": _pdf_available()}
        if a and b:
            c = cache.comparison(a, b)
            ctx["title"] = f"{c.a['name']} vs {c.b['name']}"
        return page(request, "compare.html", **ctx)

    @app.get("/compare/guide", include_in_schema=False)
    def compare_guide(a: str = Query(..., max_length=40), b: str = Query(..., max_length=40),
                      format: Literal["html", "md", "pdf", "json"] = "html", download: bool = False):
        body = cache.rendered(a, b, format)
        headers = {}
        if download:
            headers["Content-Disposition"] = f'attachment; filename="{_slug(a)}-vs-{_slug(b)}.{format}"'
        return Response(body, media_type=MEDIA[format], headers=headers)

    @app.get("/simulate", response_class=HTMLResponse, include_in_schema=False)
    def simulate_page(request: Request):
        return page(request, "simulate.html", nav="simulate", drugs=services.drugs(), plotly=_plotly_js() is not None,
                    limits=services.LIMITS, tdm_drugs=services.tdm_drugs())

    @app.get("/trials", response_class=HTMLResponse, include_in_schema=False)
    def trials_page(request: Request):
        return page(request, "trials.html", nav="trials", protocols=services.protocols(), plotly=_plotly_js() is not None,
                    limits=services.LIMITS)

    def evidence(request: Request, **ctx):
        return page(request, "evidence.html", nav="evidence", treatments=services.bundled_treatments(),
                    measures=MEASURES, methods=METHODS, **ctx)

    @app.get("/evidence", response_class=HTMLResponse, include_in_schema=False)
    def evidence_page(request: Request):
        return evidence(request)

    @app.post("/evidence", response_class=HTMLResponse, include_in_schema=False)
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
            from ..io import read_table
            up = await _read(file, "table", "file")
            res = _on_uploads([up], lambda p: pool.run(services.meta, read_table(p[0]), measure, method, knha,
                                                                   uploads.safe_label(up[0])))
            label = f"uploaded {uploads.safe_label(up[0])}"
        return evidence(request, res=res, label=label)

    @app.get("/assays", response_class=HTMLResponse, include_in_schema=False)
    def assays_page(request: Request):
        return page(request, "assays.html", nav="assays")

    @app.post("/assays", response_class=HTMLResponse, include_in_schema=False)
    async def assays_run(request: Request, kind: Literal["fst", "spt", "western", "ltp"] = Form(...),
                         control: str = Form("", max_length=40), lanes: str = Form("", max_length=3),
                         crop: str = Form("", max_length=40),
                         file: Optional[UploadFile] = File(None), post: Optional[UploadFile] = File(None)):
        res = await _assay(kind, control, lanes, file, post, crop)
        return page(request, "assays.html", nav="assays", res=res)

    @app.get("/transcriptomics", response_class=HTMLResponse, include_in_schema=False)
    def tx_page(request: Request):
        return page(request, "transcriptomics.html", nav="transcriptomics")

    @app.post("/transcriptomics", response_class=HTMLResponse, include_in_schema=False)
    async def tx_run(request: Request, disease: UploadFile = File(...), drug: UploadFile = File(...),
                     disease_contrast: str = Form("", max_length=120), drug_contrast: str = Form("", max_length=120)):
        res = await _signatures(disease, drug, disease_contrast, drug_contrast)
        return page(request, "transcriptomics.html", nav="transcriptomics", res=res)

    async def _assay(kind, control, lanes, file, post, crop=""):
        if lanes and not (lanes.isdigit() and 1 <= int(lanes) <= 48):
            raise AdpharmInputError(f"lanes: {lanes!r} must be a whole number from 1 to 48")
        if crop.strip():
            from ..assays.western import parse_box
            parse_box(crop, "crop")          # a bad box is the form's error before any upload is stored
        if kind == "ltp":
            ups = [await _read(file, "abf", "baseline recording"), await _read(post, "abf", "post-induction recording")]
            return _on_uploads(ups, lambda p: pool.run(services.ltp_pair, *p))
        up = await _read(file, "image" if kind == "western" else "table", "file")
        return _on_uploads([up], lambda p: pool.run(services.assay, kind, p[0], {"control": control, "lanes": lanes,
                                                                               "crop": crop}))

    async def _signatures(disease, drug, dc, gc):
        ups = [await _read(disease, "table", "disease"), await _read(drug, "table", "drug")]
        return _on_uploads(ups, lambda p: pool.run(services.signatures, p[0], p[1], dc, gc))

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon():
        return FileResponse(HERE / "static" / "favicon.svg", media_type="image/svg+xml")

    @app.get("/vendor/plotly.min.js", include_in_schema=False)
    def plotly_js():
        p = _plotly_js()
        if p is None:
            return Response("// plotly is not installed (pip install 'adpharm[web]')", media_type="text/javascript",
                            status_code=404)
        return FileResponse(p, media_type="text/javascript", headers={"Cache-Control": "public, max-age=86400"})

    # ------------------------------------------------------------------ API
    api = APIRouter(prefix="/api")

    @api.get("/health", summary="Liveness and version")
    def health() -> dict:
        return {"status": "ok", "adpharm": __version__, "notice": RESEARCH_NOTICE}

    @api.get("/drugs", summary="Drugs with class and primary mechanism")
    def api_drugs(drug_class: Optional[str] = Query(None, alias="class", max_length=20),
                  q: Optional[str] = Query(None, max_length=80)) -> list[dict]:
        return services.drugs(drug_class, q)

    @api.get("/drugs/{name}", summary="The cited profile of one drug")
    def api_drug(name: str) -> dict:
        return services.drug_profile(name)

    @api.get("/compare", summary="The comparison guide of two drugs or classes (JSON)")
    def api_compare(a: str = Query(..., min_length=1, max_length=40), b: str = Query(..., min_length=1, max_length=40)) -> Response:
        return Response(cache.rendered(a, b, "json"), media_type="application/json")

    @api.post("/simulate", summary="Concentrations, occupancy and MADRS course of a regimen")
    def api_simulate(body: SimulateIn) -> dict:
        return pool.run(services.simulate, body.drug, body.regimen, body.days, body.n, body.seed, body.weight_kg)

    @api.post("/pk", summary="Concentrations (NCA) and receptor occupancy of a regimen, as `adpharm pk occupancy`")
    def api_pk(body: PKIn) -> dict:
        return pool.run(services.pk, body.drug, body.regimen, body.hours, body.n, body.seed, body.weight_kg)

    @api.post("/pk/tdm", summary="Expected steady-state level, consensus range and a measured level's place, "
                                  "as `adpharm pk tdm` (research use only)")
    def api_tdm(body: TDMIn) -> dict:
        measured = body.measured if body.measured is not None else body.measured_ng_per_ml
        return pool.run(services.tdm, body.drug, body.regimen, measured, body.sample_h, body.phenotype,
                        body.cyp2d6_inhibitor, body.age_y, body.weight_kg, body.n, body.seed, body.unit,
                        body.since_start_h)

    @api.post("/mechanism", summary="Cascade states and the MADRS course, as `adpharm mechanism simulate`")
    def api_mechanism(body: MechanismIn) -> dict:
        return pool.run(services.mechanism, body.drug, body.regimen, body.days, body.n, body.seed, body.weight_kg)

    @api.get("/protocols", summary="Bundled trial protocols")
    def api_protocols() -> list[dict]:
        return services.protocols()

    @api.post("/trials/simulate", summary="Simulate one virtual trial")
    def api_trial(body: TrialIn) -> dict:
        return pool.run(services.trial, body.protocol, body.n_per_arm, body.seed)

    @api.post("/jobs/power", status_code=202, summary="Start power by simulation (a background job)")
    def api_power(body: PowerIn) -> dict:
        return jobs.start("power", body.model_dump()).to_dict()

    def _job(action, job_id: str) -> dict:
        try:
            return action(job_id).to_dict()
        except KeyError:
            raise StarletteHTTPException(404, f"job {job_id[:40]!r} not found") from None

    @api.get("/jobs/{job_id}", summary="A job's state, progress and result")
    def api_job(job_id: str) -> dict:
        return _job(jobs.get, job_id)

    @api.delete("/jobs/{job_id}", summary="Cancel a job")
    def api_cancel(job_id: str) -> dict:
        return _job(jobs.cancel, job_id)

    @api.post("/jobs/{job_id}/restart", status_code=202, summary="Run an interrupted job again (same parameters)")
    def api_restart(job_id: str) -> dict:
        return _job(jobs.restart, job_id)

    @api.post("/meta", summary="Pairwise meta-analysis of rows with metafor's column names")
    def api_meta(body: MetaIn) -> dict:
        return pool.run(services.meta, pd.DataFrame(body.data), body.measure, body.method, body.knha, "request data")

    @api.get("/meta/bundled", summary="Meta-analysis of two treatments in the bundled Linde 2015 network")
    def api_meta_bundled(a: str = Query(..., max_length=40), b: str = Query(..., max_length=40),
                         outcome: Literal["responders", "remitters"] = "responders",
                         method: Method = "REML") -> dict:
        return services.bundled_meta(a, b, outcome, method)

    @api.get("/meta/network", summary="Network meta-analysis of the bundled Linde 2015 network")
    def api_network(outcome: Literal["responders", "remitters"] = "responders",
                    reference: Optional[str] = Query(None, max_length=40)) -> dict:
        return services.network_linde(outcome, reference)

    @api.get("/meta/indirect", summary="Adjusted indirect comparison (Bucher) of A and B via C, bundled trials")
    def api_indirect(a: str = Query(..., max_length=40), b: str = Query(..., max_length=40),
                     via: str = Query("placebo", max_length=40),
                     outcome: Literal["responders", "remitters"] = "responders",
                     measure: Literal["OR", "RR", "RD"] = "OR",
                     method: Method = "REML") -> dict:
        return services.indirect(a, b, via, outcome, measure, method)

    @api.post("/assays/{kind}", summary="Analyse an uploaded lab file (fst, spt, western; ltp takes file and post)")
    async def api_assay(kind: Literal["fst", "spt", "western", "ltp"], file: UploadFile = File(...),
                        post: Optional[UploadFile] = File(None), control: str = Form("", max_length=40),
                        lanes: str = Form("", max_length=3), crop: str = Form("", max_length=40)) -> dict:
        return await _assay(kind, control, lanes, file, post, crop)

    @api.post("/transcriptomics/signatures", summary="RRHO2 and reversal of two uploaded DE tables")
    async def api_signatures(disease: UploadFile = File(...), drug: UploadFile = File(...),
                             disease_contrast: str = Form("", max_length=120), drug_contrast: str = Form("", max_length=120)) -> dict:
        return await _signatures(disease, drug, disease_contrast, drug_contrast)

    app.include_router(api)
    return app


def app_from_env() -> FastAPI:
    """The app configured from the environment (``ADPHARM_DATA_DIR``, ``ADPHARM_MAX_UPLOAD_BYTES``,
    ``ADPHARM_POOL_WORKERS``): the
    factory each worker process calls under ``adpharm serve --workers N``."""
    return create_app(int(os.environ.get("ADPHARM_MAX_UPLOAD_BYTES", uploads.MAX_UPLOAD_BYTES)),
                      os.environ.get("ADPHARM_DATA_DIR") or None, int(os.environ.get("ADPHARM_POOL_WORKERS", "0")))


def _slug(s: str) -> str:
    import re
    return re.sub(r"[^a-z0-9]+", "-", s.lower()).strip("-")[:40] or "side"
