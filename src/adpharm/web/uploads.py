"""Uploaded files: size- and type-checked, stored under a fresh temporary name, never used as a path.

The client's file name is kept only as a label (its suffix chooses the reader); the bytes go to a
new file in a private temporary directory that is removed when the request is done.
"""
from __future__ import annotations

import re
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path

from ..errors import AdpharmInputError

#: Default per-file limit (bytes); `adpharm serve --max-upload-mb` changes it.
MAX_UPLOAD_BYTES = 25 * 1024 * 1024

#: What each upload field accepts (lower-case suffixes, compound ones first).
KINDS = {
    "table": (".csv", ".tsv", ".txt", ".csv.gz", ".tsv.gz", ".txt.gz"),
    "image": (".tif", ".tiff", ".png", ".jpg", ".jpeg"),
    "abf": (".abf", ".csv"),
    "video": (".mp4", ".avi"),
    "counts": (".csv", ".tsv", ".txt", ".csv.gz", ".tsv.gz", ".txt.gz", ".tar"),
    "gmt": (".gmt", ".txt", ".gmt.txt"),
}

#: First bytes that the suffix must agree with (a renamed executable is not an image).
MAGIC = {".png": (b"\x89PNG",), ".jpg": (b"\xff\xd8",), ".jpeg": (b"\xff\xd8",),
         ".tif": (b"II*\x00", b"MM\x00*"), ".tiff": (b"II*\x00", b"MM\x00*"),
         ".gz": (b"\x1f\x8b",), ".abf": (b"ABF ", b"ABF2")}


class UploadTooLarge(AdpharmInputError):
    """A file over the upload limit (HTTP 413)."""


def suffix(name: str, kind: str) -> str:
    """The accepted suffix of ``name`` for ``kind``, or an error naming the file and what is allowed."""
    low = (name or "").lower()
    for s in sorted(KINDS[kind], key=len, reverse=True):
        if low.endswith(s):
            return s
    raise AdpharmInputError(f"{safe_label(name)}: not an accepted file type (accepted: {', '.join(KINDS[kind])})")


def safe_label(name: str | None) -> str:
    """The client's file name reduced to a harmless label for messages."""
    base = re.split(r"[\\/]", name or "upload")[-1]
    return re.sub(r"[^A-Za-z0-9._ -]", "_", base)[:80] or "upload"


def check_content(data: bytes, sfx: str, label: str, limit: int) -> None:
    if len(data) == 0:
        raise AdpharmInputError(f"{label}: the file is empty")
    if len(data) > limit:
        raise UploadTooLarge(f"{label}: over the {limit / 1e6:.3g} MB upload limit")
    last = "." + sfx.rsplit(".", 1)[-1]
    magic = MAGIC.get(last)
    if magic and not any(data.startswith(m) for m in magic):
        raise AdpharmInputError(f"{label}: the content is not a {last.lstrip('.')} file")


@contextmanager
def stored(files: list[tuple[str, bytes, str]], limit: int = MAX_UPLOAD_BYTES):
    """Write ``(client name, bytes, kind)`` uploads to a private temporary folder; yield their paths.

    Each file is saved as ``upload-N<suffix>``: the client's name never reaches the file system.
    """
    tmp = Path(tempfile.mkdtemp(prefix="adpharm-upload-"))
    try:
        paths = []
        for i, (name, data, kind) in enumerate(files):
            sfx = suffix(name, kind)
            label = safe_label(name)
            check_content(data, sfx, label, limit)
            p = tmp / f"upload-{i}{sfx}"
            p.write_bytes(data)
            paths.append(p)
        yield paths
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def relabel(message: str, paths: list[Path], names: list[str]) -> str:
    """Error messages name the user's file, not the temporary one."""
    for p, n in zip(paths, names):
        message = message.replace(str(p), safe_label(n)).replace(p.name, safe_label(n))
    return message


def relabel_result(obj, paths: list[Path], names: list[str]):
    """A result (nested dicts, lists, strings) with every temporary upload path or file name replaced by the
    user's file name: the server's folders never reach a response, and the source is the user's file.

    >>> relabel_result({"source": "/tmp/adpharm-upload-x/upload-0.png"}, [Path("/tmp/adpharm-upload-x/upload-0.png")],
    ...                ["blot.png"])
    {'source': 'blot.png'}
    """
    if isinstance(obj, str):
        return relabel(obj, paths, names)
    if isinstance(obj, dict):
        return {k: relabel_result(v, paths, names) for k, v in obj.items()}
    if isinstance(obj, list):
        return [relabel_result(v, paths, names) for v in obj]
    return obj
