#!/bin/bash
# Tuning-seed screen: DDIM-50 η=0 on averaged EMA snapshots (eval path, as live-screen).
set -e
cd /work/wt-snap
export PATH=/work/main/node_modules/.bin:$PATH
for RUN in "$@"; do
  for S in 901 1001; do
    /usr/bin/time -f "wall %e s" deno task eval /work/runs/$RUN --n 1024 --seed $S --sampler ddim --steps 50 --eta 0 --out /work/runs/live-screen/ddim50-$RUN-seed$S.json --backend native
  done
done
