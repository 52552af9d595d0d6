"""Atomic file output: write to a temporary file beside the target, then rename into place."""
from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, binary: bool = False):
    """Open ``path`` for writing so that readers never see a half-written file: the caller writes to a
    temporary file beside the target (streaming, chunk by chunk if it likes), which is given the permissions
    of an ordinary new file under the umask and renamed into place when the block ends without an error;
    on an error nothing is left. Every file adpharm writes goes through here.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "out.csv"
    >>> with atomic_open(target) as fh:
    ...     _ = fh.write("a,b")
    >>> target.read_text()
    'a,b'
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb" if binary else "w", **({} if binary else {"encoding": "utf-8", "newline": ""})) as fh:
            yield fh
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def atomic_write(path: str | os.PathLike, data: str | bytes) -> Path:
    """Write ``data`` to ``path`` so that readers never see a half-written file (:func:`atomic_open`)."""
    with atomic_open(path, binary=isinstance(data, bytes)) as fh:
        fh.write(data)
    return Path(path)


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


#: Largest table a command reads (bytes): a lab table is kilobytes; this stops a wrong file early.
MAX_TABLE_BYTES = 100 * 1024 * 1024
#: Longest text cell or column name accepted in a table (a label, not a document).
MAX_LABEL_CHARS = 1000


def check_labels(df, where: str) -> None:
    """Refuse a table with a text cell or column name over :data:`MAX_LABEL_CHARS`, naming the file, row
    and column: such a label (pasted from a slide, or a file read with the wrong delimiter) would be
    repeated into every figure, message and output."""
    import pandas as pd

    from .errors import AdpharmInputError
    for c in df.columns:
        if len(str(c)) > MAX_LABEL_CHARS:
            raise AdpharmInputError(f"{where}: a column name of {len(str(c))} characters (at most {MAX_LABEL_CHARS})")
    for c in df.columns:
        if not (pd.api.types.is_object_dtype(df[c]) or pd.api.types.is_string_dtype(df[c])):
            continue
        lengths = df[c].map(lambda v: len(v) if isinstance(v, str) else 0)
        if len(lengths) and lengths.max() > MAX_LABEL_CHARS:
            i = int(lengths.to_numpy().argmax())
            raise AdpharmInputError(f"{where}: row {i + 1}, column {str(c)[:60]!r}: a label of {int(lengths.iloc[i])} "
                                    f"characters (at most {MAX_LABEL_CHARS})")


def sniff_table(path: Path) -> tuple[str, str, str]:
    """Encoding, delimiter and decimal mark of a text table, as spreadsheets export them.

    UTF-8 (with or without a byte-order mark), else Windows-1252 (Excel's "CSV" on Western systems);
    the delimiter is the commonest of comma, semicolon, tab and bar in the header line (tab for .tsv);
    a semicolon table whose numbers carry a decimal comma (``0,5``) is read with decimal ``,``."""
    import re
    head = path.read_bytes()[:65536]
    try:
        text = head.decode("utf-8-sig")
        encoding = "utf-8-sig"
    except UnicodeDecodeError as exc:
        if exc.start >= len(head) - 3:          # a character cut by the 64 kB window, not a wrong encoding
            text, encoding = head[:exc.start].decode("utf-8-sig"), "utf-8-sig"
        else:
            text, encoding = head.decode("cp1252", errors="replace"), "cp1252"
    first = text.splitlines()[0] if text else ""
    if path.suffix.lower() in (".tsv", ".tab"):
        sep = "\t"
    else:
        counts = {d: first.count(d) for d in (",", ";", "\t", "|")}
        sep = max(counts, key=counts.get) if max(counts.values()) > 0 else ","
    decimal = "," if sep == ";" and re.search(r"(^|;)\s*-?\d+,\d+\s*(;|$)", text, flags=re.M) else "."
    return encoding, sep, decimal


def read_table(path: str | os.PathLike, **read_csv_kw):
    """A CSV or TSV file as a DataFrame; a missing, empty, oversized or unparsable file, or one with an
    absurdly long label, raises AdpharmInputError naming the file. ``read_csv_kw`` go to pandas."""
    import pandas as pd

    from .errors import AdpharmInputError
    p = Path(path)
    if not p.is_file():
        raise AdpharmInputError(f"{p}: no such file")
    import csv
    size = p.stat().st_size
    if size == 0:
        raise AdpharmInputError(f"{p}: the file is empty")
    if size > MAX_TABLE_BYTES:
        raise AdpharmInputError(f"{p}: {size:,} bytes is above the {MAX_TABLE_BYTES:,}-byte limit for a table")
    encoding, sep, decimal = sniff_table(p)
    try:
        df = pd.read_csv(p, sep=sep, encoding=encoding, decimal=decimal, **read_csv_kw)
    except pd.errors.EmptyDataError:
        raise AdpharmInputError(f"{p}: the file is empty") from None
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError, csv.Error) as exc:
        raise AdpharmInputError(f"{p}: not a readable CSV/TSV table ({str(exc).splitlines()[0]})") from None
    df.columns = [str(c).strip() for c in df.columns]
    if len(df) == 0:
        raise AdpharmInputError(f"{p}: no data rows")
    check_labels(df, str(p))
    return df

def load_yaml(source):
    """Parse YAML text or a stream with PyYAML's safe loader, in its C implementation (libyaml) when
    installed: the knowledge base and the model files load about ten times faster, same results."""
    import yaml
    return yaml.load(source, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))

