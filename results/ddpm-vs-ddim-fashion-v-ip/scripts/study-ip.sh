#!/usr/bin/env bash
# The input-perturbation model at the 9k model's study seeds (same start noise), one seed at a time in the order
# fixed here before any result: DDIM-50 η = 0 with the default leading spacing (the primary cell, as in the 9k
# study), DDIM-50 η = 0 trailing, then DDPM-1000.
# Stop rule (fixed before any result, from the sitting's time budget): a seed is started only if the clock
# is at or before 08:35 UTC; seeds 1, 101, 201, 301 at most.
set -e
cd /work/wt/s14
export PATH=/work/main/node_modules/.bin:$PATH
RUN=/work/runs/ddpm-fashion-v-ip
OUT=/work/runs/s14/study
mkdir -p $OUT
for seed in 1 101 201 301; do
  now=$(date -u +%H%M)
  if [ "$now" -gt 0835 ]; then echo "stop rule: $now UTC is after 08:35, seed $seed not started"; break; fi
  date -u
  deno task exp:ddpm_vs_ddim --run $RUN --n 1024 --seed $seed --batch 256 --resume --cells ddim-50-eta0,ddim-50-eta0-trailing,ddpm-1000 --out $OUT/seed$seed
done
date -u
