"""Profile → one self-contained HTML page (``--format html``), made for exploring.

Nothing is fetched: the styles, the bar charts (CSS bars), the roofline (inline SVG) and
the few lines of script that sort and filter the node table are all inline, so the file
can be attached to a CI run or mailed. The charts' figure (FLOPs, params, bytes) and the
node table's toggles (nodes that cost nothing, findings only) are radio buttons and
checkboxes styled with CSS: they work without the script. Every name from the graph or
the command line is escaped.
"""

from __future__ import annotations

from html import escape

from tfflops.analysis.conventions import unit
from tfflops.analysis.crosscheck import MISMATCH, UNSUPPORTED
from tfflops.analysis.profile import Profile
from tfflops.analysis.roofline import compute_dtype
from tfflops.graph.phases import INFERENCE
from tfflops.numbers import humanize, seconds_text
from tfflops.reports.charts import Dot, roofline_svg
from tfflops.reports.text import group_rows, roofline_summary, totals_lines

# The per-layer chart shows this many layers, the most expensive first.
_LAYERS_SHOWN = 40

_STYLE = """
:root { --fg: #1f2328; --muted: #59636e; --line: #d1d9e0; --bar: #2f6fde; --bg: #fff;
        --head: #f6f8fa; }
@media (prefers-color-scheme: dark) {
  :root { --fg: #e6edf3; --muted: #9198a1; --line: #3d444d; --bar: #4493f8; --bg: #0d1117;
          --head: #151b23; }
}
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg);
       background: var(--bg); margin: 2rem auto; max-width: 72rem; padding: 0 1rem; }
h1 { font-size: 1.3rem; word-break: break-all; margin-bottom: .2rem; }
h2 { font-size: 1.05rem; margin-top: 2rem; }
.meta, .hint { color: var(--muted); }
code, td.name, td.shape { font-family: ui-monospace, SFMono-Regular, Menlo, monospace;
                          font-size: 12.5px; }
table { border-collapse: collapse; }
th, td { padding: .25rem .6rem; border-bottom: 1px solid var(--line); text-align: left;
         vertical-align: top; }
th { background: var(--head); }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.bars td.bar { width: 40%; min-width: 10rem; }
.bars .fill { background: var(--bar); height: .9rem; border-radius: 2px; min-width: 1px; }
.bars .fill.memory { background: #d1242f; } .bars .fill.overhead { background: #9a6700; }
svg.roofline { max-width: 100%; height: auto; color: var(--fg); }
#nodes th { cursor: pointer; user-select: none; position: sticky; top: 0; z-index: 1; }
td.shape { white-space: nowrap; max-width: 16rem; overflow: hidden; text-overflow: ellipsis; }
td.name { word-break: break-all; min-width: 12rem; }
.chart > section { display: none; }
#chart-flops:checked ~ #by-op, #chart-params:checked ~ #by-op-params,
#chart-bytes:checked ~ #by-op-bytes { display: block; }
.chart > label, .tools label { margin-right: 1rem; }
#show-zero:not(:checked) ~ table tr.zero { display: none; }
#only-findings:checked ~ table tbody tr:not(.finding) { display: none; }
tr.mismatch > td:first-child { box-shadow: inset 4px 0 #cf222e; }
tr.unsupported > td:first-child { box-shadow: inset 4px 0 #d4a72c; }
#filter { font: inherit; padding: .2rem .4rem; min-width: 16rem; margin-right: 1rem; }
#nodes th[aria-sort=ascending]::after { content: " ▲"; }
#nodes th[aria-sort=descending]::after { content: " ▼"; }
.status { padding: 0 .4rem; border-radius: 1rem; font-size: 12px; white-space: nowrap; }
.match { background: #dafbe1; color: #116329; }
.explained { background: #ddf4ff; color: #0a3069; }
.mismatch { background: #ffebe9; color: #a40e26; font-weight: 600; }
.unsupported { background: #fff8c5; color: #6c4400; }
td.note { color: var(--muted); max-width: 30rem; }
"""

