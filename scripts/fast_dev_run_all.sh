#!/usr/bin/env bash
# "Does every experiment run at all?": `python train.py experiment=<name> debug=fast_dev_run`
# (one batch of fit, validation and test) for every config in conf/experiment/, on tiny
# generated data in the real formats. The GitHub workflow's fast job runs it.
#   bash scripts/fast_dev_run_all.sh [DATA_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
data=${1:-$(mktemp -d)}
out=$(mktemp -d)
python scripts/tiny_datasets.py "$data"
export AUGLAB_DATA_DIR=$data
# fingers_hand_transfer starts from a fingers_count checkpoint (fast_dev_run writes none).
python train.py experiment=fingers_count trainer.max_epochs=1 logger=none \
  "hydra.run.dir=$out/count" > "$out/count.log" 2>&1 || { cat "$out/count.log"; exit 1; }
failed=()
for config in conf/experiment/*.yaml; do
  name=$(basename "$config" .yaml)
  extra=()
  case $name in
    cifar10_vgg16) extra=(model.net.weights=null) ;;  # not 528 MB of ImageNet weights per run
    fingers_hand_transfer) extra=("model.init_from=$out/count/checkpoints/last.ckpt") ;;
  esac
  if python train.py "experiment=$name" debug=fast_dev_run logger=none \
      "hydra.run.dir=$out/$name" "${extra[@]}" > "$out/$name.log" 2>&1; then
    echo "ok      experiment=$name ${extra[*]}"
  else
    echo "FAILED  experiment=$name ${extra[*]}"; tail -5 "$out/$name.log"; failed+=("$name")
  fi
done
if ((${#failed[@]})); then
  echo "fast_dev_run failed for: ${failed[*]}" >&2
  exit 1
fi
