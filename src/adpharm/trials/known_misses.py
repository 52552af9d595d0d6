"""The model's known misses as data (``known_misses.yaml``), so that they travel with its outputs: every face
that simulates what a miss concerns prints it as a warning (issue 39).

Examples
--------
>>> from adpharm.trials.known_misses import warnings_for
>>> [w.split(":")[0] for w in warnings_for("ssri-mdd-8wk")]
['known miss (ssri-week-8)']
"""
from __future__ import annotations

import functools
from pathlib import Path

__all__ = ["misses", "warnings_for"]

FILE = Path(__file__).with_name("known_misses.yaml")


@functools.lru_cache(maxsize=1)
def misses() -> tuple[dict, ...]:
    """Every known miss: ``id, applies_to, what, published, simulated, refs``."""
    from ..io import load_yaml
    return tuple(load_yaml(FILE.read_text(encoding="utf-8"))["misses"])


def warnings_for(*scopes: str) -> list[str]:
    """One line per known miss that concerns any of ``scopes`` (protocol ids, ``registry``, ``drug:<id>``,
    ``family:<name>``), in the file's order."""
    want = set(scopes)
    return [f"known miss ({m['id']}): {m['what']}: published {m['published']}; simulated {m['simulated']} "
            f"[{', '.join(m['refs'])}]" for m in misses() if want & set(m["applies_to"])]
