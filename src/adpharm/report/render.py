"""Render a :class:`~adpharm.report.comparison.Comparison` as HTML, Markdown or JSON.

The HTML is self-contained (inline CSS and SVG, no scripts or network fetches), so it opens
offline and prints cleanly.
"""
from __future__ import annotations

from typing import Any, Literal

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup, escape

from ..io import json_text
from ..knowledge.schema import SAFETY_KIND_LABELS
from .comparison import CATEGORY_LABELS, Comparison

Format = Literal["html", "md", "json"]
FORMATS = ("html", "md", "json", "pdf")


def _env(numbers: dict[str, int], fmt: str) -> Environment:
    env = Environment(loader=PackageLoader("adpharm.report", "templates"),
                      autoescape=select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True)

    def cite(c: dict | None) -> str:
        if not c:
            return ""
        nums = sorted({numbers[r] for r in c.get("refs", [])})
        flag = "" if c.get("verified", True) else "unverified"
        if fmt == "html":
            links = ",".join(f'<a href="#ref-{n}">{n}</a>' for n in nums)
            tag = ' <span class="unverified" title="marked unverified in the source table">unverified</span>' if flag else ""
            return Markup(f'<sup class="cite">[{links}]</sup>{tag}')
        return f" [{','.join(str(n) for n in nums)}]" + (" (unverified)" if flag else "")

    def val(c: dict | None) -> Any:
        if not c:
            return Markup('<span class="empty">&mdash;</span>') if fmt == "html" else "-"
        if fmt == "html":
            return Markup(f"{escape(c['value'])}{cite(c)}")
        return f"{c['value'].replace('|', '/')}{cite(c)}"

    env.filters["cite"] = cite
    env.filters["val"] = val
    env.globals["CATEGORY_LABELS"] = CATEGORY_LABELS
    env.globals["SAFETY_KIND_LABELS"] = SAFETY_KIND_LABELS
    return env


def render(comparison: Comparison, fmt: Format = "html") -> str:
    """Render to ``html``, ``md`` or ``json`` text.

    Examples
    --------
    >>> from adpharm.report.comparison import compare
    >>> html = render(compare("sertraline", "phenelzine", simulate=False), "html")   # doctest: +SKIP
    >>> "Research use only" in html                                                  # doctest: +SKIP
    True
    """
    data = comparison.to_dict()
    if fmt == "json":
        return json_text(data).rstrip("\n")
    numbers = {r["key"]: r["number"] for r in data["references"]}
    env = _env(numbers, fmt)
    tpl = env.get_template("guide.html.j2" if fmt == "html" else "guide.md.j2")
    return tpl.render(d=data, **{k: v for k, v in data.items() if k not in ("a", "b")}, A=data["a"], B=data["b"])


def render_pdf(comparison: Comparison) -> bytes:
    """PDF via WeasyPrint (the ``[pdf]`` extra)."""
    try:
        from weasyprint import HTML  # lazy: heavy optional dependency
    except ImportError as exc:  # pragma: no cover - depends on the extra
        raise RuntimeError("PDF output needs the pdf extra: pip install 'adpharm[pdf]'") from exc
    return HTML(string=render(comparison, "html")).write_pdf()
