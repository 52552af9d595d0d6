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


def _descendants(pid: int) -> set[int]:
    """Every live process below ``pid`` (children, grandchildren...), from /proc."""
    kids: dict[int, list[int]] = {}
    for d in __import__("pathlib").Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                ppid = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            kids.setdefault(ppid, []).append(int(d.name))
    out, todo = set(), [pid]
    while todo:
        for c in kids.get(todo.pop(), []):
            out.add(c)
            todo.append(c)
    return out


def _alive(pid: int) -> bool:
    import os
    try:
        state = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z" and os.path.exists(f"/proc/{pid}")


@pytest.mark.skipif(not __import__("os").path.isdir("/proc/self"), reason="needs Linux /proc to list child processes")
@pytest.mark.parametrize("sig", ["SIGTERM", "SIGINT"])
def test_stopping_serve_by_its_pid_leaves_no_worker_behind(tmp_path, sig):
    """Issue 40: stopping `adpharm serve` by its PID left three forkserver/resource-tracker children of the
    worker pool running. An upload analysis starts the pool; after the signal no descendant is alive."""
    import signal
    from conftest import data
    spt = data("behaviopy_sucrosepreference")
    port = _port()
    p = subprocess.Popen([sys.executable, "-m", "adpharm.cli.main", "serve", "--port", str(port), "--data-dir",
                          str(tmp_path), "--pool-workers", "1"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        status = None
        for _ in range(300):
            try:
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                boundary = "adpharmboundary"
                body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"spt.csv\"\r\n"
                        f"Content-Type: text/csv\r\n\r\n").encode() + spt.read_bytes() + f"\r\n--{boundary}--\r\n".encode()
                c.request("POST", "/api/assays/spt", body, {"Content-Type": f"multipart/form-data; boundary={boundary}"})
                status = c.getresponse().status
                break
            except OSError:
                time.sleep(0.1)
        assert status == 200
        below = _descendants(p.pid)
        assert below, "the upload analysis should have started the worker pool"
        p.send_signal(getattr(signal, sig))
        p.wait(timeout=30)
        deadline = time.time() + 10
        while time.time() < deadline and any(_alive(c) for c in below):
            time.sleep(0.2)
        assert not [c for c in below if _alive(c)]
        err = p.stderr.read()
        assert "Traceback" not in err and "leaked" not in err, err
    finally:
        if p.poll() is None:
            p.kill()
