"""A ``tfflops check`` run → text for a terminal (a model's lines as it is done, then the
verdict), Markdown for a pull request, JUnit XML."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from tfflops.numbers import humanize, seconds_text
from tfflops.pipelines.check import FIGURES, CheckRun, ModelResult, figure_label, percent
from tfflops.reports.layout import PLAIN, Screen, markdown_text, shorten_middle, wrap, wrap_items
from tfflops.reports.layout import markdown_code as _md


def render_result(
    r: ModelResult, k: int, total: int, convention: str, screen: Screen = PLAIN
) -> str:
    """One model's lines, ``[k/total]`` in its first: the verdict, its figures, its
    failures (✗) and remarks (·) — printed as the model is done, for a CI log. A model
    that could not be checked: ERROR and why."""
    figures = [
        f"{humanize(c.value)} {figure_label(c.name, convention)}"
        for c in r.checks
        if c.name in FIGURES
    ]
    verdict = "ERROR" if r.error is not None else "PASS" if r.passed else "FAIL"
    counter = f" [{k}/{total}] "
    model = shorten_middle(r.model, screen.width - len(verdict) - len(counter))
    line = f"{verdict}{counter}{model}"
    painted = screen.paint(verdict, "pass" if r.passed else "fail") + line[len(verdict) :]
    inline = " · ".join(figures)
    if not figures:
        out = [painted]
    elif len(line) + 2 + len(inline) <= screen.width:
        out = [f"{painted}  {inline}"]
    else:
        out = [painted, *wrap_items(figures, screen.width, "      ", sep=" · ")]
    m = r.measurement
    if m is not None and m.est_seconds is not None:
        estimate = f"est. {seconds_text(m.est_seconds)} on {m.device} (roofline)"
        out += wrap(estimate, screen.width, "      ")
    for failure in [r.error] if r.error is not None else r.failures:
        out += [screen.paint(text, "fail") for text in wrap(failure, screen.width, "      ✗ ")]
    for remark in r.remarks:
        out += wrap(remark, screen.width, "      · ")
    return "\n".join(out) + "\n"


def render_verdict(run: CheckRun, screen: Screen = PLAIN) -> str:
    """The last lines: baseline entries no model matched, then how many models could not
    be checked and how many failed, or that all passed."""
    out = wrap(unmatched_remark(run), screen.width, "· ") if run.unmatched else []
    verdict = _verdict(run)
    out.append(screen.paint(verdict, "pass" if run.passed else "fail"))
    return "\n".join(out) + "\n"


def _verdict(run: CheckRun) -> str:
    """'2 models passed', '1 of 2 models failed', '1 of 3 models could not be checked; ...'."""
    total = len(run.results)
    noun = "model" if total == 1 else "models"
    parts = []
    if run.errors:
        parts.append(f"{len(run.errors)} of {total} {noun} could not be checked")
    if run.failed:
        parts.append(f"{len(run.failed)} of {total} {noun} failed")
    return "; ".join(parts) or f"{total} {noun} passed"


def render_markdown(run: CheckRun) -> str:
    """A summary fit for a pull-request comment or ``$GITHUB_STEP_SUMMARY``."""
    verdict = f"{'✅' if run.passed else '❌'} {_verdict(run)}"
    against = [f"convention `{run.convention}`"]
    if run.budgets:
        budgets = ", ".join(
            f"{figure_label(f, run.convention)} ≤ {run.budgets[f]:,}"
            for f in FIGURES
            if f in run.budgets
        )
        against.append(f"budgets: {budgets}")
    if run.baseline_path:
        against.append(f"baseline `{_md(run.baseline_path)}`, tolerance {run.tolerance:g}%")
    labels = [figure_label(f, run.convention) for f in FIGURES]
    out = [
        f"### tfflops check: {verdict}",
        "",
        " · ".join(against),
        "",
        "| | model | " + " | ".join(labels) + " |",
        "|---|---|" + "---:|" * len(FIGURES),
    ]
    for r in run.results:
        if r.error is not None:
            out.append(f"| ⚠️ | `{_md(r.key)}` | " + " | ".join("—" for _ in FIGURES) + " |")
            continue
        cells = []
        for figure in FIGURES:
            c = r.check(figure)
            cell = f"{c.value:,}"
            if c.baseline is not None and c.baseline != c.value:
                cell += f" ({percent(c.value - c.baseline, c.baseline)})"
            cells.append(f"**{cell}**" if c.failures else cell)
        mark = "✅" if r.passed else "❌"
        out.append(f"| {mark} | `{_md(r.key)}` | " + " | ".join(cells) + " |")
    if run.errors:
        out += ["", "#### Not checked", ""]
        out += [f"- `{_md(r.key)}`: {markdown_text(r.error)}" for r in run.errors]
    if run.failed:
        out += ["", "#### Failures", ""]
        out += [f"- `{_md(r.key)}`: {markdown_text(f)}" for r in run.failed for f in r.failures]
    remarks = [(r, x) for r in run.results for x in r.remarks]
    if remarks:
        out += ["", "#### Within limits", ""]
        out += [f"- `{_md(r.key)}`: {markdown_text(x)}" for r, x in remarks]
    if run.unmatched:
        out += [
            "",
            "#### Baseline entries without a model",
            "",
            f"- {_md(unmatched_remark(run))}",
        ]
    return "\n".join(out) + "\n"


def unmatched_remark(run: CheckRun) -> str:
    """The baseline entries no model of the run matched: gone, renamed, or not given."""
    return (
        f"{len(run.unmatched)} baseline entr{'y' if len(run.unmatched) == 1 else 'ies'} "
        f"without a model in this run: {', '.join(run.unmatched)} (removed or renamed? "
        f"delete {'it' if len(run.unmatched) == 1 else 'them'} from {run.baseline_path})"
    )


def render_junit(run: CheckRun) -> str:
    """JUnit XML: a test suite per model, a test case per figure (and finding)."""
    root = ET.Element(
        "testsuites",
        name="tfflops check",
        tests=str(sum(len(r.checks) for r in run.results) + len(run.errors)),
        failures=str(sum(not c.passed for r in run.results for c in r.checks)),
        errors=str(len(run.errors)),
    )
    for r in run.results:
        if r.error is not None:
            _junit_error(root, r)
            continue
        suite = ET.SubElement(
            root,
            "testsuite",
            name=r.model,
            tests=str(len(r.checks)),
            failures=str(sum(not c.passed for c in r.checks)),
            errors="0",
            skipped="0",
        )
        props = ET.SubElement(suite, "properties")
        for name, value in (("key", r.key), ("convention", run.convention)):
            ET.SubElement(props, "property", name=name, value=value)
        for c in r.checks:
            case = ET.SubElement(suite, "testcase", classname=r.key, name=c.name)
            if c.failures:
                failure = ET.SubElement(case, "failure", message=c.failures[0], type=c.name)
                failure.text = "\n".join(c.failures)
            details = [f"{c.label}: {'-' if c.value is None else f'{c.value:,}'}"]
            if c.budget is not None:
                details.append(f"budget: {c.budget:,}")
            if c.baseline is not None:
                details.append(f"baseline: {c.baseline:,}")
            details += c.remarks
            ET.SubElement(case, "system-out").text = "\n".join(details)
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, "unicode") + "\n"


def _junit_error(root: ET.Element, r: ModelResult) -> None:
    """A model that could not be measured: one test case, ``measure``, in error."""
    suite = ET.SubElement(
        root, "testsuite", name=r.model, tests="1", failures="0", errors="1", skipped="0"
    )
    case = ET.SubElement(suite, "testcase", classname=r.key, name="measure")
    ET.SubElement(case, "error", message=r.error, type="error").text = r.error
