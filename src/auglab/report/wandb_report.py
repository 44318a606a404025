"""The sweep as a W&B Report (the document with panels), built and saved with
wandb-workspaces' public API.

The report run (``auglab.report.wandb_run``) carries the tables as a run; a W&B user reads a
Report: panels over the sweep's own runs (found by their W&B group, which is the sweep dir's
name) and the report's tables as markdown. The tables come from ``Report.tables`` by name,
so a section added there (``tables["shift"]``...) appears here unchanged.

Online it is saved and its URL printed. Offline (``WANDB_MODE`` not ``online``, no API key,
or W&B unreachable) nothing touches the network: one line says so, and what would be
published is left in the sweep dir as ``wandb_report.json`` (the Report's public fields,
``load_report`` rebuilds it) and ``wandb_report.md`` (the same, readable). Both files are
written online too, before saving, so a failed upload leaves them behind.

It imports wandb-workspaces (and wandb): the CLI and the sweep callback import it only when
asked for.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import wandb_workspaces.reports.v2 as wr
from tabulate import tabulate
from wandb_workspaces import expr

from auglab import atomic
from auglab.errors import one_line
from auglab.report.build import Report
from auglab.report.wandb_report_file import (
    WANDB_REPORT_JSON,
    WANDB_REPORT_MD,
    readable,
    report_json,
)
from auglab.report.wandb_target import Target, offline_reason

#: The jobs' W&B job_type (conf/logger/wandb.yaml): the runset leaves out the report run.
JOB_TYPE = "train"
#: Section titles of the report's tables (report.md's headings). Tables named ``<key>_*``
#: join ``<key>``'s section; any other name becomes a section of its own, titled by it.
TITLES = {
    "accuracy": "Accuracy against size",
    "difference": "Difference to off",
    "variance": "Subset or seed",
    "learning_curve": "Learning curve of off",
    "exchange_rate": "Exchange rate",
    "head_to_head": "Head to head",
    "strength_edges": "Edge of the strength grid",
    "per_class": "Per-class effects",
    "shift": "Under shift",
}
#: report.md sections without a table (lists of jobs), carried over as text.
LISTS = ("Missing jobs", "Failed and diverged jobs")


def build(report: Report, to: Target, online: bool = False) -> wr.Report:
    """The ``wandb_workspaces`` Report of a sweep report.

    Offline (``online=False``) its runsets carry no entity, so that nothing asks the W&B
    API for the project's id. Online they name the entity, and ``save()`` looks the
    project up.
    """
    # Online without a configured entity: the API key's default entity (asks the API).
    named = {"entity": to.entity or ""} if to.entity or not online else {}
    made = wr.Report(project=to.project, title=_title(report), description=_about(to), **named)
    runset_entity = made.entity if online else ""
    sections = _sections(report.text)
    blocks: list[Any] = []
    if sections.get(""):
        blocks.append(wr.MarkdownBlock(text=sections[""]))
    for title, tables in _grouped(report.tables).items():
        name = next(iter(tables))
        body = [wr.MarkdownBlock(text=text) for text in [_prose(sections, title)] if text]
        body += _panels(report, name, to, runset_entity)
        for table, rows in tables.items():
            if not rows:
                continue
            if len(tables) > 1:
                body.append(wr.H3(text=_humanize(table)))
            body.append(wr.MarkdownBlock(text=markdown_table(rows)))
        if body:
            blocks += [wr.H2(text=title), *body]
    for heading, text in sections.items():
        if heading.startswith(LISTS):
            blocks += [wr.H2(text=heading), wr.MarkdownBlock(text=text)]
    blocks.append(
        wr.P(text=f"Made by auglab from {report.png.parent}; report.md there has the whole text.")
    )
    made.blocks = blocks
    return made


def publish(report: Report, sweep_dir: Path, to: Target) -> str | None:
    """Write ``wandb_report.json``/``.md``; online, save the Report and print its URL.
    Otherwise print one line saying why it was not published. Returns the URL, or None."""
    sweep_dir = Path(sweep_dir)
    if not to.logged:
        print(
            "auglab: warning: the sweep's jobs did not log to W&B (no WandbLogger): the "
            "W&B report's panels will show no runs",
            flush=True,
        )
    reason = offline_reason(to)
    offline = build(report, to)
    json_path = atomic.write_text(sweep_dir / WANDB_REPORT_JSON, report_json(offline))
    md_path = atomic.write_text(sweep_dir / WANDB_REPORT_MD, readable(offline, to))
    if reason is None:
        try:
            url = save(build(report, to, online=True))
        except Exception as err:  # no network, project not found, key rejected...
            reason = f"W&B could not be reached: {one_line(err)}"
        else:
            print(f"W&B report: {url}", flush=True)
            return url
    print(
        f"auglab: W&B report not published ({reason}); what it would publish is in "
        f"{md_path} and {json_path.name}",
        flush=True,
    )
    return None


def save(made: wr.Report) -> str:
    """Save the Report to W&B (the network) and return its URL."""
    made.save()
    return str(made.url)


def markdown_table(rows: Sequence[dict[str, Any]]) -> str:
    """A table of the report as markdown: plain values rounded to 4 significant digits,
    missing and non-finite ones empty."""
    columns = list(dict.fromkeys(k for row in rows for k in row))
    shown = [{c: _cell(row.get(c)) for c in columns} for row in rows]
    return tabulate(shown, headers="keys", tablefmt="github", disable_numparse=True)


def _panels(report: Report, table: str, to: Target, entity: str) -> list[wr.PanelGrid]:
    """The panel grids a section opens with, over the sweep's runs: accuracy against size,
    or per-class accuracy; none for the other sections."""
    if table == "accuracy":
        # Bars of runs grouped by setting and size: the report's cells, mean ± std error.
        cells = wr.BarPlot(
            title="test accuracy per setting and training-set size (mean ± std error)",
            metrics=["test/acc"],
            orientation="v",
            groupby_aggfunc="mean",
            groupby_rangefunc="stderr",
            layout=wr.Layout(w=24, h=8),
        )
        by_size = wr.PanelGrid(runsets=[runset(report, to, entity, by_size=True)], panels=[cells])
        panels = [
            wr.ScatterPlot(
                title="test accuracy against training-set size, by setting",
                x=wr.Config("data.size"),
                y=wr.SummaryMetric("test/acc"),
                log_x=True,
                layout=wr.Layout(w=12, h=8),
            ),
            wr.LinePlot(
                title="validation accuracy during training, by setting",
                x="Step",
                y=["val/acc"],
                groupby_aggfunc="mean",
                groupby_rangefunc="stderr",
                layout=wr.Layout(x=12, w=12, h=8),
            ),
            wr.ParallelCoordinatesPlot(
                title="every job",
                columns=[
                    wr.ParallelCoordinatesPlotColumn(metric=wr.Config(key), log=key == "data.size")
                    for key in ("data.size", *report.result.setting_keys)
                ]
                + [wr.ParallelCoordinatesPlotColumn(metric=wr.SummaryMetric("test/acc"))],
                layout=wr.Layout(y=8, w=24, h=8),
            ),
        ]
        return [wr.PanelGrid(runsets=[runset(report, to, entity)], panels=panels), by_size]
    if table == "per_class":
        n_classes = report.result.n_classes
        if not n_classes:
            return []
        panels = [
            wr.BarPlot(
                title="test accuracy per class, by setting",
                metrics=[f"test/class_acc/{c}" for c in range(n_classes)],
                orientation="v",
                groupby_aggfunc="mean",
                groupby_rangefunc="stderr",
                layout=wr.Layout(w=24, h=8),
            )
        ]
        return [wr.PanelGrid(runsets=[runset(report, to, entity)], panels=panels)]
    return []


def runset(report: Report, to: Target, entity: str = "", by_size: bool = False) -> wr.Runset:
    """The sweep's training runs: its W&B group (one per sweep dir), job_type ``train``,
    grouped by setting as the report groups them (``by_size``: and by ``data.size``)."""
    return wr.Runset(
        entity=entity,
        project=to.project,
        name=f"sweep {to.group}",
        filters=expr.And(expr.Metric("Group") == to.group, expr.Metric("JobType") == JOB_TYPE),
        groupby=[f"config.{key}" for key in report.result.setting_keys]
        + (["config.data.size"] if by_size else []),
    )


def _grouped(tables: dict[str, list[dict[str, Any]]]) -> dict[str, dict[str, list]]:
    """The report's tables by section title, in the report's order."""
    grouped: dict[str, dict[str, list]] = {}
    for name, rows in tables.items():
        grouped.setdefault(_section_title(name), {})[name] = rows
    return grouped


def _section_title(name: str) -> str:
    if name in TITLES:
        return TITLES[name]
    prefix = next((k for k in TITLES if name.startswith(k + "_")), None)
    return TITLES[prefix] if prefix else _humanize(name)


def _humanize(name: str) -> str:
    return name.replace("_", " ").capitalize()


def _sections(text: str) -> dict[str, str]:
    """report.md by ``## `` heading; ``""``: what comes before the first, less the title."""
    sections: dict[str, list[str]] = {"": []}
    current = ""
    for line in text.splitlines():
        if line.startswith("## "):
            current = line[3:].strip()
            sections[current] = []
        elif not line.startswith("# "):
            sections[current].append(line)
    return {k: _prose_of("\n".join(v)) for k, v in sections.items()}


def _prose(sections: dict[str, str], title: str) -> str:
    """The text of report.md's section of that title (the W&B section's why), if any."""
    if title == TITLES["accuracy"]:
        return ""  # report.md's opening text, already at the top
    return next((text for heading, text in sections.items() if heading.startswith(title)), "")


def _prose_of(body: str) -> str:
    """A section without its tables and images (those come from the tables, as panels)."""
    kept = [line for line in body.splitlines() if not line.startswith(("|", "!["))]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(kept)).strip()


def _cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return ""
    text = f"{value:.4g}" if isinstance(value, float) else str(value)
    return text.replace("|", "\\|")


def _title(report: Report) -> str:
    return f"Sweep report: {report.png.parent.name}"[:128]


def _about(to: Target) -> str:
    return (
        "What each augmentation setting is worth, at which training-set size: the runs of "
        f"W&B group {to.group}."
    )
