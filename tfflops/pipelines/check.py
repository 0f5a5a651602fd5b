"""Budgets and baselines for CI: what ``tfflops check`` computes, decides and writes.

A model's *figures* are four inference-phase totals — ``flops`` under the run's
convention, ``macs`` (always the ``macs`` convention), ``params`` and ``bytes`` — and the
same per op type. Each figure is a check: it fails when it is over its budget, or when it
grew past the tolerance since the baseline; shrinking is reported, never failed. A
cross-check finding named in ``fail_on`` is a check too.

Baselines are keyed by the model's file name; models of one run that share a file name
(``a/saved_model.pb``, ``b/saved_model.pb``) get as many trailing path components as
tell them apart, and a model is looked up by the longest trailing part of its path that
the baseline holds — so a baseline keeps working whatever directory CI runs from.
"""

from __future__ import annotations

import glob
import json
import math
import os
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from tfflops.analysis.conventions import check_convention, unit
from tfflops.errors import TfflopsError
from tfflops.files import check_regular, exclusive_lock, write_atomic
from tfflops.graph.phases import INFERENCE
from tfflops.numbers import exact_number
from tfflops.pipelines.limits import DEFAULT_TIMEOUT, FIGURES, FINDINGS
from tfflops.pipelines.open import input_files, option_files
from tfflops.pipelines.workers import Failure, run_isolated
from tfflops.tf import require_tensorflow
from tfflops.tf.tfprof import PURPOSE as TFPROF_PURPOSE

MODEL_SUFFIXES = (".pb", ".pbtxt", ".meta", ".keras")
BASELINE_FORMAT = 1

_NODES_NAMED = 3  # nodes a finding names before "… N more" (profile's JSON has them all)
_FINDING_WORDS = {
    "mismatch": "where tfflops and tf.profiler disagree",
    "unsupported": "of op types tfflops has no formula for",
    "unknown-shape": "not counted, their shapes unknown",
}


def figure_label(figure: str, convention: str) -> str:
    """How a figure is named to people: 'FLOPs (tfprof)', 'MACs', 'params', 'bytes moved'."""
    if figure == "flops":
        return f"{unit(convention)} ({convention})"
    return {"macs": "MACs", "params": "params", "bytes": "bytes moved"}[figure]


# ---------------------------------------------------------------- models and measuring


def expand_models(args: Sequence[str]) -> list[str]:
    """Paths, directories and globs → model paths, once each.

    A directory gives every model below it: ``*.pb``, ``*.pbtxt``, ``*.meta`` and
    ``*.keras`` files, and SavedModel directories (one model each, whatever they hold).
    A ``.h5`` file is taken only when named: it may hold weights alone.
    """
    found: list[str] = []
    for arg in args:
        path = Path(arg)
        if _is_saved_model_dir(path):
            found.append(arg)  # a SavedModel: one model, whatever else its directory holds
        elif path.is_dir():
            files = _models_below(path)
            if not files:
                raise TfflopsError(
                    f"{arg}: is a directory with no model ({', '.join(MODEL_SUFFIXES)} file "
                    "or SavedModel) below it"
                )
            found += files
        elif not path.exists() and glob.has_magic(arg):
            files = sorted(
                p
                for p in glob.glob(arg, recursive=True)
                if Path(p).is_file() or _is_saved_model_dir(Path(p))
            )
            if not files:
                raise TfflopsError(f"{arg}: no file matches")
            found += files
        else:
            found.append(arg)  # the loader names a missing or unreadable file
    seen: set[str] = set()
    unique = []
    for p in found:
        if os.path.abspath(p) not in seen:
            seen.add(os.path.abspath(p))
            unique.append(p)
    return unique


def _is_saved_model_dir(path: Path) -> bool:
    return path.is_dir() and (path / "saved_model.pb").is_file()


