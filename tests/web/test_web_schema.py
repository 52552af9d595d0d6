"""Property-based run of the API against its own OpenAPI schema (Schemathesis): no 500, ever.

Every operation is called with generated valid and invalid inputs; a response must never be a
server error, and must conform to the schema's status codes and content types as Schemathesis
checks them. Jobs started along the way are cancelled at the end.
"""
import pytest

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, settings  # noqa: E402
from webclient import client  # noqa: E402

APP = client().app
schema = schemathesis.openapi.from_asgi("/api/openapi.json", APP)


@pytest.fixture(scope="module", autouse=True)
def _cancel_jobs():
    yield
    for job_id in APP.state.jobs.running():
        APP.state.jobs.cancel(job_id)


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_api_never_returns_a_server_error(case):
    response = case.call()
    assert response.status_code < 500, f"{case.method} {case.formatted_path}: {response.status_code} {response.text[:300]}"
    ctype = response.headers.get("content-type", "")
    ctype = ctype[0] if isinstance(ctype, list) else ctype
    if ctype.startswith("application/json") and response.status_code >= 400:
        assert "error" in response.json() and "Traceback" not in response.text
