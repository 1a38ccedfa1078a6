#!/usr/bin/env bash
# Seventeenth sitting (same machine as the sixteenth: the 48-channel run directory survived).
# Written at 14:51 UTC, before any result of this sitting. Fixed here:
# - Model: /work/runs/ddpm-fashion-v-w48, the sixteenth sitting's retrain (EMA, step 9000), unchanged.
# - Code: worktree /work/wt/s16 at 34167d9 (no code change since; main is 0f4b877).
# - Cells: DDPM-1000 paired with the DDIM-50 η = 0 leading cell of the same model and seed. For seeds
#   101 and 201 the sixteenth sitting's directories (DDIM-50 and DPM++-20 already measured, committed as
#   retrain-s16/seed101, seed201) are copied to a fresh directory and --resume adds DDPM-1000; for 301 / 401
#   all three cells run here.
# - Order: seed 101, 201, 301, 401. Stop rule: a seed is started only at or before 16:15 UTC (a DDPM-1000
#   cell takes ≈ 59 min on this machine; CI ≈ 10 min and the closing note need the end of the sitting,
#   which ends 17:50 UTC). Expected: seeds 101 and 201 only.
# - Every finished cell is reported, whatever it shows; pooling (exp:pool_seeds) covers all paired seeds
#   of the 48-channel model: seed 1 (fifteenth sitting, committed model) and whatever this runs.
set -e
cd /work/wt/s16
export PATH=/work/main/node_modules/.bin:$PATH
RUN=/work/runs/ddpm-fashion-v-w48
OUT=/work/runs/s17/study
for seed in 101 201 301 401; do
  now=$(date -u +%H%M)
  if [ "$now" -gt 1615 ]; then echo "stop rule: $now UTC is after 16:15, seed $seed not started"; break; fi
  date -u
  if [ -d /work/runs/s16/study/seed$seed ]; then cp -r /work/runs/s16/study/seed$seed $OUT/seed$seed; fi
  deno task exp:ddpm_vs_ddim --run $RUN --n 1024 --seed $seed --batch 256 --resume --cells ddim-50-eta0,dpmpp-2m-20,ddpm-1000 --out $OUT/seed$seed
done
date -u