def _models_below(folder: Path) -> list[str]:
    """The model files and SavedModel directories below ``folder``, sorted by path."""
    models = []
    for root, dirs, files in os.walk(folder):
        here = Path(root)
        saved = [d for d in dirs if _is_saved_model_dir(here / d)]
        models += [str(here / d) for d in saved]
        dirs[:] = sorted(d for d in dirs if d not in saved and not d.startswith("."))
        models += [str(here / f) for f in files if Path(f).suffix in MODEL_SUFFIXES]
    return sorted(models)


def model_keys(models: Sequence[str]) -> list[str]:
    """Each model's baseline key: its file name, or the fewest trailing path components
    that tell it apart from the run's other models."""
    parts = [_trailing_parts(m) for m in models]
    keys = []
    for mine in parts:
        n = 1
        while n < len(mine) and any(
            other is not mine and other[-n:] == mine[-n:] for other in parts
        ):
            n += 1
        keys.append("/".join(mine[-n:]))
    return keys


def _trailing_parts(model: str) -> tuple[str, ...]:
    path = Path(os.path.abspath(model))  # abspath, not resolve: a symlink keeps its name
    return path.parts[1:] if path.anchor else path.parts


@dataclass(frozen=True)
class Measurement:
    """One model's figures, in total and per op type (inference phase), and its findings.

    ``findings`` maps each of ``FINDINGS`` to the nodes concerned.
    """

    model: str
    convention: str
    outputs: tuple[str, ...]
    totals: Mapping[str, int]
    op_types: Mapping[str, Mapping[str, int]]
    findings: Mapping[str, tuple[str, ...]]
    est_seconds: float | None = None  # on ``device``, when checked with one
    device: str | None = None


def measurement_of(p) -> Measurement:
    """A Profile's figures: flops under its convention, macs under ``macs``, params, bytes."""
    from tfflops.analysis.profile import cannot_count

    op_types: dict[str, dict[str, int]] = {}
    unsupported, unknown = [], []
    for r in p.rows:
        if r.phase != INFERENCE:
            continue
        figures = op_types.setdefault(r.op, dict.fromkeys(FIGURES, 0))
        figures["flops"] += p.flops_of(r)
        figures["macs"] += p.flops_of(r, "macs")
        figures["params"] += r.params
        figures["bytes"] += r.bytes
        if r.cost is None:
            (unsupported if cannot_count(r.op) else unknown).append(r.name)
        # A function call is counted even when some of its body is not: those count too.
        unsupported += [f"{r.name}/{op}" for op in r.inner_unsupported]
        unknown += list(r.inner_unknown)
    totals = {f: sum(figures[f] for figures in op_types.values()) for f in FIGURES}
    return Measurement(
        model=p.model,
        convention=p.convention,
        outputs=tuple(p.outputs),
        totals=totals,
        op_types={op: f for op, f in sorted(op_types.items()) if any(f.values())},
        findings={
            "mismatch": tuple(p.mismatches()),
            "unsupported": tuple(unsupported),
            "unknown-shape": tuple(unknown),
        },
        est_seconds=p.totals["est_seconds"],
        device=p.totals["device"],
    )


def measure(
    model: str,
    outputs: Sequence[str] | str | None = None,
    input_shapes: Mapping[str, Sequence[int | None]] | None = None,
    convention: str = "tfprof",
    tfprof: bool = True,
    signature: str | None = None,
    tag_set: str | None = None,
    formulas: Sequence[str] = (),
    device=None,
) -> Measurement:
    """Profile one model and keep only what ``check`` compares (small, picklable).

    ``signature`` and ``tag_set`` apply to a SavedModel, and are left aside for the other
    models a folder holds. ``formulas`` are files of custom op formulas, imported once per
    process (a worker's too).
    """
    from tfflops.graph.loader import is_saved_model
    from tfflops.pipelines.formulas import load_formulas
    from tfflops.pipelines.profile import profile

    load_formulas(formulas)
    saved = is_saved_model(model)
    p = profile(
        model,
        outputs,
        dict(input_shapes or {}),
        convention,
        tfprof,
        signature=signature if saved else None,
        tag_set=tag_set if saved else None,
        device=device,
    )
    return measurement_of(p)


