#!/bin/bash
# Tuning-seed screen: DDIM-50 η=0 with and without x̂₀ clipping, 9k Fashion v model, commit 80d5319.
set -e
cd /work/wt-quad
export PATH=/work/main/node_modules/.bin:$PATH
mkdir -p /work/runs/clip-screen
for S in 901 1001; do
  for C in none static; do
    /usr/bin/time -f "wall %e s" deno task eval /work/runs/ddpm-fashion-v-9k --n 1024 --seed $S --sampler ddim --steps 50 --eta 0 --clip $C --out /work/runs/clip-screen/seed$S-clip-$C.json
  done
done
