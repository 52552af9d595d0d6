"""One app per test session (its guide cache is shared, as a real server's would be)."""
import warnings

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from adpharm.web.app import create_app

_APP = None


def client(max_upload_bytes: int | None = None) -> TestClient:
    global _APP
    if max_upload_bytes is not None:
        return TestClient(create_app(max_upload_bytes=max_upload_bytes), raise_server_exceptions=False)
    if _APP is None:
        _APP = create_app()
    return TestClient(_APP, raise_server_exceptions=False)