def measure_models(
    models: Sequence[str],
    jobs: int = 1,
    progress: Callable[[int, int, Measurement | Failure], None] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    **options,
) -> list[Measurement | Failure]:
    """``measure`` every model in worker processes, ``jobs`` at a time; results in input
    order.

    A model that cannot be measured — unreadable, its worker killed or out of memory, or
    still running after ``timeout`` seconds — gets a Failure saying why, and every other
    model is still measured (``tfflops.pipelines.workers``). ``progress(done, total,
    result)`` is called as each result arrives, in input order.
    """
    return run_isolated(partial(measure, **options), models, jobs, timeout, progress)


# ---------------------------------------------------------------- baselines


@dataclass(frozen=True)
class Baseline:
    """A baseline file: per model key, totals and per-op-type figures."""

    convention: str
    version: str
    models: Mapping[str, Mapping]  # key → {"outputs", "totals", "op_types"}

    def entry_key(self, model: str) -> str | None:
        """The key of ``model``'s entry: the longest trailing part of its path held here."""
        parts = _trailing_parts(model)
        for n in range(len(parts), 0, -1):
            key = "/".join(parts[-n:])
            if key in self.models:
                return key
        return None


def read_baseline(path: str | os.PathLike) -> Baseline:
    """Parse and validate a baseline file; every problem is a TfflopsError naming it."""
    where = f"`baseline` {path}"
    try:
        check_regular(path, where)
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TfflopsError(f"{where}: no such file (write one with `update_baseline`)") from None
    except UnicodeDecodeError:
        raise TfflopsError(f"{where}: not a baseline (a JSON text file); a model?") from None
    except OSError as e:
        raise TfflopsError(f"{where}: cannot read: {e.strerror or e}") from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        raise TfflopsError(f"{where}: not JSON ({e})") from None
    except RecursionError:  # the parser recurses once per [ or {
        raise TfflopsError(f"{where}: not a tfflops baseline (JSON nested too deeply)") from None
    if not isinstance(doc, dict) or doc.get("tfflops_baseline") != BASELINE_FORMAT:
        raise TfflopsError(f"{where}: not a tfflops baseline (format {BASELINE_FORMAT})")
    models = doc.get("models")
    convention = doc.get("convention")
    if not isinstance(models, dict) or not isinstance(convention, str):
        raise TfflopsError(f"{where}: malformed: needs 'convention' and 'models'")
    check_convention(convention)
    for key, entry in models.items():
        totals = entry.get("totals") if isinstance(entry, dict) else None
        op_types = entry.get("op_types", {}) if isinstance(entry, dict) else None
        if (
            not isinstance(totals, dict)
            or not all(_is_count(totals.get(f)) for f in FIGURES)
            or not isinstance(op_types, dict)
            or not all(
                isinstance(v, dict) and all(_is_count(n) for n in v.values())
                for v in op_types.values()
            )
        ):
            raise TfflopsError(f"{where}: malformed entry {key!r}: totals {', '.join(FIGURES)}")
    return Baseline(convention, str(doc.get("tfflops_version", "?")), models)


def _is_count(value) -> bool:
    return type(value) is int and value >= 0


def baseline_entry(m: Measurement) -> dict:
    return {
        "outputs": list(m.outputs),
        "totals": dict(m.totals),
        "op_types": {op: dict(f) for op, f in m.op_types.items()},
    }


def write_baseline(
    path: str | os.PathLike,
    measurements: Sequence[Measurement],
    keys: Sequence[str],
    convention: str,
    protect: Collection[str | os.PathLike] = (),
) -> None:
    """Write (atomically) the baseline of ``measurements``, keeping other models' entries.

    An existing file must be a valid baseline under the same convention. The file is
    read, merged and written under an exclusive lock: two runs updating one baseline at
    once (CI jobs of one pipeline) each keep the other's entries.
    """
    with exclusive_lock(path, "baseline"):
        text = _merged_baseline(path, measurements, keys, convention)
        write_atomic(path, text, protect=protect, argument="baseline")


