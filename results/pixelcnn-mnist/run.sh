#!/bin/bash
# All of this helper's CPU-heavy runs, in ONE hold of the shared lock (run by flock).
# Each training run has a wall-time budget: at the budget it gets SIGINT, which makes the trainer
# write a checkpoint and stop (exit 130); the evaluation then uses that checkpoint.
cd /work/wt/density
D=/work/main/node_modules/.deno/deno@2.9.5/node_modules/deno/deno  # the real binary: node_modules/.bin/deno is a Node launcher that does not forward SIGINT
run() { # name, budget seconds, then train args
  name=$1; budget=$2; shift 2
  echo "=== $name start $(date -u +%T) (budget ${budget} s)"
  /usr/bin/time -f "$name train wall %e s" timeout -s INT $budget $D run -A lib/cli/main.ts train "$@" --out runs/$name --no-progress --checkpoint-every 100 --sample-every 100000
  echo "train exit $?"
  /usr/bin/time -f "$name eval wall %e s" $D run -A experiments/density_eval.ts runs/$name --samples 16 > runs/$name.eval.log 2>&1
  echo "=== $name end $(date -u +%T)"
}
echo "lock acquired $(date -u +%T)"
run pixelcnn-mnist 150 pixelcnn --dataset mnist --steps 5000 --batch 64 --seed 0
# (dropped at 16:41: the shared lock was busy until ~16:50, deadline 17:00) run gated-pixelcnn-mnist 150 gated-pixelcnn --dataset mnist --steps 5000 --batch 64 --seed 0 --set filters=32
# (dropped at 16:41: the shared lock was busy until ~16:50, deadline 17:00) run realnvp-fashion 120 realnvp --dataset fashion-mnist --steps 5000 --batch 64 --seed 0
# (dropped at 16:41: the shared lock was busy until ~16:50, deadline 17:00) run gated-pixelcnn-fashion8bit 90 gated-pixelcnn --dataset fashion-mnist --steps 5000 --batch 64 --seed 0 --set filters=32 --set output=softmax256
# (dropped at 16:41: the shared lock was busy until ~16:50, deadline 17:00) echo "=== bench start $(date -u +%T)"
# (dropped at 16:41: the shared lock was busy until ~16:50, deadline 17:00) timeout 120 $D bench -A bench/density_bench.ts > runs/density_bench.log 2>&1
# (dropped at 16:41: the shared lock was busy until ~16:50, deadline 17:00) echo "=== bench end $(date -u +%T) exit $?"
