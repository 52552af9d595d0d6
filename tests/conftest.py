import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from adpharm.knowledge import DATA_DIR

REPO = Path(__file__).resolve().parents[1]
ADPHARM = [sys.executable, "-m", "adpharm.cli.main"]


def _shared_data() -> Path:
    """../shared/data beside the checkout (or $ADPHARM_SHARED_DATA, or the workplace copy for clones elsewhere)."""
    import os
    for cand in (os.environ.get("ADPHARM_SHARED_DATA"), REPO.parent / "shared" / "data", "/work/shared/data"):
        if cand and Path(cand).is_dir():
            return Path(cand)
    return REPO.parent / "shared" / "data"


SHARED_DATA = _shared_data()


def run_cli(*args: str, **kw) -> subprocess.CompletedProcess:
    """Run the real command line in a subprocess (exit codes and stderr as users see them)."""
    return subprocess.run([*ADPHARM, *args], capture_output=True, text=True, timeout=120, **kw)


@pytest.fixture
def data_copy(tmp_path: Path) -> Path:
    """A writable copy of the bundled knowledge-base data, for corrupting in tests."""
    dst = tmp_path / "data"
    shutil.copytree(DATA_DIR, dst)
    return dst
