#!/bin/bash
# Post-hoc averages of the retrained snapshot run's EMA checkpoints, screened with DDIM-50 η=0 at tuning seeds (commit d3cb155 code).
set -e
cd /work/wt-snap
export PATH=/work/main/node_modules/.bin:$PATH
for FROM in 8000 7000 5000; do
  [ -d /work/runs/snap-avg$FROM ] || deno task exp:average_checkpoints --run /work/runs/ddpm-fashion-v9k-snap --from $FROM --out /work/runs/snap-avg$FROM
  for S in 901 1001; do
    /usr/bin/time -f "wall %e s" deno task eval /work/runs/snap-avg$FROM --n 1024 --seed $S --sampler ddim --steps 50 --eta 0 --out /work/runs/live-screen/ddim50-snap-avg$FROM-seed$S.json --backend native
  done
done
