"""Pathway and workflow diagrams as inline SVG.

Layout uses Graphviz ``dot`` when it is on the PATH. Graphviz is not pip-installable, so on a
machine with only pip the same graph is laid out by a built-in layered (Sugiyama-style)
layout: cycle removal, longest-path layering, barycentre ordering. Either way the result is a
complete SVG; :attr:`Diagram.engine` says which layout made it.

References
----------
Sugiyama K, Tagawa S, Toda M (1981). Methods for visual understanding of hierarchical system
structures. IEEE Trans Syst Man Cybern 11(2):109-125. doi:10.1109/TSMC.1981.4308636
"""
from __future__ import annotations

import re
import shutil
import subprocess
import textwrap
from dataclasses import dataclass
from html import escape, unescape
from typing import Any, Literal

KIND_FILL = {"drug": "#fde2e1", "receptor": "#dbeafe", "transmitter": "#dcfce7", "kinase": "#fef3c7",
             "process": "#ede9fe", "outcome": "#e0f2f1", "step": "#f1f5f9"}
EFFECT_COLOUR = {"activates": "#166534", "inhibits": "#b91c1c"}


@dataclass
class Diagram:
    svg: str
    engine: Literal["graphviz", "builtin"]
    title: str

    def to_dict(self) -> dict[str, Any]:
        return {"title": self.title, "engine": self.engine, "svg": self.svg}


def _wrap(label: str, width: int = 22) -> list[str]:
    return textwrap.wrap(label, width) or [label]


# ------------------------------------------------------------------ graphviz
def _dot_source(nodes: list[dict], edges: list[dict], highlight: set[str]) -> str:
    out = ['digraph G {', '  graph [rankdir=TB, nodesep=0.35, ranksep=0.45, bgcolor="transparent"];',
           '  node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=11, color="#475569"];',
           '  edge [fontname="Helvetica", fontsize=9];']
    for n in nodes:
        lbl = "\\n".join(_wrap(n["label"])).replace('"', "'")
        pen = ', penwidth=2.5, color="#0f172a"' if n["id"] in highlight else ""
        out.append(f'  "{n["id"]}" [label="{lbl}", fillcolor="{KIND_FILL.get(n.get("kind"), "#f1f5f9")}"{pen}];')
    for e in edges:
        col = EFFECT_COLOUR.get(e.get("effect"), "#334155")
        head = "tee" if e.get("effect") == "inhibits" else "normal"
        lbl = (e.get("timescale") or "").replace('"', "'")
        out.append(f'  "{e["source"]}" -> "{e["target"]}" [color="{col}", fontcolor="{col}", arrowhead={head}, label="{lbl}"];')
    out.append("}")
    return "\n".join(out)


def _graphviz_svg(dot_src: str) -> str | None:
    exe = shutil.which("dot")
    if not exe:
        return None
    try:
        res = subprocess.run([exe, "-Tsvg"], input=dot_src.encode(), capture_output=True, timeout=30, check=True)
    except (subprocess.SubprocessError, OSError):
        return None
    svg = res.stdout.decode("utf-8", "replace")
    start = svg.find("<svg")
    return svg[start:] if start >= 0 else None


# ------------------------------------------------------------------ built-in layered layout
def _layers(ids: list[str], edges: list[tuple[str, str]]) -> tuple[dict[str, int], set[tuple[str, str]]]:
    """Longest-path layering after reversing DFS back edges; returns layers and reversed edges."""
    succ: dict[str, list[str]] = {i: [] for i in ids}
    for s, t in edges:
        succ[s].append(t)
    state: dict[str, int] = {}
    back: set[tuple[str, str]] = set()

    def dfs(u: str) -> None:
        state[u] = 1
        for v in succ[u]:
            if state.get(v) == 1:
                back.add((u, v))
            elif v not in state:
                dfs(v)
        state[u] = 2

    for i in ids:
        if i not in state:
            dfs(i)
    dag = [(t, s) if (s, t) in back else (s, t) for s, t in edges if s != t]
    layer = {i: 0 for i in ids}
    for _ in range(len(ids)):
        changed = False
        for s, t in dag:
            if layer[t] < layer[s] + 1:
                layer[t] = layer[s] + 1
                changed = True
        if not changed:
            break
    return layer, back


