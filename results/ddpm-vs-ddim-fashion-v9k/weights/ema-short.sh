#!/bin/bash
# A shorter EMA for the same training trajectory: copy the snapshot run's step-7000 checkpoint into a new run dir,
# set emaDecay in its config.json, and --resume to 9,000 steps (training is bit-identical; only the EMA differs:
# after 2,000 steps at decay d the step-7000 EMA (decay 0.999) weighs d^2000: 0.018 for d = 0.998).
set -e
D=$1; OUT=/work/runs/snap-ema$D
cd /work/wt-snap
export PATH=/work/main/node_modules/.bin:$PATH
git log --oneline -1
mkdir -p $OUT/checkpoints $OUT/samples $OUT/charts
cp /work/runs/ddpm-fashion-v9k-snap/metrics.jsonl $OUT/
cp /work/runs/ddpm-fashion-v9k-snap/checkpoints/step-00007000.ckpt $OUT/checkpoints/
python3 - "$OUT/config.json" "0.$D" <<'PY'
import json, sys
src = json.load(open('/work/runs/ddpm-fashion-v9k-snap/config.json'))
src['spec']['modelConfig']['emaDecay'] = float(sys.argv[2])
src['model']['config']['emaDecay'] = float(sys.argv[2])
json.dump(src, open(sys.argv[1], 'w'), indent=2)
PY
date -u
deno task train --resume $OUT --steps 9000 --no-progress
date -u
for S in 901 1001; do
  /usr/bin/time -f "wall %e s" deno task eval $OUT --n 1024 --seed $S --sampler ddim --steps 50 --eta 0 --out /work/runs/live-screen/ddim50-ema$D-seed$S.json --backend native
done
