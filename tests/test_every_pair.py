"""Every name, every pair (issue 26): the comparison builds and renders for every pair of drugs and classes.

The simulated course is left out here for speed (the guides with it are built for a sample of pairs in
tests/test_cli.py and tests/test_report_guide.py); everything else (at a glance, pharmacology, efficacy
pooled from the bundled trials, side effects, protocols, references) is built, rendered as HTML and
Markdown, and written as strict JSON.
"""
import itertools
import re

import pytest

from adpharm.knowledge import query
from adpharm.report.comparison import compare
from adpharm.report.render import render
from conftest import strict_json

pytestmark = pytest.mark.slow


def _ids() -> list[str]:
    return sorted({ident for _, ident in query.names().values()})


IDS = _ids()


def test_every_accepted_name_resolves_to_a_drug_or_class():
    table = query.names()
    for name, (kind, ident) in table.items():
        assert query.resolve(name.upper()) == (kind, ident)
    classes = {i for k, i in table.values() if k == "class"}
    assert len(IDS) == len(query.list_drugs()) + len(classes) and len(classes) >= 4


@pytest.mark.parametrize("a, b", list(itertools.combinations(IDS, 2)))
def test_the_comparison_builds_and_renders_for_every_pair(a, b):
    g = compare(a, b, simulate=False)
    html = render(g, "html")
    body = html.split("<body", 1)[-1]
    assert "Research use only" in body and not re.search(r">\s*(None|nan|NaN)\s*<", body)
    md = render(g, "md")
    assert "Research use only" in md and "\n# " in md and "| None |" not in md
    d = strict_json(render(g, "json"))
    assert (d["a"]["id"], d["b"]["id"]) == (a, b)
    _check_evidence(d, md)


def _estimates(d: dict):
    """Every pooled, network and indirect estimate of a guide, with where it sits."""
    e = d["efficacy"]
    for side in "ab":
        for r in e["pooled"][side]:
            if r["k"] > 0:
                yield f"pooled {side} {r['outcome']} {r['window']}", r
        for r in e["registry"][side]["rows"]:
            if r.get("estimate"):
                yield f"registry {side} {r['drug']} {r['outcome']}", r
    if e["indirect"] and e["indirect"]["estimable"]:
        yield "indirect", e["indirect"]


def _check_evidence(d: dict, md: str) -> None:
    """Issue 35: certainty on every pooled, network and indirect estimate; a Bucher number only where both legs
    share the time window (and, by construction, the comparator and population class), reasons otherwise; no
    internal trial id in the text a reader sees."""
    from adpharm.evidence.certainty import DOMAINS, RATINGS
    for where, r in _estimates(d):
        c = r["certainty"]
        assert c["rating"] in RATINGS and set(c["domains"]) == set(DOMAINS), where
    ind = d["efficacy"]["indirect"]
    if ind is not None:
        if ind["estimable"]:
            assert ind["windows"]["a"] == ind["windows"]["b"] and "OR" in ind["estimate"]["value"]
        else:
            assert ind["reasons"] and "estimate" not in ind
    assert not re.search(r"\|\s*(linde2015_\d+|lapidus2014|transform[12]|kocsis1988|stewart1993)\s*\|", md)
