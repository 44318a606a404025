"""The sweep's W&B Report (wandb-workspaces): its panels over the sweep's runs by W&B group,
the report's tables by name (a new one is a new section), offline files without the network,
publishing online, the CLI flag and the sweep callback's option. Generated records only."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import wandb_workspaces.reports.v2 as wr
from omegaconf import OmegaConf

from auglab.end_of_sweep import EndOfSweep
from auglab.report import make_report
from auglab.report import wandb_report as wandb_report_module
from auglab.report import wandb_target as wandb_target_module
from auglab.report.cli import main
from auglab.report.wandb_report import build, publish
from auglab.report.wandb_report_file import (
    WANDB_REPORT_JSON,
    WANDB_REPORT_MD,
    load_report,
    report_json,
)
from auglab.report.wandb_target import Target
from tests.test_report import finished_job, grid_sweep, plan

CLASSES = ["zero", "one", "two"]


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Any TCP connection or name lookup fails the test: offline means offline."""
    connect = socket.socket.connect

    def guarded(sock, address):
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            raise AssertionError(f"network used: {address}")
        return connect(sock, address)

    def lookup(*args, **kwargs):
        raise AssertionError(f"network used: {args[:2]}")

    monkeypatch.setattr(socket.socket, "connect", guarded)
    monkeypatch.setattr(socket, "getaddrinfo", lookup)
    monkeypatch.delenv("WANDB_MODE", raising=False)  # auglab's default: offline


def class_sweep(sweep: Path) -> None:
    """2 sizes x off/on x 2 seeds, each job with per-class accuracies and class names."""
    grid_sweep(sweep, classes=CLASSES)


def offline_target(sweep: Path) -> Target:
    return Target(project="augproj", entity="me", group=sweep.name, offline=True)


def load_report_text(tmp_path: Path, text: str) -> wr.Report:
    path = tmp_path / "loaded.json"
    path.write_text(text)
    return load_report(path)


def headings(made: wr.Report) -> list[str]:
    return [b.text for b in made.blocks if isinstance(b, wr.H2)]


def section(made: wr.Report, title: str) -> list:
    """The blocks under the H2 ``title``, up to the next H2 (less the closing paragraph)."""
    start = next(i for i, b in enumerate(made.blocks) if isinstance(b, wr.H2) and b.text == title)
    end = next(
        (i for i, b in enumerate(made.blocks[start + 1 :], start + 1) if isinstance(b, wr.H2)),
        len(made.blocks),
    )
    return [b for b in made.blocks[start + 1 : end] if not isinstance(b, wr.P)]


