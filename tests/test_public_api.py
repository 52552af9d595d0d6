"""The Python face (issue 34): ``import adpharm as ap`` gives the main tasks as documented functions, each with a
numpydoc docstring that has an example, and the examples that run quickly run here (doctest)."""
import doctest
import importlib
import inspect
import subprocess
import sys

import pytest

import adpharm as ap

ENTRY = [n for n in ap.__all__ if n not in ("__version__", "RESEARCH_NOTICE")]


def test_top_level_lists_the_entry_points_and_imports_nothing_heavy():
    assert {"simulate_pk", "tdm", "simulate_mechanism", "simulate_trial", "analyse_trial", "power", "virtual_registry",
            "escalc", "rma", "network", "indirect", "registry_network", "analyse_fst", "analyse_spt",
            "analyse_western", "analyse_ltp", "reversal", "compare", "render", "datasets"} <= set(ENTRY)
    out = subprocess.run([sys.executable, "-c", "import sys, adpharm; print('scipy' in sys.modules, "
                          "'adpharm.trials' in sys.modules)"], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]          # entry points load on first use


@pytest.mark.parametrize("name", ENTRY)
def test_every_entry_point_has_a_numpydoc_docstring_with_an_example(name):
    obj = getattr(ap, name)
    doc = inspect.getdoc(obj) or ""
    assert doc.split("\n")[0].strip(), name
    assert "Examples\n--------" in doc and ">>> " in doc, name


@pytest.mark.parametrize("module", sorted({inspect.getmodule(getattr(ap, n)).__name__ for n in ENTRY} | {"adpharm"}))
def test_examples_run(module):
    r = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert r.failed == 0, f"{module}: {r.failed} of {r.attempted} examples failed"


def test_unknown_attribute_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'simulate_pkk'"):
        ap.simulate_pkk  # noqa: B018


@pytest.mark.parametrize("package", ["pharmacology", "mechanism", "trials", "evidence", "assays", "transcriptomics",
                                     "report", "knowledge", "datasets"])
def test_every_engine_package_lists_its_public_names(package):
    mod = importlib.import_module(f"adpharm.{package}")
    assert mod.__all__ and mod.__doc__
    for name in mod.__all__:
        assert hasattr(mod, name) or importlib.import_module(f"adpharm.{package}.{name}"), name


def _results_classes():
    import inspect
    import pkgutil

    import adpharm
    out = []
    for m in pkgutil.walk_packages(adpharm.__path__, "adpharm."):
        if m.name.startswith(("adpharm.cli", "adpharm.web")) or m.name.endswith("__main__"):
            continue
        mod = importlib.import_module(m.name)
        out += [c for name, c in vars(mod).items() if inspect.isclass(c) and c.__module__ == mod.__name__
                and name.endswith(("Result", "Pool")) and name != "Result"]
    return out


def test_every_results_class_follows_the_one_result_protocol():
    """Issue 38, item 6: every results class derives from NotebookDisplay and offers summary(), to_dict(),
    to_frame() and plot() (``adpharm.display.Result``)."""
    from adpharm.display import NotebookDisplay, Result
    classes = _results_classes()
    assert len(classes) >= 30
    off = [f"{c.__module__}.{c.__name__}" for c in classes
           if not issubclass(c, NotebookDisplay) or not all(callable(getattr(c, a, None)) for a in
                                                            ("summary", "to_dict", "to_frame", "plot"))]
    assert not off, off
    from adpharm.trials.missing import rubin
    r = rubin([1.0, 2.0, 3.0], [0.5, 0.5, 0.5], df_complete=1e9)
    assert isinstance(r, Result) and r.summary().loc[0, "estimate"] == 2.0 and r.plot() is not None


def test_every_results_class_prints_its_summary_warnings_and_the_notice():
    """Issue 38, item 6: ``str(result)`` is the text a user reads (``print(result)`` in a notebook or a
    REPL), never the dataclass repr with its arrays."""
    import adpharm as ap
    from adpharm import RESEARCH_NOTICE
    plain = [f"{c.__module__}.{c.__name__}" for c in _results_classes() if c.__str__ is object.__str__]
    assert not plain, plain
    pk = ap.simulate_pk("sertraline", "50 mg po daily", hours=48)
    text = str(pk)
    assert text.startswith("sertraline: 50 mg po daily (1 subject, seed None)\n") and text.startswith(pk.text())
    assert "cmax_ng_per_ml" in text and text.endswith(RESEARCH_NOTICE)
    assert "array(" not in text
    t = ap.tdm("nortriptyline", "75 mg po daily", measured=180, covariates=ap.PatientCovariates(phenotype="PM"))
    lines = str(t).splitlines()
    assert lines[0] == t.text().splitlines()[0] and any(ln.startswith("warning: ") for ln in lines) and len(t.warnings) == \
        sum(ln.startswith("warning: ") for ln in lines)


@pytest.mark.parametrize("args, make", [
    (("pk", "occupancy", "--drug", "imipramine", "--regimen", "150 mg po daily"),
     lambda ap: ap.occupancy(ap.simulate_pk("imipramine", "150 mg po daily"))),
    (("trial", "simulate", "ssri-mdd-8wk", "--n-per-arm", "20", "--seed", "3"),
     lambda ap: __import__("adpharm.trials.simulate", fromlist=["x"]).simulate_trial("ssri-mdd-8wk", 20, 3)),
])
def test_the_command_line_text_is_the_results_text(args, make):
    """Issue 38, item 6: what a command prints is the result's ``text()`` and the research-use notice."""
    import adpharm as ap
    from adpharm import RESEARCH_NOTICE
    from conftest import run_cli
    r = run_cli(*args)
    assert r.returncode == 0, r.stderr
    assert r.stdout == make(ap).text() + RESEARCH_NOTICE + "\n"
