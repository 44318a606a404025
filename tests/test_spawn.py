"""The one private name of Lightning auglab uses (``auglab.spawn``): this fails when
Lightning renames or moves it, or when it stops telling spawning strategies apart."""

from __future__ import annotations

import lightning as L

from auglab.spawn import spawned


def test_spawning_strategies_are_told_from_the_script_launcher_and_one_process():
    cpu = {"accelerator": "cpu", "devices": 2, "logger": False, "enable_checkpointing": False}
    assert spawned(L.Trainer(strategy="ddp_spawn", **cpu)) is True
    assert spawned(L.Trainer(strategy="ddp", **cpu)) is False
    assert spawned(L.Trainer(accelerator="cpu", devices=1, logger=False)) is False
