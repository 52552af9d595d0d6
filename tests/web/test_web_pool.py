"""The web app's worker pool: heavy work runs in another process, errors come back as they were (issue 26)."""
import os

import pytest

from adpharm.errors import AdpharmInputError, UnknownNameError
from adpharm.web.pool import HeavyPool

pytest.importorskip("fastapi")


def _fail_with(exc):
    raise exc


def test_heavy_work_runs_in_another_process_and_errors_cross_back():
    pool = HeavyPool(1)
    try:
        assert pool.run(os.getpid) != os.getpid()
        with pytest.raises(UnknownNameError) as err:
            pool.run(_fail_with, UnknownNameError("ketamin3", ["ketamine"]))
        assert err.value.suggestions == ["ketamine"] and "did you mean 'ketamine'" in str(err.value)
        with pytest.raises(AdpharmInputError, match="file.csv: bad"):
            pool.run(_fail_with, AdpharmInputError("file.csv: bad"))
    finally:
        pool.shutdown()
    assert HeavyPool(0).run(os.getpid) == os.getpid()        # no pool: inline
    with pytest.raises(AdpharmInputError, match="pool workers"):
        HeavyPool(99)


@pytest.mark.slow
def test_the_app_with_a_pool_answers_like_the_app_without(tmp_path):
    from fastapi.testclient import TestClient

    from adpharm.web.app import create_app
    with TestClient(create_app(data_dir=tmp_path, pool_workers=1), raise_server_exceptions=False) as c:
        r = c.get("/api/compare?a=ketamine&b=ketamin3")
        assert r.status_code == 404 and "ketamine" in r.json()["error"]
        r = c.post("/api/mechanism", json={"drug": "ketamine", "regimen": "0.5 mg/kg iv over 40 min", "days": 2,
                                           "n": 20, "seed": 1})
        assert r.status_code == 200 and r.json()["madrs"]
