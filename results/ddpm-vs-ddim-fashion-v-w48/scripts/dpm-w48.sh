#!/usr/bin/env bash
# Added after the study (post hoc, 11:40 UTC): issue 9's third comparison, DPM-Solver++(2M)-20 vs DDIM-50,
# on the 48-channel model at the three seeds that have DDIM-50 cells (≈ 1 min each).
set -e
cd /work/wt/s15
export PATH=/work/main/node_modules/.bin:$PATH
RUN=/work/runs/ddpm-fashion-v-w48
OUT=/work/runs/s15/study
for seed in 1 101 201; do
  cells=ddim-50-eta0,ddim-50-eta0-trailing,dpmpp-2m-20
  [ "$seed" = 1 ] && cells=$cells,ddpm-1000
  deno task exp:ddpm_vs_ddim --run $RUN --n 1024 --seed $seed --batch 256 --resume --cells $cells --out $OUT/seed$seed
done
date -u
