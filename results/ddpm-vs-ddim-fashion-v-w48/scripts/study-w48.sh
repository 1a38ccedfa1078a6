#!/usr/bin/env bash
# The 48-channel model at the 9k model's study seeds (same start noise). Fixed before any result:
# seed 1 first with DDIM-50 η = 0 leading (the primary cell, as in the 9k study), DDIM-50 η = 0 trailing, then
# DDPM-1000 — the DDPM-1000 cell of a seed is started only at or before 11:05 UTC (≈ 40 min per cell at this
# width; CI and the closing note need the end of the sitting). Then the two DDIM-50 cells at seeds 101 and 201
# (≈ 2 min each), each seed started only at or before 11:45 UTC; their DDPM-1000 cells are left for a later sitting.
set -e
cd /work/wt/s15
export PATH=/work/main/node_modules/.bin:$PATH
RUN=/work/runs/ddpm-fashion-v-w48
OUT=/work/runs/s15/study
mkdir -p $OUT
date -u
deno task exp:ddpm_vs_ddim --run $RUN --n 1024 --seed 1 --batch 256 --resume --cells ddim-50-eta0,ddim-50-eta0-trailing --out $OUT/seed1
now=$(date -u +%H%M)
if [ "$now" -le 1105 ]; then
  deno task exp:ddpm_vs_ddim --run $RUN --n 1024 --seed 1 --batch 256 --resume --cells ddim-50-eta0,ddim-50-eta0-trailing,ddpm-1000 --out $OUT/seed1
else
  echo "stop rule: $now UTC is after 11:05, DDPM-1000 at seed 1 not started"
fi
for seed in 101 201; do
  now=$(date -u +%H%M)
  if [ "$now" -gt 1145 ]; then echo "stop rule: $now UTC is after 11:45, seed $seed not started"; break; fi
  date -u
  deno task exp:ddpm_vs_ddim --run $RUN --n 1024 --seed $seed --batch 256 --resume --cells ddim-50-eta0,ddim-50-eta0-trailing --out $OUT/seed$seed
done
date -u