def _merged_baseline(path, measurements, keys, convention) -> str:
    from tfflops.version import __version__

    models: dict[str, Mapping] = {}
    if Path(path).exists():
        old = read_baseline(path)
        if old.convention != convention:
            raise TfflopsError(
                f"`baseline` {path}: counts FLOPs under {old.convention!r}, this run under "
                f"{convention!r}; pass `convention` {old.convention} or delete the file"
            )
        models = dict(old.models)
        for m in measurements:
            stale = old.entry_key(m.model)
            if stale is not None:
                models.pop(stale, None)
    for m, key in zip(measurements, keys, strict=True):
        models[key] = baseline_entry(m)
    doc = {
        "tfflops_baseline": BASELINE_FORMAT,
        "tfflops_version": __version__,
        "convention": convention,
        "models": dict(sorted(models.items())),
    }
    return json.dumps(doc, indent=1, sort_keys=True) + "\n"


# ---------------------------------------------------------------- checking


@dataclass(frozen=True)
class Check:
    """One figure of one model against its budget and baseline, or one finding.

    Also one JUnit test case. ``failures`` say why it failed; ``remarks`` are reported
    without failing (a figure that shrank or grew within the tolerance, a finding not
    in ``fail_on``).
    """

    name: str  # a figure, a finding, or "baseline"
    label: str
    value: int | None
    budget: int | None = None
    baseline: int | None = None
    failures: tuple[str, ...] = ()
    remarks: tuple[str, ...] = ()

    @property
    def passed(self) -> bool:
        return not self.failures


@dataclass(frozen=True)
class ModelResult:
    """Every check of one model, or the ``error`` that kept it from being measured (then
    ``measurement`` is None and there are no checks)."""

    model: str
    key: str
    measurement: Measurement | None
    checks: tuple[Check, ...]
    error: str | None = None

    @property
    def passed(self) -> bool:
        return self.error is None and all(c.passed for c in self.checks)

    @property
    def failures(self) -> list[str]:
        return [f for c in self.checks for f in c.failures]

    @property
    def remarks(self) -> list[str]:
        return [r for c in self.checks for r in c.remarks]

    def check(self, name: str) -> Check:
        return next(c for c in self.checks if c.name == name)


@dataclass(frozen=True)
class CheckRun:
    """The results of one ``tfflops check`` run, in input order, and what they were against."""

    results: tuple[ModelResult, ...]
    convention: str
    budgets: Mapping[str, int] = field(default_factory=dict)
    baseline_path: str | None = None
    tolerance: float = 0.0
    unmatched: tuple[str, ...] = ()  # baseline entries no model of this run matched

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.results)

    @property
    def failed(self) -> list[ModelResult]:
        """The models measured that failed a check."""
        return [r for r in self.results if r.error is None and not r.passed]

    @property
    def errors(self) -> list[ModelResult]:
        """The models that could not be measured."""
        return [r for r in self.results if r.error is not None]


