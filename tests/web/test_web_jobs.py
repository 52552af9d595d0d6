"""Jobs that survive: the SQLite job store, a server restart, two workers, interrupted jobs (issue 26)."""
import http.client
import json
import os
import socket
import subprocess
import sys
import time

import pytest

from adpharm.web.jobs import Cancelled, JobManager

pytest.importorskip("uvicorn")


def _counting(params):
    """A job body for the unit tests: counts to ``n``, reporting progress, sleeping ``dt`` each step."""
    def work(job):
        for i in range(params["n"]):
            time.sleep(params.get("dt", 0.0))
            job.progress(i + 1, params["n"])
        return {"counted": params["n"]}
    return work


def _wait(manager, job_id, states=("done", "failed", "cancelled", "interrupted"), timeout=30):
    end = time.time() + timeout
    while time.time() < end:
        d = manager.get(job_id).to_dict()
        if d["state"] in states:
            return d
        time.sleep(0.02)
    raise AssertionError(f"job {job_id} still {d['state']}")


def test_a_finished_job_is_kept_for_the_next_manager_on_the_same_store(tmp_path):
    m = JobManager(tmp_path)
    m.register("count", _counting)
    job = m.start("count", {"n": 5}).to_dict()
    done = _wait(m, job["id"])
    assert done["state"] == "done" and done["result"] == {"counted": 5} and done["fraction"] == 1.0
    again = JobManager(tmp_path)                     # a restarted server opens the same store
    assert again.get(job["id"]).to_dict()["result"] == {"counted": 5}
    with pytest.raises(KeyError):
        again.get("no-such-job")


def test_cancel_reaches_a_running_job_through_the_store(tmp_path):
    m = JobManager(tmp_path)
    m.register("count", _counting)
    job = m.start("count", {"n": 400, "dt": 0.01}).to_dict()
    time.sleep(0.2)
    other = JobManager(tmp_path)                    # another worker receives the cancel request
    other.cancel(job["id"])
    assert _wait(m, job["id"])["state"] == "cancelled"
    assert Cancelled.__doc__


def test_a_job_left_running_by_a_dead_process_is_interrupted_and_can_be_restarted(tmp_path):
    m = JobManager(tmp_path)
    m.register("count", _counting)
    job = m.start("count", {"n": 3}).to_dict()
    _wait(m, job["id"])
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    m.store.execute("UPDATE jobs SET state = 'running', pid = ?, result = NULL WHERE id = ?",
                    (int(dead.stdout), job["id"]))
    fresh = JobManager(tmp_path)
    fresh.register("count", _counting)
    view = fresh.get(job["id"]).to_dict()
    assert view["state"] == "interrupted" and view["restartable"] and "restart" in view["error"]
    fresh.restart(job["id"])
    assert _wait(fresh, job["id"])["result"] == {"counted": 3}
    from adpharm.errors import AdpharmInputError
    with pytest.raises(AdpharmInputError, match="only an interrupted job"):
        fresh.restart(job["id"])


# ---------------------------------------------------------------- the real server, restarted
def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _request(port, method, path, body=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    c.request(method, path, body=None if body is None else json.dumps(body),
              headers={"Content-Type": "application/json"})
    r = c.getresponse()
    return r.status, json.loads(r.read().decode() or "null")


def _serve(port, data_dir, workers=1):
    env = {k: v for k, v in os.environ.items() if k != "ADPHARM_DATA_DIR"}
    p = subprocess.Popen([sys.executable, "-m", "adpharm.cli.main", "serve", "--port", str(port), "--data-dir",
                          str(data_dir), "--workers", str(workers)], stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True, env=env)
    for _ in range(300):
        try:
            if _request(port, "GET", "/api/health")[0] == 200:
                return p
        except OSError:
            time.sleep(0.1)
    p.terminate()
    raise AssertionError(f"server did not start: {p.stderr.read()}")


def _stop(p):
    p.terminate()
    p.wait(timeout=20)


def _poll(port, job_id, timeout=120):
    end = time.time() + timeout
    while time.time() < end:
        status, d = _request(port, "GET", f"/api/jobs/{job_id}")
        assert status == 200, d
        if d["state"] not in ("queued", "running"):
            return d
        time.sleep(0.2)
    raise AssertionError("job did not finish")


@pytest.mark.slow
def test_a_server_restart_keeps_finished_jobs_and_interrupts_running_ones(tmp_path):
    port = _port()
    p = _serve(port, tmp_path)
    try:
        status, job = _request(port, "POST", "/api/jobs/power",
                               {"protocol": "ketamine-trd-iv", "n_per_arm": 10, "reps": 4, "seed": 3})
        assert status == 202, job
        finished = _poll(port, job["id"])
        assert finished["state"] == "done" and finished["result"]["reps"] == 4
        status, long = _request(port, "POST", "/api/jobs/power",
                                {"protocol": "imipramine-chronic", "n_per_arm": 20, "reps": 2000, "seed": 4})
        assert status == 202
        time.sleep(1.0)
    finally:
        _stop(p)                                           # the server goes away mid-job
    p = _serve(port, tmp_path)
    try:
        status, kept = _request(port, "GET", f"/api/jobs/{job['id']}")
        assert status == 200 and kept["state"] == "done" and kept["result"] == finished["result"]
        status, lost = _request(port, "GET", f"/api/jobs/{long['id']}")
        assert status == 200 and lost["state"] == "interrupted" and lost["restartable"]
        status, again = _request(port, "POST", f"/api/jobs/{long['id']}/restart")
        assert status == 202 and again["state"] in ("queued", "running")
        status, cancelled = _request(port, "DELETE", f"/api/jobs/{long['id']}")
        assert status == 200
        assert _poll(port, long["id"])["state"] == "cancelled"
        assert _request(port, "GET", "/api/jobs/nope")[0] == 404
    finally:
        _stop(p)


@pytest.mark.slow
def test_two_workers_see_the_same_jobs(tmp_path):
    port = _port()
    p = _serve(port, tmp_path, workers=2)
    try:
        status, job = _request(port, "POST", "/api/jobs/power",
                               {"protocol": "ketamine-trd-iv", "n_per_arm": 10, "reps": 4, "seed": 5})
        assert status == 202
        seen = {_request(port, "GET", f"/api/jobs/{job['id']}")[0] for _ in range(20)}   # either worker answers
        assert seen == {200}
        assert _poll(port, job["id"])["state"] == "done"
    finally:
        _stop(p)
