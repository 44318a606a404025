"""Fixtures of the pretrained nets' tests: a machine without internet or cached weights."""

from __future__ import annotations

import urllib.error

import pytest
import torch


@pytest.fixture
def offline(monkeypatch, tmp_path) -> list[str]:
    """An empty torch hub dir (``TORCH_HOME``) and a download that fails as it does
    without internet; returns the URLs a download was attempted from."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))
    attempts: list[str] = []

    def no_network(url, *args, **kwargs):
        attempts.append(url)
        raise urllib.error.URLError("[Errno -2] Name or service not known")

    monkeypatch.setattr(torch.hub, "download_url_to_file", no_network)
    return attempts