def evaluate(
    m: Measurement,
    key: str,
    budgets: Mapping[str, int] | None = None,
    baseline: Baseline | None = None,
    tolerance: float = 0.0,
    fail_on: Collection[str] = (),
    baseline_path: str = "the baseline",
) -> ModelResult:
    """Check one measurement against budgets, a baseline and the findings in ``fail_on``."""
    budgets = budgets or {}
    entry = None
    checks = []
    if baseline is not None:
        entry_key = baseline.entry_key(m.model)
        if entry_key is None:
            missing = f"{key}: not in {baseline_path} (add it with --update-baseline)"
            checks.append(Check("baseline", "baseline", None, failures=(missing,)))
        else:
            entry = baseline.models[entry_key]
    for figure in FIGURES:
        label = figure_label(figure, m.convention)
        value = m.totals[figure]
        budget = budgets.get(figure)
        failures, remarks = [], []
        if budget is not None and value > budget:
            failures.append(
                f"{label} {exact_number(value)} is over the budget {exact_number(budget)} "
                f"by {value - budget:,} ({percent(value - budget, budget)})"
            )
        old = None
        if entry is not None:
            old = entry["totals"][figure]
            growth = _growth(label, figure, m, entry, tolerance, baseline.version)
            if growth and _over(value, old, tolerance):
                failures.append(growth)
            elif growth:
                remarks.append(growth)
        checks.append(Check(figure, label, value, budget, old, tuple(failures), tuple(remarks)))
    for finding in FINDINGS:
        nodes = m.findings[finding]
        if finding not in fail_on and not nodes:
            continue
        failures, remarks = (), ()
        if nodes:
            more = len(nodes) - _NODES_NAMED
            shown = ", ".join(nodes[:_NODES_NAMED]) + (f", … {more} more" if more > 0 else "")
            text = f"{len(nodes)} node(s) {_FINDING_WORDS[finding]}: {shown}"
            # a figure that leaves nodes out never passes in silence
            if finding in fail_on:
                failures = (text,)
            else:
                remarks = (f"{text} (--fail-on {finding} fails on it)",)
        checks.append(Check(finding, finding, len(nodes), failures=failures, remarks=remarks))
    return ModelResult(m.model, key, m, tuple(checks))


def _over(value: int, old: int, tolerance: float) -> bool:
    """Did ``old`` → ``value`` grow by more than ``tolerance`` percent (any growth from 0)?"""
    return value > old and (old == 0 or (value - old) * 100 > tolerance * old)


def _growth(label, figure, m: Measurement, entry, tolerance, version) -> str | None:
    """What changed in ``figure`` since the baseline, with the op types that moved most."""
    from tfflops.version import __version__

    old, new = entry["totals"][figure], m.totals[figure]
    if old == new:
        return None
    delta = new - old
    verb = "grew" if delta > 0 else "shrank"
    text = f"{label} {verb} by {abs(delta):,} ({percent(delta, old)}): {old:,} → {new:,}"
    if delta > 0:
        limit = "over" if _over(new, old, tolerance) else "within"
        text += f", {limit} the {tolerance:g}% tolerance"
    old_ops = entry.get("op_types", {})
    moves = []
    for op in set(old_ops) | set(m.op_types):
        before = old_ops.get(op, {}).get(figure, 0)
        after = m.op_types.get(op, {}).get(figure, 0)
        if (after - before) * delta > 0:  # moved the same way as the total
            moves.append((-abs(after - before), op, after - before, op not in old_ops))
    if moves:
        most = ", ".join(
            f"{op} {d:+,}" + (" (new op type)" if new_op else "")
            for _, op, d, new_op in sorted(moves)[:3]
        )
        text += f"; most {'growth' if delta > 0 else 'shrinkage'}: {most}"
    if delta < 0:
        text += " (run --update-baseline to lock it in)"
    if version != __version__:
        text += f" [baseline written by tfflops {version}, this is {__version__}]"
    return text


def percent(delta: int, base: int) -> str:
    if base == 0:
        return "new" if delta else "+0%"
    pct = 100 * delta / base
    text = f"{pct:+.1f}%"
    return text if float(text[:-1]) or not delta else f"{pct:+.2g}%"


