"""What every router of the web app shares: its templates, guide cache, job store, worker pool and upload
limit, and the upload plumbing (store, run, name the user's files in errors)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from fastapi import Request, UploadFile
from fastapi.templating import Jinja2Templates

from ..errors import AdpharmInputError
from . import services, uploads
from .jobs import JobManager
from .pool import HeavyPool

HERE = Path(__file__).parent


def plotly_js() -> Path | None:
    """The plotly.js file of the installed plotly package, or None."""
    try:
        import plotly
    except ImportError:
        return None
    p = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    return p if p.is_file() else None


def pdf_available() -> bool:
    """Whether the guide can be rendered as PDF here (WeasyPrint and its system libraries)."""
    try:
        import weasyprint  # noqa: F401
    except Exception:  # noqa: BLE001 - missing system libraries also count as unavailable
        return False
    return True


@dataclass
class WebContext:
    """The state of one app instance, handed to each router (:func:`adpharm.web.app.create_app`)."""

    templates: Jinja2Templates
    cache: services.GuideCache
    jobs: JobManager
    pool: HeavyPool
    limit: int

    def page(self, request: Request, name: str, **ctx: Any):
        """Render the template ``name`` with ``ctx``."""
        return self.templates.TemplateResponse(request, name, ctx)

    async def read(self, upload: UploadFile | None, kind: str, field: str, required: bool = True):
        """An upload as ``(filename, bytes, kind)``; a missing one is an error naming ``field``."""
        if upload is None or not upload.filename:
            if required:
                raise AdpharmInputError("choose a file to upload", field=field)
            return None
        data = await upload.read(self.limit + 1)
        return (upload.filename, data, kind)

    def on_uploads(self, ups: list, fn: Callable):
        """Store the uploads, run ``fn(paths)``; error messages name the user's files, not ours."""
        names = [u[0] for u in ups]
        with uploads.stored(ups, self.limit) as paths:
            try:
                return uploads.relabel_result(fn(paths), paths, names)
            except AdpharmInputError as exc:
                raise AdpharmInputError(uploads.relabel(exc.detail, paths, names), field=exc.field) from None
