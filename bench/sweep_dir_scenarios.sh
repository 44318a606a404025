#!/usr/bin/env bash
# The sweep-directory scenarios of issue 14, run by hand on real data, for a checkout:
#   AUGLAB_DATA_DIR=/path/with/MNIST bash bench/sweep_dir_scenarios.sh [CHECKOUT] [OUT]
# CHECKOUT (default: this one) may be an older `git worktree`: its own src/ is used.
# Prints what each scenario ends with; logs and sweep dirs go to OUT (default: a temp dir).
set -u
C=$(cd "${1:-$(dirname "$0")/..}" && pwd)
OUT=${2:-$(mktemp -d)}
PY=${PYTHON:-python}
export WANDB_MODE=offline WANDB_SILENT=true PYTHONPATH="$C/src"
: "${AUGLAB_DATA_DIR:?set AUGLAB_DATA_DIR to a folder holding MNIST/raw/}"
Q="logger=csv callbacks.pictures=null"
cd "$C"
rm -rf "$OUT" && mkdir -p "$OUT"

echo "=== 1. a single run dir reused with another optim.lr"
$PY train.py data.size=100 trainer.max_epochs=1 $Q hydra.run.dir="$OUT/run" > /dev/null 2>&1
$PY train.py data.size=100 trainer.max_epochs=1 $Q optim.lr=0.01 hydra.run.dir="$OUT/run" > "$OUT/1.log" 2>&1
echo "exit $?"; grep -E "skipping|auglab: error" "$OUT/1.log" | sed 's/^.*\] - //'

echo "=== 2. the same sweep started twice at once"
for i in 1 2; do
  $PY train.py -m data.size=100,200,300,400 trainer.max_epochs=2 $Q hydra.sweep.dir="$OUT/dup" > "$OUT/2_$i.log" 2>&1 &
done
wait
for i in 1 2; do
  echo "copy $i: $(grep -c 'being trained by' "$OUT/2_$i.log") 'being trained by' lines, $(grep -ci failed "$OUT/2_$i.log") lines with 'failed'"
done
for n in 0 1 2 3; do
  $PY -c "import json,sys; r=json.load(open(sys.argv[1])); print('job', sys.argv[2], r['status'], 'attempts', r['attempts'], 'resumed_from', r['resumed_from'], (r['error'] or '')[:70])" "$OUT/dup/$n/metrics.json" $n
done

echo "=== 3. two sweeps started together"
for i in 1 2; do
  $PY train.py -m data.size=100 trainer.max_epochs=1 $Q paths.log_dir="$OUT/logs" > "$OUT/3_$i.log" 2>&1 &
done
wait
ls "$OUT/logs/multiruns"

echo "=== 4. Ctrl-C (SIGINT to the process group) 20 s into a 2-job sweep"
setsid $PY train.py -m data.size=10000 aug=on,off trainer.max_epochs=30 $Q hydra.sweep.dir="$OUT/cc" > "$OUT/4.log" 2>&1 &
PID=$!
sleep 20
S=$(date +%s.%N)
kill -INT -- -$PID
wait $PID
RC=$?
E=$(date +%s.%N)
echo "sweep process: exit $RC, $(python3 -c "print(round($E - $S, 2))") s after the key"
sleep 5
echo "its processes still alive 5 s later: $(ps -eo pgid,args | awk -v g=$PID '$1==g' | grep -c train.py)"
grep -E "^auglab:" "$OUT/4.log" | cut -c1-200
pkill -9 -g $PID 2>/dev/null
echo "logs: $OUT"
