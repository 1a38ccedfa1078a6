#!/bin/bash
# Item c: the binarized-MNIST runs of session 1 were not kept, so re-run them with a STEP budget
# equal to the steps they reached (748 and 357), then evaluate with the random train slice.
# One hold of the lock (two short runs, ~5 min); skipped if it cannot finish by 19:22 UTC.
set -u
cd /work/wt/density2
D=node_modules/.bin/deno
echo "lock acquired $(date -u +%T), commit $(git rev-parse --short=12 HEAD)"
if (( $(date -u +%s) > $(date -u -d 19:16 +%s) )); then echo "skipped: past 19:16"; exit 0; fi
run() { # name steps, then train args
  name=$1; steps=$2; shift 2
  rm -rf runs/$name
  /usr/bin/time -f "$name train wall %e s" $D run -A lib/cli/main.ts train "$@" --dataset mnist --steps $steps --batch 64 --seed 0 --no-progress --checkpoint-every 100 --sample-every 1000000 --sample-count 16 --out runs/$name
  echo "train exit $?"
  /usr/bin/time -f "$name eval wall %e s" $D run -A experiments/density_eval.ts runs/$name --samples 16 --slice-seed 0 --seed 0 > runs/$name.eval.log 2>&1
  echo "eval exit $? $(date -u +%T)"
}
run pixelcnn-mnist-r2 748 pixelcnn
run gated-pixelcnn-mnist-r2 357 gated-pixelcnn --set filters=32
echo "done $(date -u +%T)"
