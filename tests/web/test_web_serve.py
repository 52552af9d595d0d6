"""`adpharm serve`: binds to 127.0.0.1 by default, serves the pages, rejects bad options with exit 2."""
import http.client
import socket
import subprocess
import sys
import time

import pytest
from conftest import run_cli

pytest.importorskip("uvicorn")


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_binds_loopback_and_answers():
    port = _port()
    p = subprocess.Popen([sys.executable, "-m", "adpharm.cli.main", "serve", "--port", str(port)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        body = None
        for _ in range(150):
            try:
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                c.request("GET", "/api/health")
                body = c.getresponse().read().decode()
                break
            except OSError:
                time.sleep(0.1)
        assert body and '"status":"ok"' in body.replace(" ", "")
        out = subprocess.run(["ss", "-ltn"], capture_output=True, text=True).stdout if _has("ss") else ""
        if out:
            line = [l for l in out.splitlines() if f":{port} " in l]
            assert line and "127.0.0.1" in line[0]
    finally:
        p.terminate()
        p.wait(timeout=10)


def _has(cmd: str) -> bool:
    import shutil
    return shutil.which(cmd) is not None


@pytest.mark.parametrize("args, words", [
    (["--port", "70000"], "--port: 70000 must be from 1 to 65535"),
    (["--max-upload-mb", "0"], "--max-upload-mb: 0 must be above 0"),
    (["--workers", "0"], "--workers: 0 must be from 1 to 16"),
    (["--data-dir", "/proc/version"], "--data-dir: /proc/version/jobs.sqlite3: cannot open the job store"),
])
def test_serve_bad_options(args, words):
    r = run_cli("serve", *args)
    assert r.returncode == 2 and words in r.stderr
