"""`adpharm serve`: the web app on this machine (127.0.0.1 unless told otherwise)."""
from __future__ import annotations

import importlib.util
import ipaddress
import os
from pathlib import Path
from typing import Optional

import typer

from .. import RESEARCH_NOTICE
from .common import fail


def serve(host: str = typer.Option("127.0.0.1", "--host", help="Address to bind; 127.0.0.1 keeps it on this machine."),
          port: int = typer.Option(8000, "--port", help="TCP port."),
          max_upload_mb: float = typer.Option(25.0, "--max-upload-mb", help="Largest accepted upload per file (MB)."),
          data_dir: Optional[Path] = typer.Option(None, "--data-dir", help="Where the job store lives (default: "
                                                  "$ADPHARM_DATA_DIR, else ~/.local/share/adpharm)."),
          workers: int = typer.Option(1, "--workers", help="Worker processes (1-16); every worker sees every job."),
          pool_workers: int = typer.Option(1, "--pool-workers", help="Processes per worker for guide builds, "
                                           "simulations and upload analyses (0-16; 0 runs them in the request "
                                           "thread).")) -> None:
    """Serve the web app: drugs, compare, simulate, trials, evidence, assays and the JSON API."""
    if not 1 <= port <= 65535:
        fail(f"--port: {port} must be from 1 to 65535")
    if not 0 < max_upload_mb <= 1024:
        fail(f"--max-upload-mb: {max_upload_mb:g} must be above 0 and at most 1024")
    if not 1 <= workers <= 16:
        fail(f"--workers: {workers} must be from 1 to 16")
    if not 0 <= pool_workers <= 16:
        fail(f"--pool-workers: {pool_workers} must be from 0 to 16")
    if any(importlib.util.find_spec(m) is None for m in ("uvicorn", "fastapi")):
        fail("the web app needs the web extra: pip install 'adpharm[web]'")
    import uvicorn
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    if not loopback:
        typer.echo(f"adpharm: warning: binding to {host} makes the app reachable from other machines; "
                   "it has no authentication", err=True)
    typer.echo(f"adpharm web app on http://{host}:{port}/  ({RESEARCH_NOTICE.split(':')[0]})")
    from ..errors import AdpharmInputError
    from ..web.jobs import JobStore, default_data_dir
    data = Path(data_dir) if data_dir is not None else default_data_dir()
    try:
        JobStore(data / "jobs.sqlite3")          # fail early, one line, if the data directory is unusable
    except AdpharmInputError as exc:
        fail(f"--data-dir: {exc}")
    # every worker process (one or several) builds its app from these, through app_from_env
    os.environ["ADPHARM_DATA_DIR"] = str(data)
    os.environ["ADPHARM_MAX_UPLOAD_BYTES"] = str(int(max_upload_mb * 1024 * 1024))
    os.environ["ADPHARM_POOL_WORKERS"] = str(pool_workers)
    try:
        uvicorn.run("adpharm.web.app:app_from_env", factory=True, workers=workers, host=host, port=port,
                    log_level="warning")
    except OSError as exc:
        fail(f"--port {port}: cannot listen on {host} ({exc.strerror})")