def test_the_w_and_b_report_has_panels_over_the_sweeps_group_and_the_reports_tables(tmp_path):
    sweep = tmp_path / "2025-01-01_12-00-00_abc123"
    class_sweep(sweep)
    report = make_report(sweep)
    made = build(report, offline_target(sweep))

    assert made.project == "augproj" and made.entity == "me"
    assert made.title == f"Sweep report: {sweep.name}"
    assert headings(made) == [
        "Accuracy against size",
        "Difference to off",
        "Learning curve of off",
        "Exchange rate",
        "Head to head",
        "Per-class effects",
    ]
    accuracy = section(made, "Accuracy against size")
    grids = [b for b in accuracy if isinstance(b, wr.PanelGrid)]
    assert [[type(p) for p in g.panels] for g in grids] == [
        [wr.ScatterPlot, wr.LinePlot, wr.ParallelCoordinatesPlot],
        [wr.BarPlot],
    ]
    scatter = grids[0].panels[0]
    assert (scatter.x, scatter.y, scatter.log_x) == (
        wr.Config("data.size"),
        wr.SummaryMetric("test/acc"),
        True,
    )
    assert grids[1].panels[0].metrics == ["test/acc"]
    (runs,) = grids[0].runsets
    assert runs.project == "augproj" and runs.entity == ""  # offline: no project lookup
    assert runs.filters == f"Metric(\"Group\") == '{sweep.name}' and Metric(\"JobType\") == 'train'"
    assert runs.groupby == ["config.aug.name"]
    assert grids[1].runsets[0].groupby == ["config.aug.name", "config.data.size"]
    # The tables are the report's own, as markdown.
    (table,) = [b.text for b in accuracy if isinstance(b, wr.MarkdownBlock)]
    for row in report.tables["accuracy"]:
        assert row["test_acc"] in table
    difference = "\n".join(
        b.text for b in section(made, "Difference to off") if isinstance(b, wr.MarkdownBlock)
    )
    assert "percentage points" in difference  # report.md's why
    assert "| on        | 100          | +10.00 *" in difference
    exchange = "\n".join(
        b.text for b in section(made, "Exchange rate") if isinstance(b, wr.MarkdownBlock)
    )
    assert (
        "| on        | 100          | 0.2          | 232.8 " in exchange
    )  # off's fit through (100, 0.3), (1000, 0.1) reaches 0.2 there
    per_class = section(made, "Per-class effects")
    (grid,) = [b for b in per_class if isinstance(b, wr.PanelGrid)]
    assert grid.panels[0].metrics == ["test/class_acc/0", "test/class_acc/1", "test/class_acc/2"]
    assert any("two: +12.0 pts" in b.text for b in per_class if isinstance(b, wr.MarkdownBlock))

    # Its file, as publish() writes it, is made without the network and loads back into the
    # same Report; the runsets filter on the sweep's group and name the project.
    loaded = load_report_text(tmp_path, report_json(made))
    assert repr(loaded) == repr(made)
    assert (loaded.project, loaded.entity) == ("augproj", "me")
    grid_models = [b for b in loaded.blocks if isinstance(b, wr.PanelGrid)]
    assert len(grid_models) == 3
    for grid_model in grid_models:
        (runset,) = grid_model.runsets
        assert runset.project == "augproj"
        assert runset.filters == (
            f"Metric(\"Group\") == '{sweep.name}' and Metric(\"JobType\") == 'train'"
        )


def test_every_table_of_the_report_is_a_section_a_new_one_included(tmp_path):
    """A table another part of auglab adds (``shift``...) is picked up by name: no code here."""
    class_sweep(tmp_path)
    report = make_report(tmp_path)
    report.tables["shift"] = [{"setting": "on", "corruption": "fog", "test_acc": 0.5}]
    report.tables["shift_severity"] = [{"setting": "on", "severity": 3, "test_acc": 0.25}]
    report.tables["robustness"] = [{"setting": "on", "score": float("nan")}]
    report.text += "\n## Under shift\n\nAccuracy on corrupted test sets.\n\n| a |\n|---|\n"
    made = build(report, offline_target(tmp_path))

    assert headings(made)[-2:] == ["Under shift", "Robustness"]
    shift = section(made, "Under shift")
    assert [type(b) for b in shift] == [
        wr.MarkdownBlock,
        wr.H3,
        wr.MarkdownBlock,
        wr.H3,
        wr.MarkdownBlock,
    ]
    assert shift[0].text == "Accuracy on corrupted test sets."  # the prose, not its table
    assert [shift[1].text, shift[3].text] == ["Shift", "Shift severity"]
    assert "| on        | fog          | 0.5 " in shift[2].text
    (robustness,) = section(made, "Robustness")
    assert "| on        |         |" in robustness.text  # NaN: an empty cell


def test_varied_strength_and_other_swept_keys_group_the_runs_unless_tuned(tmp_path):
    # A selection tunes the strength as it tunes optim.lr: each preset is one group.
    jobs = {}
    for num, (strength, lr) in enumerate([(0.5, "1e-3"), (1.0, "1e-3"), (0.5, "3e-3")]):
        overrides = ["data.size=100", "aug=on", f"aug.strength={strength}", f"optim.lr={lr}"]
        finished_job(tmp_path, num, overrides, 0.8, aug_strength=strength)
        jobs[num] = overrides
    plan(tmp_path, jobs)
    to = offline_target(tmp_path)

    runs = build(make_report(tmp_path), to).blocks[2].runsets[0]
    assert runs.groupby == ["config.aug.name", "config.aug.strength", "config.optim.lr"]
    tuned = build(make_report(tmp_path, select="val/acc_best"), to).blocks[2].runsets[0]
    assert tuned.groupby == ["config.aug.name"]