# Sorts the node table by the clicked column (numbers by data-value, text otherwise), and
# keeps the rows whose name or op holds what is typed in the filter box.
_SCRIPT = """
document.getElementById("filter").addEventListener("input", function (event) {
  var text = event.target.value.toLowerCase();
  document.querySelectorAll("#nodes tbody tr").forEach(function (row) {
    var seen = (row.cells[0].textContent + " " + row.cells[1].textContent).toLowerCase();
    row.hidden = text !== "" && seen.indexOf(text) < 0;
  });
});
document.querySelectorAll("#nodes th").forEach(function (th, column) {
  th.addEventListener("click", function () {
    var table = th.closest("table"), body = table.tBodies[0];
    var ascending = th.getAttribute("aria-sort") !== "ascending";
    table.querySelectorAll("th").forEach(function (h) { h.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    var numeric = th.classList.contains("num");
    var key = function (row) {
      var cell = row.cells[column];
      if (!numeric) return cell.textContent;
      var v = cell.getAttribute("data-value");
      return v === "" ? -Infinity : Number(v);
    };
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = key(a), y = key(b);
      var order = numeric ? x - y : String(x).localeCompare(String(y));
      return ascending ? order : -order;
    });
    rows.forEach(function (row) { body.appendChild(row); });
  });
});
"""


def render_html(p: Profile) -> str:
    """The whole page: totals, a chart by op type (FLOPs, params or bytes), one by layer,
    the roofline (with a device), the findings, the nodes (largest first, filterable,
    sortable)."""
    u = unit(p.convention)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>tfflops: {_e(p.model)}</title>",
        f"<style>{_STYLE}</style>",
        "</head>",
        "<body>",
        f"<h1>{_e(p.model)}</h1>",
        f'<p class="meta">outputs: <code>{_e(", ".join(p.outputs))}</code> · '
        f"convention: <code>{_e(p.convention)}</code> · {u} are inference-phase</p>",
        *_totals(p),
        *_charts(p, u),
        *_by_layer(p, u),
        *_roofline(p),
        *_findings(p),
        *_nodes(p, u),
        f"<script>{_SCRIPT}</script>",
        "</body>",
        "</html>",
    ]
    return "\n".join(parts) + "\n"


def _e(text) -> str:
    return escape(str(text), quote=True)


def _totals(p: Profile) -> list[str]:
    rows = [f"<tr><th>{_e(k)}</th><td class='num'>{_e(v)}</td></tr>" for k, v in totals_lines(p)]
    return ['<section id="totals">', "<h2>Totals</h2>", "<table>", *rows, "</table>", "</section>"]


# The charts a reader picks from: (key, section id, figure, radio label).
def _chart_figures(u: str) -> list[tuple[str, str, str, str]]:
    return [
        ("flops", "by-op", u, u),
        ("params", "by-op-params", "params", "params"),
        ("bytes", "by-op-bytes", "bytes moved", "bytes moved"),
    ]


def _charts(p: Profile, u: str) -> list[str]:
    """Bars by op type of one figure at a time, picked by radio buttons (FLOPs first)."""
    figures = _chart_figures(u)
    out = ['<div class="chart">']
    for k, (key, _, _, label) in enumerate(figures):
        checked = " checked" if k == 0 else ""
        out.append(
            f'<input type="radio" name="chart" id="chart-{key}"{checked}>'
            f'<label for="chart-{key}">{_e(label)}</label>'
        )
    rows = group_rows(p, "op")
    for key, section, figure, _ in figures:
        out += _by_op(p, rows, key, section, figure)
    return [*out, "</div>"]


def _by_op(p: Profile, rows: list[dict], key: str, section: str, figure: str) -> list[str]:
    """One chart: op types by ``key``, largest first, bars scaled to the largest."""
    flops = key == "flops"
    rows = sorted(rows, key=lambda r: (-r[key], r["name"]))
    rows = [r for r in rows if r[key] or (flops and r["tfprof_flops"])]
    total = sum(r[key] for r in rows)
    widest = max((r[key] for r in rows), default=0)
    heading = f"{figure} by op type" + (f" ({_e(p.convention)})" if flops else "")
    tfprof_head = "<th class='num'>tf.profiler FLOPs</th>" if flops else ""
    out = [
        f'<section id="{section}">',
        f"<h2>{heading}</h2>",
        '<table class="bars">',
        f"<tr><th>op type</th><th class='num'>nodes</th><th>share</th>"
        f"<th class='num'>{figure}</th><th class='num'>%</th>{tfprof_head}</tr>",
    ]
    for r in rows:
        width = 100 * r[key] / widest if widest else 0
        share = f"{100 * r[key] / total:.1f}" if total else "-"
        tfprof = "-" if r["tfprof_flops"] is None else f"{r['tfprof_flops']:,}"
        out.append(
            f"<tr><td>{_e(r['name'])}</td><td class='num'>{r['count']}</td>"
            f"<td class='bar'><div class='fill' style='width:{width:.2f}%'></div></td>"
            f"<td class='num' title='{humanize(r[key])}'>{r[key]:,}</td>"
            f"<td class='num'>{share}</td>"
            + (f"<td class='num'>{tfprof}</td>" if flops else "")
            + "</tr>"
        )
    if not rows:
        out.append(f"<tr><td colspan='6'>no {figure} in the inference phase</td></tr>")
    return [*out, "</table>", "</section>"]