def _builtin_svg(nodes: list[dict], edges: list[dict], highlight: set[str], uid: str = "g") -> str:
    ids = [n["id"] for n in nodes]
    pairs = [(e["source"], e["target"]) for e in edges]
    layer, back = _layers(ids, pairs)
    n_layers = max(layer.values()) + 1
    rows: list[list[str]] = [[i for i in ids if layer[i] == k] for k in range(n_layers)]
    nbrs: dict[str, list[str]] = {i: [] for i in ids}
    for s, t in pairs:
        nbrs[s].append(t)
        nbrs[t].append(s)
    for sweep in range(8):  # barycentre ordering, alternating down and up sweeps
        order = range(1, n_layers) if sweep % 2 == 0 else range(n_layers - 2, -1, -1)
        for k in order:
            ref = k - 1 if sweep % 2 == 0 else k + 1
            pos = {v: j for j, v in enumerate(rows[ref])}
            here = {v: j for j, v in enumerate(rows[k])}
            def bary(v: str) -> float:
                xs = [pos[u] for u in nbrs[v] if u in pos]
                return sum(xs) / len(xs) if xs else here[v]
            rows[k].sort(key=bary)
    lines = {n["id"]: _wrap(n["label"]) for n in nodes}
    width = {i: max(len(s) for s in lines[i]) * 6.6 + 22 for i in ids}
    height = {i: len(lines[i]) * 14 + 14 for i in ids}
    gap_x, gap_y = 28, 58
    row_w = [sum(width[v] for v in r) + gap_x * (len(r) - 1) for r in rows]
    total_w = max(row_w) + 40 + (150 if back else 0)  # room for back edges routed on the right
    xy: dict[str, tuple[float, float]] = {}
    y = 20.0
    for r, w in zip(rows, row_w):
        x = (total_w - w) / 2
        h = max(height[v] for v in r)
        for v in r:
            xy[v] = (x + width[v] / 2, y + h / 2)
            x += width[v] + gap_x
        y += h + gap_y
    total_h = y - gap_y + 20
    kind = {n["id"]: n.get("kind") for n in nodes}
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {total_w:.0f} {total_h:.0f}" '
           f'width="{total_w:.0f}" height="{total_h:.0f}" font-family="Helvetica, Arial, sans-serif" role="img">',
           '<defs>',
           f'<marker id="arr-{uid}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto">'
           f'<path d="M0,0 L10,5 L0,10 z" fill="{EFFECT_COLOUR["activates"]}"/></marker>',
           f'<marker id="tee-{uid}" viewBox="0 0 10 10" refX="5" refY="5" markerWidth="8" markerHeight="8" orient="auto">'
           f'<path d="M5,0 L5,10" stroke="{EFFECT_COLOUR["inhibits"]}" stroke-width="3"/></marker>',
           '</defs>']
    for e in edges:
        (x1, y1), (x2, y2) = xy[e["source"]], xy[e["target"]]
        s, t = e["source"], e["target"]
        col = EFFECT_COLOUR.get(e.get("effect"), "#334155")
        marker = ("tee-" if e.get("effect") == "inhibits" else "arr-") + uid
        if (s, t) in back or y2 <= y1:  # upward edge: route around the right-hand side
            sx, sy = x1 + width[s] / 2, y1
            tx, ty = x2 + width[t] / 2, y2
            bulge = max(sx, tx) + 60
            d = f"M{sx:.1f},{sy:.1f} C{bulge:.1f},{sy:.1f} {bulge:.1f},{ty:.1f} {tx + 2:.1f},{ty:.1f}"
            mx, my = bulge - 10, (sy + ty) / 2
        else:
            sy, ty = y1 + height[s] / 2, y2 - height[t] / 2 - 2
            d = f"M{x1:.1f},{sy:.1f} C{x1:.1f},{sy + 30:.1f} {x2:.1f},{ty - 30:.1f} {x2:.1f},{ty:.1f}"
            mx, my = (x1 + x2) / 2 + 4, (sy + ty) / 2
        dash = ' stroke-dasharray="5,3"' if (s, t) in back else ""
        out.append(f'<path d="{d}" fill="none" stroke="{col}" stroke-width="1.6"{dash} marker-end="url(#{marker})"/>')
        if e.get("timescale"):
            out.append(f'<text x="{mx:.1f}" y="{my:.1f}" font-size="9" fill="{col}">{escape(e["timescale"])}</text>')
    for i in ids:
        x, y = xy[i]
        w, h = width[i], height[i]
        stroke = ' stroke="#0f172a" stroke-width="2.5"' if i in highlight else ' stroke="#475569" stroke-width="1"'
        out.append(f'<g class="node" data-id="{escape(i)}"><rect x="{x - w / 2:.1f}" y="{y - h / 2:.1f}" width="{w:.1f}" '
                   f'height="{h:.1f}" rx="7" fill="{KIND_FILL.get(kind[i], "#f1f5f9")}"{stroke}/>')
        for j, line in enumerate(lines[i]):
            ty = y - (len(lines[i]) - 1) * 7 + j * 14 + 4
            out.append(f'<text x="{x:.1f}" y="{ty:.1f}" font-size="11" text-anchor="middle" fill="#0f172a">{escape(line)}</text>')
        out.append("</g>")
    out.append("</svg>")
    return "\n".join(out)