def test_cli_wandb_report_offline_writes_the_report_model_and_says_so_in_one_line(tmp_path, capsys):
    class_sweep(tmp_path)
    (tmp_path / "multirun.yaml").write_text(
        "logger:\n  wandb:\n    _target_: lightning.pytorch.loggers.WandbLogger\n"
        "    project: augproj\n    group: ${auglab.sweep_group:}\n"
        "    offline: ${auglab.wandb_offline:}\n"
    )
    assert main([str(tmp_path), "--wandb-report"]) == 0

    out = capsys.readouterr().out.rstrip().splitlines()
    assert out[-1] == (
        "auglab: W&B report not published (offline: WANDB_MODE is not online); what it would "
        f"publish is in {tmp_path / WANDB_REPORT_MD} and {WANDB_REPORT_JSON}"
    )
    assert not any("W&B" in line for line in out[:-1])
    # The JSON is the Report's public fields: it loads back into a Report, without the network.
    loaded = load_report(tmp_path / WANDB_REPORT_JSON)
    assert (loaded.project, loaded.title) == (
        "augproj",
        f"Sweep report: {tmp_path.name}",
    )
    assert headings(loaded)[0] == "Accuracy against size"
    assert loaded.blocks[2].runsets[0].filters.startswith(f"Metric(\"Group\") == '{tmp_path.name}'")
    json.loads((tmp_path / WANDB_REPORT_JSON).read_text())  # strict JSON
    text = (tmp_path / WANDB_REPORT_MD).read_text()
    assert "## Difference to off" in text and "+10.00 *" in text
    assert (
        '- ScatterPlot "test accuracy against training-set size, by setting": x data.size; y test/acc'
        in text
    )
    assert f"Metric(\"Group\") == '{tmp_path.name}'" in text


