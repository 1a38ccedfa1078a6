#!/bin/bash
# Tuning-seed screen of DDIM-50 η=0 timestep spacings on the 9k Fashion v model (commit 80d5319).
set -e
cd /work/wt-quad
export PATH=/work/main/node_modules/.bin:$PATH
for S in 901 1001; do
  /usr/bin/time -f "wall %e s" deno task exp:ddpm_vs_ddim --run /work/runs/ddpm-fashion-v-9k --n 1024 --seed $S --batch 256 \
    --cells ddim-50-eta0,ddim-50-eta0-quadratic,ddim-50-eta0-trailing --out /work/runs/quad-screen/seed$S
done