def _by_layer(p: Profile, u: str) -> list[str]:
    """Per layer: its nodes, FLOPs, bytes and (with a device) its estimated time, as bars
    of that time (or of the FLOPs), coloured by the bound of most of its time."""
    timed = p.device is not None
    key = "est_seconds" if timed else "flops"
    rows = sorted(group_rows(p, "layer"), key=lambda r: (-r[key], r["name"]))
    rows = [r for r in rows if r["flops"] or r["bytes"] or (timed and r["est_seconds"])]
    bounds = _layer_bounds(p) if timed else {}
    widest = max((r[key] for r in rows), default=0)
    out = [
        '<section id="by-layer">',
        f"<h2>By layer (name scope depth {p.depth})</h2>",
        '<table class="bars">',
        "<tr><th>layer</th><th class='num'>nodes</th><th>share</th>"
        f"<th class='num'>{u}</th><th class='num'>bytes moved</th>"
        "<th class='num'>est. time</th><th>bound</th></tr>",
    ]
    for r in rows[:_LAYERS_SHOWN]:
        width = 100 * r[key] / widest if widest else 0
        bound = bounds.get(r["name"], "")
        out.append(
            f"<tr><td class='name'>{_e(r['name'])}</td><td class='num'>{r['count']}</td>"
            f"<td class='bar'><div class='fill {_e(bound)}' style='width:{width:.2f}%'></div></td>"
            f"<td class='num'>{r['flops']:,}</td><td class='num'>{r['bytes']:,}</td>"
            f"<td class='num'>{_e(seconds_text(r['est_seconds']))}</td><td>{_e(bound)}</td></tr>"
        )
    if not rows:
        out.append("<tr><td colspan='7'>no layer in the inference phase does any work</td></tr>")
    elif len(rows) > _LAYERS_SHOWN:
        out.append(f"<tr><td colspan='7'>and {len(rows) - _LAYERS_SHOWN} more layers</td></tr>")
    return [*out, "</table>", "</section>"]


def _layer_bounds(p: Profile) -> dict[str, str]:
    """Each layer's bound: the one most of its estimated time is bound by."""
    seconds: dict[str, dict[str, float]] = {}
    for r in p.leaf_records():
        if r["phase"] == INFERENCE and r["bound"] is not None:
            by_bound = seconds.setdefault(r["layer"], {})
            by_bound[r["bound"]] = by_bound.get(r["bound"], 0.0) + r["est_seconds"]
    return {layer: max(b, key=b.__getitem__) for layer, b in seconds.items()}


def _roofline(p: Profile) -> list[str]:
    """The roofline of the profile's device, a dot per kernel (measured FLOP/s where
    ``measure`` ran, else estimated), and the time by bound."""
    summary = roofline_summary(p)
    if summary is None:
        return []
    measured = p.measured is not None
    dots = []
    for r in p.leaf_records():
        seconds = r["measured_seconds"] if measured else r["est_seconds"]
        if r["phase"] != INFERENCE or r["bound"] is None or not r["intensity"] or not seconds:
            continue
        full = r["intensity"] * r["bytes"]  # FLOPs under full
        dots.append((seconds, Dot(r["name"], r["intensity"], full / seconds, r["bound"])))
    dtypes = sorted({compute_dtype(row.outputs) for row in p.rows if row.phase == INFERENCE})
    dots.sort(key=lambda d: -d[0])
    what = "measured FLOP/s per node" if measured else "estimated FLOP/s per node"
    shares = ", ".join(f"{b}-bound {100 * s:.1f}%" for b, s in summary["shares"].items())
    layers = ", ".join(f"{name} ({seconds_text(s)})" for name, s in summary["memory_layers"])
    return [
        '<section id="roofline">',
        f"<h2>Roofline on {_e(p.device.name)}</h2>",
        f"<p>Estimated time {_e(seconds_text(sum(summary['seconds'].values())))}: "
        f"{_e(shares)}.{' Most time memory-bound: ' + _e(layers) + '.' if layers else ''}</p>",
        f'<p class="hint">{_e(what)}; source of the device figures: {_e(p.device.source)}</p>',
        roofline_svg([d for _, d in dots], p.device, what, dtypes or ["float32"]),
        "</section>",
    ]


