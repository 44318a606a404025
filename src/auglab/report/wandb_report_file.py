"""The W&B Report as files, without the network: ``wandb_report.json``, the Report's public
fields (each block and panel by its ``wandb_workspaces.reports.v2`` class name), which
``load_report`` turns back into the same Report through its public constructors; and
``wandb_report.md``, the same for a reader (``readable``)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import wandb_workspaces.reports.v2 as wr

from auglab.report.wandb_target import Target

WANDB_REPORT_JSON, WANDB_REPORT_MD = "wandb_report.json", "wandb_report.md"
#: The key naming each object's class in ``wandb_report.json``.
TYPE = "type"


def report_json(made: wr.Report) -> str:
    """The Report as JSON: its public fields, and those of every block, panel and runset."""
    return json.dumps(_encode(made), indent=2, ensure_ascii=False) + "\n"


def load_report(path: Path) -> wr.Report:
    """The Report ``report_json`` wrote, rebuilt without the network (``save()`` publishes it)."""
    made = _decode(json.loads(Path(path).read_text()))
    if not isinstance(made, wr.Report):
        raise ValueError(f"{path} holds no W&B Report")
    return made


def _encode(value: Any) -> Any:
    """Public fields of wandb-workspaces' objects as dicts named by their class; the rest as is."""
    if isinstance(value, list | tuple):
        return [_encode(v) for v in value]
    if isinstance(value, dict):
        return {k: _encode(v) for k, v in value.items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        name = type(value).__name__
        if getattr(wr, name, None) is not type(value):
            raise TypeError(f"{name} is not a public class of wandb_workspaces.reports.v2")
        fields = [
            f.name for f in dataclasses.fields(value) if f.init and not f.name.startswith("_")
        ]
        return {TYPE: name, **{f: _encode(getattr(value, f)) for f in fields}}
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if isinstance(value, dict):
        fields = {k: _decode(v) for k, v in value.items() if k != TYPE}
        name = value.get(TYPE)
        return getattr(wr, name)(**fields) if isinstance(name, str) else fields
    return value


def readable(made: wr.Report, to: Target) -> str:
    """The Report as markdown: its text blocks as they are, each panel grid described."""
    entity = to.entity or "your default entity"
    lines = [
        f"# {made.title}",
        "",
        f"W&B Report for project `{to.project}` ({entity}): {made.description}",
        "",
    ]
    for block in made.blocks:
        if isinstance(block, wr.H2 | wr.H3):
            lines += [f"{'##' if isinstance(block, wr.H2) else '###'} {block.text}", ""]
        elif isinstance(block, wr.MarkdownBlock | wr.P):
            lines += [str(block.text), ""]
        elif isinstance(block, wr.PanelGrid):
            for runset in block.runsets:
                grouped = ", ".join(runset.groupby) or "nothing"
                lines.append(
                    f"Panels over the runs where `{runset.filters}`, grouped by {grouped}:"
                )
            lines += [f"- {_describe(panel)}" for panel in block.panels]
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _describe(panel: Any) -> str:
    """``ScatterPlot "title": x data.size; y test/acc``: a panel in one line."""
    fields = []
    for axis in ("x", "y", "metrics", "columns"):
        value = getattr(panel, axis, None)
        if value:
            values = value if isinstance(value, list) else [value]
            fields.append(f"{axis} {', '.join(_metric_name(v) for v in values)}")
    return f'{type(panel).__name__} "{panel.title}": ' + "; ".join(fields)


def _metric_name(metric: Any) -> str:
    """``data.size`` for a config key, summary metric, history metric or parallel column."""
    metric = getattr(metric, "metric", metric)
    return str(getattr(metric, "name", metric))
