"""Atomic file output: write to a temporary file beside the target, then rename into place."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path


def atomic_write(path: str | os.PathLike, data: str | bytes) -> Path:
    """Write ``data`` to ``path`` so that readers never see a half-written file."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    mode = "wb" if isinstance(data, bytes) else "w"
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, mode, **({} if mode == "wb" else {"encoding": "utf-8"})) as fh:
            fh.write(data)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return target


def jsonable(v):
    """``v`` with NaN and infinities as None and numpy scalars and arrays as plain Python: JSON has no
    NaN, and a strict parser rejects the token (undefined statistics are null, their reason in notes)."""
    import math

    import numpy as np
    if isinstance(v, dict):
        return {str(k): jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [jsonable(x) for x in v]
    if isinstance(v, np.ndarray):
        return jsonable(v.tolist())
    if isinstance(v, (float, np.floating)):
        return float(v) if math.isfinite(v) else None
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.bool_):
        return bool(v)
    return v


def json_text(obj, indent: int | None = 2) -> str:
    """Strict JSON text of ``obj`` (:func:`jsonable`; anything else as its string)."""
    import json
    return json.dumps(jsonable(obj), indent=indent, ensure_ascii=False, default=str, allow_nan=False) + "\n"


#: First characters that make a spreadsheet evaluate a cell (OWASP CSV injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(text: str) -> str:
    """``text`` with a leading apostrophe when a spreadsheet would run it as a formula (numbers are left alone)."""
    if not text.startswith(FORMULA_START):
        return text
    try:
        float(text)
        return text
    except ValueError:
        return "'" + text


def csv_text(df, **kwargs) -> str:
    """``df.to_csv`` with every text cell made :func:`spreadsheet_safe` (labels come from users' files)."""
    out = df.copy()
    for c in out.columns:
        if out[c].dtype == object:
            out[c] = out[c].map(lambda v: spreadsheet_safe(v) if isinstance(v, str) else v)
    out.columns = [spreadsheet_safe(c) if isinstance(c, str) else c for c in out.columns]
    return out.to_csv(**{"index": False, **kwargs})


def read_table(path: str | os.PathLike):
    """A CSV or TSV file as a DataFrame; a missing, empty or unparsable file raises AdpharmInputError."""
    import pandas as pd

    from .errors import AdpharmInputError
    p = Path(path)
    if not p.is_file():
        raise AdpharmInputError(f"{p}: no such file")
    import csv
    if p.stat().st_size == 0:
        raise AdpharmInputError(f"{p}: the file is empty")
    sep = "\t" if p.suffix.lower() in (".tsv", ".tab") else ","
    try:
        df = pd.read_csv(p, sep=sep, encoding="utf-8-sig")
    except pd.errors.EmptyDataError:
        raise AdpharmInputError(f"{p}: the file is empty") from None
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError, csv.Error) as exc:
        raise AdpharmInputError(f"{p}: not a readable CSV/TSV table ({str(exc).splitlines()[0]})") from None
    df.columns = [str(c).strip() for c in df.columns]
    if len(df) == 0:
        raise AdpharmInputError(f"{p}: no data rows")
    return df

