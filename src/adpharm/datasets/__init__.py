"""The real data files that adpharm's tests, tutorials and examples use, found and verified by name.

Every file is listed once in ``registry.yaml`` beside this module: its name, its path below a data
folder, its SHA-256, its licence, its citation and the public place it was copied from. A file is
looked for, in order, in

1. ``$ADPHARM_DATA`` (a folder laid out like ``shared/data``: ``evidence/…``, ``fst/…``, …);
2. a ``shared/data`` folder beside the source checkout (``<checkout>/../shared/data``);
3. the download cache (``$ADPHARM_CACHE``, else ``$XDG_CACHE_HOME/adpharm/datasets``, else
   ``~/.cache/adpharm/datasets``).

Every copy found is checked against its SHA-256; a copy that differs is refused, never used.
:func:`fetch` downloads a missing file into the cache (with ``pooch``, from the file's origin, and
hash-checked) only when asked; :func:`locate` never downloads. Nothing downloads at import or run
time otherwise.

Examples
--------
>>> from adpharm import datasets
>>> d = datasets.get("behaviopy_forcedswim_bins")
>>> d.licence, d.file
('GPL-3.0', 'fst/behaviopy_forcedswim_bins.csv')
>>> path = datasets.locate("behaviopy_forcedswim_bins")   # a verified Path, or None when not here
"""
from __future__ import annotations

import difflib
import hashlib
import os
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

from ..errors import AdpharmInputError

__all__ = ["Dataset", "DatasetError", "registry", "get", "names", "search_paths", "cache_dir", "locate",
           "fetch", "verify"]

REGISTRY_FILE = Path(__file__).with_name("registry.yaml")
#: the environment variable naming a data folder laid out like ``shared/data``
DATA_ENV = "ADPHARM_DATA"
#: the environment variable naming the download cache
CACHE_ENV = "ADPHARM_CACHE"


class DatasetError(AdpharmInputError):
    """A dataset that is unknown, absent, or whose copy fails its hash check (one line, exit 2)."""


@dataclass(frozen=True)
class Dataset:
    """One registered file: what it is, where it lives below a data folder, and where it came from."""

    name: str
    file: str
    sha256: str
    size_bytes: int
    source: str
    url: str | None
    licence: str
    citation: str

    @property
    def folder(self) -> str:
        """The first part of ``file`` (``ephys``, ``evidence``, ``fst`` ...)."""
        return self.file.split("/", 1)[0]

    def to_dict(self) -> dict:
        return asdict(self)


@lru_cache(maxsize=1)
def registry() -> dict[str, Dataset]:
    """Every registered dataset by name, in the registry's order."""
    import yaml
    rows = yaml.safe_load(REGISTRY_FILE.read_text(encoding="utf-8"))["datasets"]
    return {r["name"]: Dataset(**r) for r in rows}


def get(name: str) -> Dataset:
    """The dataset called ``name``; an unknown name is refused with the closest names."""
    reg = registry()
    if name not in reg:
        close = difflib.get_close_matches(name, list(reg), n=3, cutoff=0.6)
        hint = f"; did you mean {', '.join(close)}?" if close else "; `adpharm datasets list` lists them"
        raise DatasetError(f"dataset: unknown name {name!r}{hint}")
    return reg[name]


def names(folder: str | None = None, prefix: str = "") -> list[str]:
    """Registered names, optionally those in one folder (``"ephys"``) and/or starting with ``prefix``."""
    return [n for n, d in registry().items() if (folder is None or d.folder == folder) and n.startswith(prefix)]


def _checkout_shared() -> Path | None:
    """``<checkout>/../shared/data`` when this package runs from a source checkout (src layout)."""
    root = Path(__file__).resolve().parents[3]
    return root.parent / "shared" / "data" if (root / "pyproject.toml").is_file() else None


def cache_dir() -> Path:
    """The download cache: ``$ADPHARM_CACHE``, else ``$XDG_CACHE_HOME/adpharm/datasets``, else ``~/.cache/...``."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "adpharm" / "datasets"


def search_paths() -> list[tuple[str, Path]]:
    """The folders looked in, in order, each with its label (``$ADPHARM_DATA``, ``shared``, ``cache``)."""
    out = []
    if os.environ.get(DATA_ENV):
        out.append((f"${DATA_ENV}", Path(os.environ[DATA_ENV])))
    shared = _checkout_shared()
    if shared is not None:
        out.append(("shared/data beside the checkout", shared))
    out.append(("cache", cache_dir()))
    return out


@lru_cache(maxsize=256)
def _sha256_of(path: str, size: int, mtime_ns: int) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def verify(name: str, path: str | os.PathLike) -> Path:
    """``path`` if its content has the registered SHA-256 of ``name``; otherwise a :class:`DatasetError`."""
    d, p = get(name), Path(path)
    st = p.stat()
    got = _sha256_of(str(p), st.st_size, st.st_mtime_ns)
    if got != d.sha256:
        raise DatasetError(f"dataset {name}: {p} fails its hash check (sha256 {got[:16]}..., expected "
                           f"{d.sha256[:16]}...): the copy is corrupted or another version; delete it and run "
                           f"`adpharm datasets fetch {name}`")
    return p


def locate(name: str) -> Path | None:
    """The verified local copy of ``name`` from the first search path that has it, or None; never downloads.

    A copy that fails its hash check raises :class:`DatasetError` instead of being passed over, so that
    a corrupted file is noticed rather than silently replaced by another."""
    d = get(name)
    for _, folder in search_paths():
        p = folder / d.file
        if p.is_file():
            return verify(name, p)
    return None


def fetch(name: str, download: bool = True) -> Path:
    """A verified local path of ``name``: a copy found by :func:`locate`, else (``download=True``) one
    downloaded from its origin into :func:`cache_dir` with ``pooch`` and hash-checked.

    Raises
    ------
    DatasetError
        When the name is unknown, a copy fails its hash check, or no copy can be had (the message says
        where it looked and, for a file with no download address, where to put it).
    """
    d = get(name)
    found = locate(name)
    if found is not None:
        return found
    where = ", ".join(f"{label} ({p})" for label, p in search_paths())
    if not download:
        raise DatasetError(f"dataset {name}: not found in {where}; run `adpharm datasets fetch {name}`")
    if not d.url:
        raise DatasetError(f"dataset {name}: not found in {where}, and it has no download address "
                           f"({d.source}); put {d.file} under ${DATA_ENV}")
    try:
        import pooch
    except ImportError:  # pragma: no cover - pooch is in the install the Makefile makes
        raise DatasetError(f"dataset {name}: downloading needs the package pooch (pip install 'adpharm[data]')") from None
    target = cache_dir() / d.file
    try:
        pooch.retrieve(d.url, known_hash=f"sha256:{d.sha256}", fname=target.name, path=target.parent,
                       progressbar=False)
    except Exception as exc:   # network errors and pooch's hash mismatch alike: one line
        raise DatasetError(f"dataset {name}: download from {d.url} failed: {' '.join(str(exc).split())[:200]}") from None
    return verify(name, target)
