import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from adpharm.knowledge import DATA_DIR

REPO = Path(__file__).resolve().parents[1]
# the web app's job store (and anything else adpharm keeps) goes to a fresh folder, not the user's data folder
os.environ.setdefault("ADPHARM_DATA_DIR", tempfile.mkdtemp(prefix="adpharm-test-data-"))
ADPHARM = [sys.executable, "-m", "adpharm.cli.main"]

try:  # the fuzz suite's profiles: `ci` (default, the same examples every run) and `nightly` (many, random)
    from hypothesis import HealthCheck, settings
    _quiet = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]
    settings.register_profile("ci", max_examples=15, deadline=None, derandomize=True, suppress_health_check=_quiet,
                              print_blob=True)
    settings.register_profile("nightly", max_examples=400, deadline=None, suppress_health_check=_quiet)
    settings.register_profile("campaign", max_examples=60, deadline=None, suppress_health_check=_quiet)
    settings.load_profile("ci")
except ImportError:  # pragma: no cover
    pass


def data(name: str) -> Path:
    """The verified local copy of the registered dataset ``name`` (:mod:`adpharm.datasets`), or a skip
    that names the dataset and the command that fetches it. Tests never download."""
    from adpharm import datasets
    path = datasets.locate(name)
    if path is None:
        pytest.skip(f"dataset {name} is not available offline: `adpharm datasets fetch {name}` fetches it")
    return path


def data_or_skip_module(*names: str) -> dict[str, Path]:
    """:func:`data` for a module that reads its files at import (fuzz seeds): skips the whole module,
    naming the first dataset that is missing."""
    from adpharm import datasets
    out = {}
    for n in names:
        p = datasets.locate(n)
        if p is None:
            pytest.skip(f"dataset {n} is not available offline: `adpharm datasets fetch {n}` fetches it",
                        allow_module_level=True)
        out[n] = p
    return out


def _reject_constant(name: str):
    raise ValueError(f"not JSON: the token {name} in a --format json output")


def strict_json(text: str):
    """``json.loads`` that refuses NaN, Infinity and -Infinity, which are not JSON."""
    import json
    return json.loads(text, parse_constant=_reject_constant)


def run_cli(*args: str, **kw) -> subprocess.CompletedProcess:
    """Run the real command line in a subprocess (exit codes and stderr as users see them).

    Every successful ``--format json`` run that prints to stdout is parsed strictly here, so the whole
    CLI suite checks that no output carries NaN or Infinity (issue 23)."""
    kw.setdefault("timeout", 120)
    res = subprocess.run([*ADPHARM, *args], capture_output=True, text=True, **kw)
    a = list(args)
    wants_json = "--format=json" in a or any(x == "--format" and y == "json" for x, y in zip(a, a[1:]))
    if wants_json and res.returncode == 0 and res.stdout.strip():
        strict_json(res.stdout)
    return res


@pytest.fixture
def data_copy(tmp_path: Path) -> Path:
    """A writable copy of the bundled knowledge-base data, for corrupting in tests."""
    dst = tmp_path / "data"
    shutil.copytree(DATA_DIR, dst)
    return dst