def test_online_without_an_api_key_stays_offline(tmp_path, monkeypatch, capsys):
    class_sweep(tmp_path)
    for name in ("WANDB_API_KEY", "WANDB_IDENTITY_TOKEN_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(wandb_target_module, "has_api_key", lambda: False)
    monkeypatch.setenv("WANDB_MODE", "online")
    to = Target(project="augproj", entity=None, group=tmp_path.name, offline=False)

    assert publish(make_report(tmp_path), tmp_path, to) is None
    assert "W&B report not published (no W&B API key" in capsys.readouterr().out
    assert (tmp_path / WANDB_REPORT_JSON).is_file()


def test_has_api_key_reads_no_key_from_an_empty_home(tmp_path, monkeypatch):
    for name in ("WANDB_API_KEY", "WANDB_IDENTITY_TOKEN_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("NETRC", str(tmp_path / "netrc"))
    monkeypatch.setenv("WANDB_CONFIG_DIR", str(tmp_path / "config"))
    assert wandb_target_module.has_api_key() is False
    monkeypatch.setenv("WANDB_API_KEY", "x" * 40)
    assert wandb_target_module.has_api_key() is True


def test_online_the_report_is_saved_and_its_url_printed(tmp_path, monkeypatch, capsys):
    class_sweep(tmp_path)
    saved = []

    def save(made):
        saved.append(made)
        return "https://wandb.ai/me/augproj/reports/Sweep-report--abc"

    monkeypatch.setattr(wandb_target_module, "has_api_key", lambda: True)
    monkeypatch.setattr(wandb_report_module, "save", save)
    to = Target(project="augproj", entity="me", group=tmp_path.name, offline=False)

    url = publish(make_report(tmp_path), tmp_path, to)
    assert url == "https://wandb.ai/me/augproj/reports/Sweep-report--abc"
    assert capsys.readouterr().out.splitlines()[-1] == f"W&B report: {url}"
    (made,) = saved
    runsets = [rs for b in made.blocks if isinstance(b, wr.PanelGrid) for rs in b.runsets]
    assert {(rs.entity, rs.project) for rs in runsets} == {("me", "augproj")}  # looked up on save
    assert (tmp_path / WANDB_REPORT_JSON).is_file() and (tmp_path / WANDB_REPORT_MD).is_file()

    # W&B unreachable: the same one line as offline, with the reason.
    def unreachable(made):
        raise ConnectionError("Name or service not known")

    monkeypatch.setattr(wandb_report_module, "save", unreachable)
    assert publish(make_report(tmp_path), tmp_path, to) is None
    assert (
        capsys.readouterr()
        .out.splitlines()[-1]
        .startswith(
            "auglab: W&B report not published (W&B could not be reached: ConnectionError: "
            "Name or service not known)"
        )
    )


def test_the_sweep_callback_option_builds_the_w_and_b_report_at_the_end(
    tmp_path, monkeypatch, capsys
):
    class_sweep(tmp_path)
    monkeypatch.setattr("auglab.end_of_sweep.log_report_run", lambda *args: None)  # the report run
    config = OmegaConf.create(
        {
            "hydra": {"sweep": {"dir": str(tmp_path)}},
            "logger": {
                "wandb": {
                    "_target_": "lightning.pytorch.loggers.WandbLogger",
                    "project": "augproj",
                    "entity": "me",
                    "group": "${auglab.sweep_group:}",
                    "offline": True,
                }
            },
        }
    )
    EndOfSweep().on_multirun_end(config)
    assert not (tmp_path / WANDB_REPORT_JSON).exists()  # off by default

    EndOfSweep(wandb_report=True).on_multirun_end(config)
    assert (
        capsys.readouterr()
        .out.splitlines()[-1]
        .startswith("auglab: W&B report not published (offline")
    )
    loaded = load_report(tmp_path / WANDB_REPORT_JSON)
    assert (loaded.entity, loaded.project) == ("me", "augproj")
    grid = next(b for b in loaded.blocks if isinstance(b, wr.PanelGrid))
    assert grid.runsets[0].filters.startswith(f"Metric(\"Group\") == '{tmp_path.name}'")


def test_has_api_key_finds_a_key_in_netrc_without_the_network(tmp_path):
    """wandb's own public lookup (``wandb.login(prompt=False, verify=False)``), in a process
    of its own: a session that found a key keeps it. Not silent, a login that finds a key
    asks the server for the user's name (in wandb-core, which the socket patch cannot see)
    and, without the network, the process can hang at exit: has_api_key logs in silently
    and gives wandb its own verbosity back."""
    script = (
        "import socket, wandb\n"
        "def refuse(*args, **kwargs):\n"
        "    raise AssertionError('network used')\n"
        "socket.getaddrinfo = refuse\n"
        "from urllib.parse import urlparse\n"
        "from auglab.report.wandb_target import has_api_key\n"
        "host = urlparse(wandb.Settings().base_url).hostname\n"
        "assert has_api_key() is False\n"
        "with open('netrc', 'w') as f:\n"
        "    f.write(f'machine {host}\\n  login user\\n  password {\"k\" * 40}\\n')\n"
        "assert has_api_key() is True\n"
        "assert wandb.setup().settings.silent is False\n"
    )
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("WANDB_API_KEY", "WANDB_IDENTITY_TOKEN_FILE", "WANDB_MODE", "WANDB_SILENT")
    }
    env.update(
        HOME=str(tmp_path),
        NETRC=str(tmp_path / "netrc"),
        WANDB_CONFIG_DIR=str(tmp_path / "config"),
    )
    try:
        done = subprocess.run(
            [sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True,
            text=True, timeout=120,
        )  # fmt: skip
    except subprocess.TimeoutExpired as hung:
        raise AssertionError(f"has_api_key's process did not exit: {hung.stderr}") from None
    assert done.returncode == 0, done.stderr
