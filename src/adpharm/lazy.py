"""Deferred imports of heavy dependencies (scipy.stats, scipy.signal, scipy.optimize).

``stats = lazy_module("scipy.stats")`` binds a module that is executed on its first attribute access,
with the standard library's :class:`importlib.util.LazyLoader`: every command line start (``adpharm
--help`` among them) no longer pays for statistics it may never use, and a command pays once, when it
first computes something. A module already imported is returned as it is.
"""
from __future__ import annotations

import importlib.util
import sys
from types import ModuleType


def lazy_module(name: str) -> ModuleType:
    """The module ``name``, imported now if it already is, else on its first attribute access."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None:     # pragma: no cover - a missing dependency fails as an import would
        raise ModuleNotFoundError(f"No module named {name!r}", name=name)
    loader = importlib.util.LazyLoader(spec.loader)
    spec.loader = loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    loader.exec_module(module)
    return module
