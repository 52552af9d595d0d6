"""Deferred imports: heavy dependencies (scipy.stats, scipy.signal, scipy.optimize) and a package's public names.

``stats = lazy_module("scipy.stats")`` binds a module that is executed on its first attribute access,
with the standard library's :class:`importlib.util.LazyLoader`: every command line start (``adpharm
--help`` among them) no longer pays for statistics it may never use, and a command pays once, when it
first computes something. A module already imported is returned as it is.

:func:`lazy_attributes` gives a package the ``__getattr__`` and ``__dir__`` (PEP 562) that import each of
its public names from its home module on first use (``adpharm`` and ``adpharm.evidence``).
"""
from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Callable, Iterable
from types import ModuleType
from typing import Any


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


def lazy_attributes(namespace: dict[str, Any], homes: dict[str, tuple[str, str | None]],
                    public: Iterable[str]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for the package whose globals are ``namespace``: each name in ``homes``
    (name -> (module, attribute); attribute None: the module itself) is imported on first use and kept.

    Examples
    --------
    >>> ns = {"__name__": "pkg"}
    >>> getattr_, dir_ = lazy_attributes(ns, {"sqrt": ("math", "sqrt")}, ["sqrt"])
    >>> getattr_("sqrt")(4.0), "sqrt" in ns, dir_()
    (2.0, True, ['__name__', 'sqrt'])
    """
    package, names = namespace["__name__"], list(public)

    def __getattr__(name: str) -> Any:
        if name in homes:
            module, attr = homes[name]
            mod = importlib.import_module(module)
            value = mod if attr is None else getattr(mod, attr)
            namespace[name] = value
            return value
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(names))

    return __getattr__, __dir__