def _findings(p: Profile) -> list[str]:
    out = ['<section id="findings">', "<h2>Cross-check findings</h2>"]
    statuses = ", ".join(f"{n} {_e(s)}" for s, n in sorted(p.status_counts().items()))
    out.append(f"<p>Nodes by status: {statuses or 'none'}.</p>")
    if p.notes:
        out += ["<ul>", *(f"<li>{_e(n)}</li>" for n in p.notes), "</ul>"]
    if p.unsupported_ops:
        ops = ", ".join(f"<code>{_e(op)}</code> ×{n}" for op, n in p.unsupported_ops.items())
        out.append(f"<p>Op types tfflops has no formula for: {ops}</p>")
    return [*out, "</section>"]


def _nodes(p: Profile, u: str) -> list[str]:
    head = (
        "<tr><th>node</th><th>op</th><th>phase</th>"
        f"<th class='num' aria-sort='descending'>{u}</th>"
        "<th class='num'>tf.profiler FLOPs</th>"
        "<th class='num'>params</th><th class='num'>bytes</th>"
        "<th>output shapes</th><th>status</th><th>note</th></tr>"
    )
    records = sorted(p.node_records(), key=lambda r: (-r["flops"], -r["params"], r["name"]))
    body, zero, found = [], 0, 0
    for r in records:
        tfprof = r["tfprof_flops"]
        finding = r["status"] in (MISMATCH, UNSUPPORTED)
        free = not (finding or r["flops"] or r["params"] or tfprof)
        zero += free
        found += finding
        kind = f" class='finding {r['status']}'" if finding else " class='zero'" if free else ""
        shapes = _e(_shapes(r["output_shapes"]))
        body.append(
            f"<tr{kind}><td class='name'>{_e(r['name'])}</td><td>{_e(r['op'])}</td>"
            f"<td>{_e(r['phase'])}</td>"
            f"{_num_cell(r['flops'])}{_num_cell(tfprof)}"
            f"{_num_cell(r['params'])}{_num_cell(r['bytes'])}"
            f"<td class='shape' title='{shapes}'>{shapes}</td>"
            f"<td><span class='status {_e(r['status'])}'>{_e(r['status'])}</span></td>"
            f"<td class='note'>{_e(r['note'])}</td></tr>"
        )
    return [
        '<section id="nodes">',
        f"<h2>Nodes ({len(body)})</h2>",
        '<p class="hint">Largest first; click a column header to sort.</p>',
        '<div class="tools">',
        '<input type="search" id="filter" placeholder="filter by name or op" '
        'aria-label="filter nodes by name or op">',
        '<input type="checkbox" id="show-zero">'
        f'<label for="show-zero">show the {zero} node(s) that cost nothing</label>',
        '<input type="checkbox" id="only-findings">'
        f'<label for="only-findings">only the {found} finding(s): mismatch, unsupported</label>',
        "<table>",
        f"<thead>{head}</thead>",
        "<tbody>",
        *body,
        "</tbody>",
        "</table>",
        "</div>",
        "</section>",
    ]


def _num_cell(n: int | None) -> str:
    if n is None:
        return "<td class='num' data-value=''>-</td>"
    return f"<td class='num' data-value='{n}'>{n:,}</td>"


def _shapes(shapes: list) -> str:
    """[[1, 32, 32, 8], [None, 2], []] → '[1, 32, 32, 8] [?, 2] []'; None is 'unknown'."""
    texts = []
    for shape in shapes:
        if shape is None:
            texts.append("unknown")
        else:
            texts.append("[" + ", ".join("?" if d is None else str(d) for d in shape) + "]")
    return " ".join(texts)
