"""Reading lab tables whose columns labs name in many ways."""
from __future__ import annotations

from typing import Iterable

import pandas as pd


def find_column(df: pd.DataFrame, names: Iterable[str]) -> str | None:
    """The first column of ``df`` whose name (case- and space-insensitive) is one of ``names``."""
    lower = {str(c).lower().strip(): c for c in df.columns}
    return next((lower[n] for n in names if n in lower), None)
