"""Web load: the cached compare guide and an API call under concurrent clients on loopback.

Starts ``adpharm serve`` (uvicorn, one process) on a free port, builds the ketamine-vs-imipramine
guide once (the cache), then runs N client threads with keep-alive connections for a bounded time,
alternating ``GET /compare/guide?a=ketamine&b=imipramine`` and ``GET /api/drugs/imipramine``.
The same guide file served by Python's ``http.server`` (a static file server, the named
alternative) is loaded the same way in the same run. Prints p50/p95 latency, throughput and
errors for both and the p95 ratio. Target: p95 under 200 ms for the cached pages, zero errors.

Second scenario (``--while-building``): light requests (``GET /api/drugs``) from N clients while six
different guides are being built, on a server whose heavy work runs in its worker pool
(``--pool-workers 1``) against the same server running it in the request threads (``--pool-workers 0``,
the named alternative, which is how the app worked before the pool). Target: p95 of ``/api/drugs``
under 1 s while guides are built.

    .venv/bin/python benchmarks/web_load.py [--clients 20] [--seconds 10]
    .venv/bin/python benchmarks/web_load.py --while-building [--clients 8] [--seconds 20]
"""
from __future__ import annotations

import argparse
import http.client
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

GUIDE = "/compare/guide?a=ketamine&b=imipramine"
API = "/api/drugs/imipramine"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_up(port: int, path: str, timeout_s: float = 120.0) -> None:
    t0 = time.time()
    while time.time() - t0 < timeout_s:
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout_s)
            c.request("GET", path)
            r = c.getresponse()
            r.read()
            if r.status == 200:
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"server on port {port} did not answer {path}")


def load(port: int, paths: list[str], clients: int, seconds: float) -> dict:
    lat, errors, lock = [], [0], threading.Lock()
    stop = time.time() + seconds

    def worker(k: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        i = k
        mine = []
        while time.time() < stop:
            path = paths[i % len(paths)]
            i += 1
            t0 = time.perf_counter()
            try:
                conn.request("GET", path)
                r = conn.getresponse()
                r.read()
                ok = r.status == 200
            except OSError:
                ok = False
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            mine.append(time.perf_counter() - t0)
            if not ok:
                with lock:
                    errors[0] += 1
        with lock:
            lat.extend(mine)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(clients)]
    t0 = time.time()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.time() - t0
    a = np.array(lat) * 1000
    return {"requests": len(a), "errors": errors[0], "p50_ms": float(np.percentile(a, 50)),
            "p95_ms": float(np.percentile(a, 95)), "per_s": len(a) / wall}


BUILDS = [("ketamine", "imipramine"), ("esketamine", "sertraline"), ("ketamine", "ssri"), ("esketamine", "tca"),
          ("citalopram", "phenelzine"), ("venlafaxine", "maoi")]


def while_building(pool_workers: int, clients: int, seconds: float) -> dict:
    """Latency of /api/drugs while the six guides of BUILDS are being built (first request of each)."""
    port = free_port()
    with tempfile.TemporaryDirectory() as data:
        srv = subprocess.Popen([sys.executable, "-m", "adpharm.cli.main", "serve", "--port", str(port), "--data-dir",
                                data, "--pool-workers", str(pool_workers)], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, env=dict(os.environ, PYTHONUNBUFFERED="1"))
        try:
            wait_up(port, "/api/health")
            wait_up(port, "/api/drugs")
            built = []

            def build(a: str, b: str) -> None:
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
                c.request("GET", f"/compare/guide?a={a}&b={b}&format=json")
                r = c.getresponse()
                r.read()
                built.append(r.status)
            builders = [threading.Thread(target=build, args=ab) for ab in BUILDS]
            for t in builders:
                t.start()
            time.sleep(0.5)                                   # the builds are under way
            light = load(port, ["/api/drugs"], clients, seconds)
            for t in builders:
                t.join()
            light["builds_ok"] = built.count(200)
        finally:
            srv.terminate()
            srv.wait(timeout=20)
    return light


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--while-building", action="store_true")
    a = ap.parse_args()
    if a.while_building:
        print(f"GET /api/drugs from {a.clients} clients for {a.seconds:g} s while {len(BUILDS)} guides are built")
        res = {n: while_building(n, a.clients, a.seconds) for n in (1, 0)}
        for n, r in res.items():
            name = "heavy work in the worker pool (1 process)" if n else "heavy work in the request threads"
            print(f"  {name:<44} {r['requests']:>5} requests  p50 {r['p50_ms']:7.1f} ms  p95 {r['p95_ms']:7.1f} ms  "
                  f"errors {r['errors']}  guides built {r['builds_ok']}/{len(BUILDS)}")
        print(f"p95 ratio request threads / pool: {res[0]['p95_ms'] / res[1]['p95_ms']:.1f}")
        verdict = "met" if res[1]["p95_ms"] < 1000 and res[1]["errors"] == 0 else "NOT met"
        print(f"target (p95 of /api/drugs < 1 s while guides are built, zero errors): {verdict}")
        return
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    port = free_port()
    srv = subprocess.Popen([sys.executable, "-m", "adpharm.cli.main", "serve", "--port", str(port)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    with tempfile.TemporaryDirectory() as tmp:
        static = None
        try:
            wait_up(port, "/api/health")
            t0 = time.time()
            wait_up(port, GUIDE)                              # builds and caches the guide
            build_s = time.time() - t0
            c = http.client.HTTPConnection("127.0.0.1", port)
            c.request("GET", GUIDE)
            Path(tmp, "guide.html").write_bytes(c.getresponse().read())
            sport = free_port()
            static = subprocess.Popen([sys.executable, "-m", "http.server", str(sport), "--bind", "127.0.0.1",
                                       "--directory", tmp], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            wait_up(sport, "/guide.html")
            ours = load(port, [GUIDE, API], a.clients, a.seconds)
            base = load(sport, ["/guide.html"], a.clients, a.seconds)
        finally:
            srv.terminate()
            srv.wait(timeout=10)
            if static is not None:
                static.terminate()
                static.wait(timeout=10)
    print(f"first build of the guide (not cached): {build_s:.1f} s")
    print(f"{a.clients} clients, {a.seconds:g} s each, loopback, one server process")
    for name, r in (("adpharm serve (guide + API)", ours), ("python -m http.server (static guide)", base)):
        print(f"  {name:<38} {r['requests']:>6} requests  {r['per_s']:7.1f}/s  p50 {r['p50_ms']:6.1f} ms  "
              f"p95 {r['p95_ms']:6.1f} ms  errors {r['errors']}")
    print(f"p95 ratio adpharm / static file server: {ours['p95_ms'] / base['p95_ms']:.2f}")
    verdict = "met" if ours["p95_ms"] < 200 and ours["errors"] == 0 else "NOT met"
    print(f"target (p95 < 200 ms, zero errors): {verdict}")


if __name__ == "__main__":
    main()
