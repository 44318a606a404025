#!/usr/bin/env bash
# Whole-process time of one job per preset, this checkout against an older one, interleaved.
#   AUGLAB_DATA_DIR=<data dir> bash bench/job_time.sh OLD_CHECKOUT [ROUNDS] [PRESETS...]
# OLD_CHECKOUT: e.g. `git worktree add /tmp/old <commit>`; its code is run through PYTHONPATH.
# Prints one line per run (round, preset, checkout, seconds), then old/new ratios per preset.
set -euo pipefail
old=$(cd "$1" && pwd); new=$(cd "$(dirname "$0")/.." && pwd)
rounds=${2:-3}
presets=(randaugment elastic); [ $# -gt 2 ] && presets=("${@:3}")
out=$(mktemp -d); results=$out/times.txt
export WANDB_MODE=offline
for round in $(seq "$rounds"); do
  for aug in "${presets[@]}"; do
    for tree in "$old" "$new"; do
      name=$([ "$tree" = "$old" ] && echo old || echo new)
      start=$(date +%s.%N)
      (cd "$tree" && PYTHONPATH="$tree/src" python train.py data.size=1000 aug="$aug" \
        data.samples_per_epoch=10000 trainer.max_epochs=5 threads=1 \
        hydra.run.dir="$out/$round-$aug-$name" >/dev/null 2>&1)
      end=$(date +%s.%N)
      echo "$round $aug $name $(python3 -c "print(round($end - $start, 2))")" | tee -a "$results"
    done
  done
done
python3 - "$results" <<'PY'
import collections, sys
t = collections.defaultdict(dict)
for line in open(sys.argv[1]):
    r, aug, name, s = line.split()
    t[aug, r][name] = float(s)
for aug in dict.fromkeys(a for a, _ in t):
    ratios = [v["old"] / v["new"] for (a, _), v in t.items() if a == aug]
    print(f"{aug}: old/new {min(ratios):.2f}-{max(ratios):.2f} (each round: "
          + ", ".join(f"{x:.2f}" for x in ratios) + ")")
PY