def render_graph(nodes: list[dict], edges: list[dict], title: str, highlight: set[str] | None = None,
                 engine: Literal["auto", "graphviz", "builtin"] = "auto") -> Diagram:
    """Lay out a directed graph (``nodes``: id/label/kind; ``edges``: source/target/effect/timescale) as SVG."""
    highlight = highlight or set()
    if engine in ("auto", "graphviz"):
        svg = _graphviz_svg(_dot_source(nodes, edges, highlight))
        if svg is not None:
            return Diagram(svg=svg, engine="graphviz", title=title)
        if engine == "graphviz":
            raise RuntimeError("Graphviz 'dot' is not available on this machine")
    uid = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-") or "g"
    return Diagram(svg=_builtin_svg(nodes, edges, highlight, uid), engine="builtin", title=title)


def pathway_diagram(pathway: dict[str, Any], highlight: set[str] | None = None, **kw) -> Diagram:
    return render_graph(pathway["nodes"], pathway["edges"], pathway["name"], highlight, **kw)


WORKFLOW_STEPS = [
    ("knowledge", "Cited facts (drugs, targets, PK, trials)"),
    ("pharmacology", "Pharmacokinetics and receptor occupancy"),
    ("mechanism", "Signalling cascades and plasticity"),
    ("symptoms", "Symptom trajectory (MADRS)"),
    ("trials", "Virtual trials and their analysis"),
    ("evidence", "Pooled published evidence"),
    ("assays", "Lab assays: FST, SPT, Western blot, LTP"),
    ("transcriptomics", "Transcriptomic signatures"),
    ("guide", "Comparison guide"),
]
WORKFLOW_EDGES = [("knowledge", "pharmacology"), ("pharmacology", "mechanism"), ("mechanism", "symptoms"),
                  ("symptoms", "trials"), ("knowledge", "evidence"), ("trials", "guide"), ("evidence", "guide"),
                  ("assays", "guide"), ("transcriptomics", "guide")]


def workflow_diagram(**kw) -> Diagram:
    """The adpharm chain from cited facts to the comparison guide."""
    nodes = [{"id": i, "label": lbl, "kind": "step"} for i, lbl in WORKFLOW_STEPS]
    edges = [{"source": s, "target": t, "effect": "activates", "timescale": ""} for s, t in WORKFLOW_EDGES]
    return render_graph(nodes, edges, "adpharm workflow", **kw)


def svg_text(svg: str) -> list[str]:
    """Visible text in an SVG (for tests and accessibility checks)."""
    return [unescape(t) for t in re.findall(r"<text[^>]*>([^<]*)</text>", svg)]


def model_diagram(model, **kw):
    """The cascade model's dependency graph (:meth:`adpharm.mechanism.model.CascadeModel.graph`), drawn."""
    g = model.graph()
    return render_graph(g["nodes"], g["edges"], title=g["title"], **kw)
