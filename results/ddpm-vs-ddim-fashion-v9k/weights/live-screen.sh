#!/bin/bash
# Tuning-seed screen: DDIM-50 η=0 with the live weights vs the EMA ones, 9k Fashion v model (commit 44207cd).
set -e
cd /work/wt-quad
export PATH=/work/main/node_modules/.bin:$PATH
for S in 901 1001; do
  for W in live ema; do
    /usr/bin/time -f "wall %e s" deno task eval /work/runs/ddpm-fashion-v-9k --n 1024 --seed $S --sampler ddim --steps 50 --eta 0 --weights $W --out /work/runs/live-screen/ddim50-$W-seed$S.json --backend native
  done
done
