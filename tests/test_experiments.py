"""Every reference experiment (E1-E5) composes and runs end to end on generated data.

One data dir holds every dataset in its real format at the path each data yaml
expects by default, so the experiments run exactly as a user types them.

No run here may reach the network (E3's ImageNet VGG16 weights are 528 MB): every
``train.py`` starts with ``NO_NETWORK`` installed, an audit hook that makes any
download attempt raise, and with an empty ``TORCH_HOME``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.data.formats import write_cifar10, write_digits_csv, write_fingers
from tests.helpers import QUICK, REPO, record, train

pytestmark = pytest.mark.slow  # every test here starts train.py processes

# Experiments whose data exists here; cifar10_vgg16 and fingers_hand_transfer need an
# extra override each and get their own tests below.
PLAIN = [
    "mnist_lenet5",
    "digits_cnn_annealing",
    "cifar10_cnn",
    "mnist_lenet5_classic",
    "mnist_allconv",
    "fingers_count",
]


@pytest.fixture(scope="module")
def all_data(mnist_root, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("all_data")
    (root / "MNIST").symlink_to(mnist_root / "MNIST", target_is_directory=True)
    write_digits_csv(root / "digit-recognizer" / "train.csv", n=500)
    write_cifar10(root, per_batch=20, n_test=20)
    write_fingers(root / "fingers", n_train=48, n_test=12)
    return root


NETWORK_BLOCKED = "network access blocked by tests/test_experiments.py"

# Loaded by every Python process a test here starts (``sitecustomize`` on PYTHONPATH):
# an audit hook that raises on any URL opened and any name looked up or connection
# made beyond this machine, whichever library tries (torch.hub, requests, ...).
NO_NETWORK = f'''
import sys

LOCAL = ("localhost", "127.", "::1", "0.0.0.0")


def _local(host):
    host = host.decode() if isinstance(host, bytes) else str(host or "localhost")
    return host.startswith(LOCAL)


def _no_network(event, args):
    if (
        event == "urllib.Request"
        or (event == "socket.getaddrinfo" and not _local(args[0]))
        or (event == "socket.connect" and isinstance(args[1], tuple) and not _local(args[1][0]))
    ):
        raise RuntimeError(f"{NETWORK_BLOCKED}: {{event}} {{args[0]!r}}")


sys.addaudithook(_no_network)
'''


@pytest.fixture(scope="module")
def no_network(tmp_path_factory) -> Path:
    """A folder holding the ``sitecustomize`` that blocks the network (none exists here)."""
    folder = tmp_path_factory.mktemp("no_network")
    (folder / "sitecustomize.py").write_text(NO_NETWORK)
    return folder


@pytest.fixture
def env(run_env, all_data, no_network, tmp_path) -> dict[str, str]:
    path = os.pathsep.join(p for p in (str(no_network), run_env.get("PYTHONPATH")) if p)
    return {
        **run_env,
        "AUGLAB_DATA_DIR": str(all_data),
        "PYTHONPATH": path,
        "TORCH_HOME": str(tmp_path / "torch_home"),  # an empty hub cache: no weights there
    }


def test_the_network_guard_stops_a_download(env):
    download = "import urllib.request; urllib.request.urlopen('https://download.pytorch.org/')"
    proc = subprocess.run(
        [sys.executable, "-c", download], env=env, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode != 0
    assert f"RuntimeError: {NETWORK_BLOCKED}: urllib.Request" in proc.stderr


def test_every_experiment_has_a_test_here():
    configs = {p.stem for p in (REPO / "conf" / "experiment").glob("*.yaml")}
    # study: test_the_study_in_one_word_estimates_reports_progress_and_writes_the_report
    # mnist_converged: test_the_converged_protocol_stops_when_validation_stops_improving
    special = {"cifar10_vgg16", "fingers_hand_transfer", "study", "mnist_converged"}
    assert configs == {*PLAIN, *special}


def test_each_experiment_runs_one_step(env, tmp_path):
    sweep = tmp_path / "sweep"
    train(
        "-m", f"experiment={','.join(PLAIN)}", "debug=fast_dev_run", "logger=none",
        f"hydra.sweep.dir={sweep}", env=env,
    )  # fmt: skip
    jobs = [record(sweep / str(i)) for i in range(len(PLAIN))]
    assert [j["overrides"][0] for j in jobs] == [f"experiment={e}" for e in PLAIN]
    assert all(j["optimizer_steps"] == 1 and 0 <= j["test_acc"] <= 1 for j in jobs)
    config = {e: (sweep / str(i) / "config.yaml").read_text() for i, e in enumerate(PLAIN)}
    assert "LeNet5Classic" in config["mnist_lenet5_classic"]
    assert "EpochTable" in config["mnist_lenet5_classic"]
    assert "ReduceLROnPlateau" in config["digits_cnn_annealing"]
    assert "batch_size: 128" in config["cifar10_cnn"]
    assert "RMSprop" in config["mnist_allconv"]
    assert jobs[PLAIN.index("mnist_lenet5_classic")]["tested_checkpoint"] == "final weights"


def test_vgg16_experiment_runs_without_pretrained_weights(env, tmp_path):
    out = tmp_path / "run"
    train(
        "experiment=cifar10_vgg16", "model.net.weights=null", "debug=fast_dev_run",
        "logger=none", f"hydra.run.dir={out}", env=env,
    )  # fmt: skip
    assert record(out)["optimizer_steps"] == 1
    assert "VGG16Transfer" in (out / "config.yaml").read_text()
    assert not Path(env["TORCH_HOME"]).exists()  # the hub cache was not even looked into


def test_vgg16_experiment_offline_says_where_the_weights_go(env, tmp_path):
    from urllib.parse import urlparse

    from torchvision.models import VGG16_Weights

    torch_home = Path(env["TORCH_HOME"])
    cache = (
        torch_home
        / "hub"
        / "checkpoints"
        / Path(urlparse(VGG16_Weights.IMAGENET1K_V1.url).path).name
    )
    out = tmp_path / "run"
    proc = train(
        "experiment=cifar10_vgg16", "debug=fast_dev_run", "logger=none",
        f"hydra.run.dir={out}", env=env, check=False,
    )  # fmt: skip
    assert proc.returncode != 0, "train.py found VGG16 weights with the network blocked"
    error = proc.stderr.strip().splitlines()[-1]
    # One line: the download was tried (and stopped by the guard), where the file goes, the fixes.
    assert error.startswith("auglab: error: pretrained VGG16 weights unavailable (RuntimeError: ")
    assert f"{NETWORK_BLOCKED}: urllib.Request" in error
    assert f"put the torchvision file at {cache} or set" in error
    assert error.endswith("model.net.weights=<path to .pth> or model.net.weights=null")
    assert "Epoch" not in proc.stdout + proc.stderr  # stopped before training
    assert not cache.exists() and not list(torch_home.rglob("*.pth"))
    assert not out.exists() or not (out / "metrics.json").exists()


def test_count_to_hand_transfer_round_trip(env, tmp_path):
    count = tmp_path / "count"
    train(
        "experiment=fingers_count", "model.net.batch_norm=true", "trainer.max_epochs=1",
        "logger=none", f"hydra.run.dir={count}", env=env,
    )  # fmt: skip
    hand = tmp_path / "hand"
    train(
        "experiment=fingers_hand_transfer", "model.net.batch_norm=true",
        f"model.init_from={count / 'checkpoints' / 'last.ckpt'}", "trainer.max_epochs=1",
        "logger=none", f"hydra.run.dir={hand}", env=env,
    )  # fmt: skip
    import torch

    before = torch.load(count / "checkpoints" / "last.ckpt", weights_only=False)["state_dict"]
    after = torch.load(hand / "checkpoints" / "last.ckpt", weights_only=False)["state_dict"]
    assert before["net.head.weight"].shape[0] == 6 and after["net.head.weight"].shape[0] == 2
    backbone = [k for k in before if k.startswith("net.") and not k.startswith("net.head.")]
    assert backbone and all(torch.equal(before[k], after[k]) for k in backbone)  # frozen


def test_transfer_without_a_checkpoint_is_refused_before_training(env, tmp_path):
    proc = train(
        "experiment=fingers_hand_transfer", "logger=none", f"hydra.run.dir={tmp_path / 'run'}",
        env=env, check=False,
    )  # fmt: skip
    assert proc.returncode != 0
    assert "model.init_from" in proc.stderr.strip().splitlines()[-1]


def test_the_study_in_one_word_estimates_reports_progress_and_writes_the_report(run_env, tmp_path):
    """`experiment=study` on MNIST, shrunk: fraction and count sizes, two presets, timed by
    the pilot before launch, a progress line per ended job, the report at the end."""
    sweep = tmp_path / "study"
    proc = train(
        "-m", "experiment=study", "data.size=100,0.002", "aug=off,light", "data.subset_seed=0",
        "trainer.max_epochs=1", "hydra.sweeper.estimate=true", *QUICK,
        f"hydra.sweep.dir={sweep}", env=run_env,
    )  # fmt: skip
    out = proc.stdout + proc.stderr
    plan = next(line for line in out.splitlines() if "Sweep of 4 jobs" in line)
    assert "4 to run (jobs 0-3), 0 already finished or running elsewhere; about " in plan
    assert " on this machine (" in plan and "ms per training image" in plan
    assert plan.endswith(
        "shrink with fewer values of data.size (2) or aug (2), or a lower trainer.max_epochs (1)"
    )
    progress = [line.split("] ")[-1] for line in out.splitlines() if "Progress: " in line]
    assert progress[-1].startswith("Progress: 4/4 finished, 0 left; all ended in ")
    assert all(p.startswith("Progress: ") for p in progress) and len(progress) <= 4
    records = [record(sweep / str(n)) for n in range(4)]
    trained = {o: r["train_size"] for r in records for o in r["overrides"] if "data.size" in o}
    assert trained == {"data.size=100": 100, "data.size=0.002": 110}  # 0.2% of 55,000
    report = (sweep / "report.md").read_text()
    assert "| off " in report and "110" in report and "light" in report


def test_the_converged_protocol_stops_when_validation_stops_improving(env, tmp_path):
    """experiment=mnist_converged, shrunk (short epochs, patience 2, a cap of 40 epochs): the
    learning rate decays on the plateau, early stopping ends the job before the cap, and the
    record says the steps it used."""
    out = tmp_path / "run"
    train(
        "experiment=mnist_converged", "data.size=50", "data.subset_seed=0",
        "data.samples_per_epoch=128", "scheduler.patience=0", "scheduler.threshold=0.5",
        "callbacks.early_stopping.patience=2", "trainer.max_epochs=40", *QUICK,
        f"hydra.run.dir={out}", env=env,
    )  # fmt: skip
    m = record(out)
    assert 3 <= m["epochs"] < 40  # stopped by patience, not by the cap
    assert m["optimizer_steps"] == m["epochs"] * 2  # 128 draws a epoch, batch 64
    lrs = (out / "csv" / "metrics.csv").read_text()
    rates = {float(v) for v in _column(lrs, "lr-Adam")}
    assert max(rates) == 1e-3 and min(rates) < 1e-3  # halved on the plateau


def _column(csv_text: str, name: str) -> list[str]:
    lines = csv_text.splitlines()
    col = lines[0].split(",").index(name)
    return [row.split(",")[col] for row in lines[1:] if row.split(",")[col]]
