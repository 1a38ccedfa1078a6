#!/usr/bin/env bash
# Eighteenth sitting (same AMD EPYC machine as the sixteenth and seventeenth: the 48-channel run directory
# survived). Written at 17:28 UTC, before any result of this sitting. Fixed here:
# - Model: /work/runs/ddpm-fashion-v-w48, the sixteenth sitting's retrain (EMA, step 9000), unchanged — the
#   same model as the seventeenth sitting's seeds 101 and 201.
# - Code: worktree /work/wt/s18 at f5ec883 (sampling/metric code unchanged since 34167d9; the only change is
#   the README provenance line of exp:ddpm_vs_ddim, 2f3047c).
# - Cells: all three of DDIM-50 η = 0 leading, DPM-Solver++(2M)-20 and DDPM-1000 in a fresh directory per seed
#   (no earlier cells exist for these seeds on this model).
# - Order: seed 301, then 401 (the plan of the fifteenth sitting: five seeds 1/101/201/301/401).
#   Stop rule: a seed is started only at or before 18:45 UTC (a seed's three cells take ≈ 70 min here;
#   pooling, README and a ≈ 11-minute CI must fit before the sitting ends at 20:27 UTC).
# - Every finished cell is reported, whatever it shows; pooling (exp:pool_seeds) covers every paired seed of
#   the 48-channel model: 1 (fifteenth sitting), 101, 201 (seventeenth), and whatever this runs.
set -e
cd /work/wt/s18
export PATH=/work/main/node_modules/.bin:$PATH
RUN=/work/runs/ddpm-fashion-v-w48
OUT=/work/runs/s18/study
for seed in 301 401; do
  now=$(date -u +%H%M)
  if [ "$now" -gt 1845 ]; then echo "stop rule: $now UTC is after 18:45, seed $seed not started"; break; fi
  date -u
  deno task exp:ddpm_vs_ddim --run $RUN --n 1024 --seed $seed --batch 256 --resume --cells ddim-50-eta0,dpmpp-2m-20,ddpm-1000 --out $OUT/seed$seed
done
date -u
