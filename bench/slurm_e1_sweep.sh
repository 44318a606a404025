#!/usr/bin/env bash
# E1 on the local SLURM cluster, by hand: a 12-job sweep (data.size=100,1000,10000
# aug=on,off seed=0,1) submitted through hydra/launcher=submitit_slurm, squeue seen
# mid-way, one running job preempted (scancel --signal=USR2, what a preemption sends
# first), the final summary, and the preempted job's record compared field by field with
# the same config trained in one go on this machine.
#
#   AUGLAB_DATA_DIR=/tmp/data bash bench/slurm_e1_sweep.sh [OUT]   (real MNIST in the data dir)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-/tmp/slurm_e1}
: "${AUGLAB_DATA_DIR:?set AUGLAB_DATA_DIR to a dir holding MNIST/raw}"
export WANDB_MODE=offline WANDB_SILENT=true PYTHONWARNINGS=ignore
PY=${PYTHON:-.venv/bin/python}

bash scripts/slurm_cluster.sh start
eval "$(bash scripts/slurm_cluster.sh env)"
rm -rf "$OUT" && mkdir -p "$OUT"
SWEEP=$OUT/sweep
ARGS=(data.size=100,1000,10000 aug=on,off seed=0,1 logger=csv)
LAUNCH=(hydra/launcher=submitit_slurm hydra.launcher.gpus_per_node=0
        hydra.launcher.cpus_per_task=1 hydra.launcher.timeout_min=30)

start=$(date +%s)
$PY train.py -m "${LAUNCH[@]}" "${ARGS[@]}" "hydra.sweep.dir=$SWEEP" >"$OUT/submitter.log" 2>&1 &
submitter=$!

# Preempt the first 10,000-image job once it has an epoch's checkpoint.
victim=""
until [ -n "$victim" ]; do
    sleep 1
    for job in "$SWEEP"/*/; do
        [ -f "$job/checkpoints/last.ckpt" ] || continue
        grep -q "data.size=10000" "$job/.hydra/overrides.yaml" 2>/dev/null || continue
        victim=$(basename "$job")
        break
    done
    kill -0 $submitter 2>/dev/null || { echo "the sweep ended first" >&2; exit 1; }
done
task=$(readlink "$SWEEP/$victim/slurm.out" | sed -E 's#.*/\.submitit/([^/]+)/.*#\1#')
echo "== squeue mid-way ($(( $(date +%s) - start )) s in)"
squeue -o "%.12i %.9P %.8j %.2t %.8M %R"
echo "== preempting job $victim (SLURM $task): scancel --signal=USR2"
# By its own job id: signalling "<array>_<i>" also reaches the array's pending tasks, and
# scancel answers "can not be altered now" and retries, sending the signal again later.
scancel --signal=USR2 "$(squeue -h -j "$task" -o %A)"
sleep 3
squeue -o "%.12i %.9P %.8j %.2t %.8M %R"

wait $submitter || true
echo "== sweep done in $(( $(date +%s) - start )) s"
cat "$SWEEP/summary.md"

echo "== job $victim, preempted, against the same config trained in one go (threads=1)"
mapfile -t overrides < <(sed -n 's/^- //p' "$SWEEP/$victim/.hydra/overrides.yaml")
$PY train.py "${overrides[@]}" threads=1 "hydra.run.dir=$OUT/uninterrupted" >"$OUT/uninterrupted.log" 2>&1
$PY - "$SWEEP/$victim" "$OUT/uninterrupted" <<'EOF'
import json, sys
a, b = (json.load(open(f"{d}/metrics.json")) for d in sys.argv[1:3])
print(f"| field | preempted | uninterrupted | same |\n|---|---|---|---|")
for key in sorted(set(a) | set(b)):
    if key in ("test_class_acc", "class_names"):
        same = a.get(key) == b.get(key)
        print(f"| {key} | ({len(a.get(key) or [])} values) | ({len(b.get(key) or [])} values) | {same} |")
        continue
    print(f"| {key} | {a.get(key)} | {b.get(key)} | {a.get(key) == b.get(key)} |")
EOF