def run_checks(
    models: Sequence[str],
    budgets: Mapping[str, int] | None = None,
    baseline: str | os.PathLike | None = None,
    tolerance: float = 0.0,
    fail_on: Collection[str] = (),
    update_baseline: bool = False,
    jobs: int = 1,
    on_result: Callable[[ModelResult, int, int], None] | None = None,
    timeout: float | None = None,
    outputs: Sequence[str] | str | None = None,
    input_shapes: Mapping[str, Sequence[int | None]] | None = None,
    convention: str = "tfprof",
    tfprof: bool = True,
    signature: str | None = None,
    tag_set: str | None = None,
    formulas: Sequence[str] = (),
    device=None,
) -> CheckRun:
    """Measure ``models`` and check them; with ``update_baseline``, (re)write the baseline
    instead of comparing with it. Usage errors raise TfflopsError before anything runs; a
    model that cannot be measured is a result with an ``error`` (see ``measure_models``;
    ``timeout`` None is ``DEFAULT_TIMEOUT``), and its baseline entry, if any, stays as it
    was.

    ``on_result(result, k, total)`` gets each model's result as soon as it is checked
    (in input order), so that a CI log shows progress. ``device`` (a Device or a built-in
    profile's name) adds each model's estimated time.
    """
    convention = check_convention(convention)
    budgets = dict(budgets or {})
    unknown = set(budgets) - set(FIGURES) or set(fail_on) - set(FINDINGS)
    if unknown:
        raise TfflopsError(f"unknown budget or finding: {', '.join(sorted(unknown))}")
    if tolerance < 0 or not math.isfinite(tolerance):
        raise TfflopsError(f"`tolerance` {tolerance:g}: must be a finite percentage, not negative")
    if update_baseline and baseline is None:
        raise TfflopsError("`update_baseline` needs `baseline` FILE")
    if "mismatch" in fail_on and not tfprof:
        raise TfflopsError("`fail_on` mismatch needs tf.profiler: drop `tfprof=False`")
    if jobs < 1:
        raise TfflopsError(f"`jobs` {jobs}: must be at least 1")
    if timeout is not None and (not timeout > 0 or not math.isfinite(timeout)):
        raise TfflopsError(f"`timeout` {timeout:g}: must be a positive number of seconds")
    if not budgets and baseline is None and not fail_on:
        raise TfflopsError("nothing to check: give `budgets`, a `baseline` or `fail_on`")
    if tfprof:  # told once, not by every model's worker
        require_tensorflow(TFPROF_PURPOSE)
    if not models:
        raise TfflopsError("no models given")
    old = None
    # Read before measuring, even to rewrite it: a bad file stops the run before any
    # model's line is printed.
    if baseline is not None and (not update_baseline or Path(baseline).exists()):
        old = read_baseline(baseline)
        if old.convention != convention:
            raise TfflopsError(
                f"`baseline` {baseline}: counts FLOPs under {old.convention!r}, this run "
                f"under {convention!r}; pass `convention` {old.convention}"
                + (" or delete the file" if update_baseline else "")
            )
    if update_baseline:
        old = None  # rewritten, not compared with
    keys = model_keys(models)
    results: list[ModelResult] = []

    def check_one(done: int, total: int, m: Measurement | Failure) -> None:
        model, key = models[done - 1], keys[done - 1]
        if isinstance(m, Failure):
            results.append(ModelResult(model, key, None, (), error=m.message))
        else:
            results.append(evaluate(m, key, budgets, old, tolerance, fail_on, str(baseline)))
        if on_result:
            on_result(results[-1], done, total)

    measurements = measure_models(
        models,
        jobs,
        check_one,
        DEFAULT_TIMEOUT if timeout is None else timeout,
        outputs=outputs,
        input_shapes=input_shapes,
        convention=convention,
        tfprof=tfprof,
        signature=signature,
        tag_set=tag_set,
        formulas=tuple(formulas),
        device=device,
    )
    measured = [i for i, m in enumerate(measurements) if not isinstance(m, Failure)]
    if update_baseline and measured:
        write_baseline(
            baseline,
            [measurements[i] for i in measured],
            [keys[i] for i in measured],
            convention,
            protect=[*input_files(*models), *option_files(formulas, device)],
        )
    compared_with = None if baseline is None or update_baseline else str(baseline)
    unmatched = ()
    if old is not None:
        matched = {old.entry_key(m) for m in models}
        unmatched = tuple(k for k in old.models if k not in matched)
    return CheckRun(tuple(results), convention, budgets, compared_with, tolerance, unmatched)
