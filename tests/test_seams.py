"""Engines meet through public names: no module imports another module's underscore name (issue 23)."""
import ast
from pathlib import Path

import adpharm

ROOT = Path(adpharm.__file__).parent


def test_no_module_imports_a_private_name_from_another():
    offenders = []
    for f in sorted(ROOT.rglob("*.py")):
        for node in ast.walk(ast.parse(f.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                offenders += [f"{f.relative_to(ROOT)}: from {'.' * node.level}{node.module or ''} import {a.name}"
                              for a in node.names if a.name.startswith("_") and not a.name.startswith("__")]
    assert not offenders, "private names imported across modules:\n" + "\n".join(offenders)
