#!/usr/bin/env bash
# Nineteenth sitting (same AMD EPYC machine as the sixteenth to eighteenth: the 48-channel run directory survived).
# Written at 21:00 UTC, before any result of this sitting. Fixed here:
# - Model: /work/runs/ddpm-fashion-v-w48, the sixteenth sitting's retrain (EMA, step 9000), unchanged.
# - Code: worktree /work/wt/s19 at c94549a (sampling/metric code unchanged since 34167d9).
# - Why: the 48-channel model so far has only four cells (DDIM-50 leading/trailing, DPM++(2M)-20, DDPM-1000).
#   Issue 9 asks for the whole table (DDIM S ∈ {10, 20, 50, 100} × η ∈ {0, 1}, DPM++ {10, 20}, Heun {10, 20},
#   DDPM-1000) from one real run at n ≥ 1,024. This runs it at ONE new seed, 501 — the next seed of the
#   32-channel model's nine-seed design (1, 101, …, 801), chosen by that order, not by any result.
#   DDIM-1000 η = 0 (≈ 65 min) does not fit and is left out; DDIM-1000 η = 1 is DDPM-1000 by construction.
# - Order: the three cells of the pooled comparison first (DDIM-50 η = 0, DPM++-20, DDPM-1000), then the rest.
# - Stop rule: the run starts only at or before 21:20 UTC; no other seed is started this sitting.
# - Reporting: every finished cell is reported whatever it shows. The five planned seeds' pool (+5.8 % ± 8.0 %)
#   stays the headline; seed 501's DDIM-50 vs DDPM-1000 is reported on its own and as a six-seed pool beside it.
set -e
cd /work/wt/s19
export PATH=/work/main/node_modules/.bin:$PATH
RUN=/work/runs/ddpm-fashion-v-w48
OUT=/work/runs/s19/study
now=$(date -u +%H%M)
if [ "$now" -gt 2120 ]; then echo "stop rule: $now UTC is after 21:20, not started"; exit 0; fi
date -u
deno task exp:ddpm_vs_ddim --run $RUN --n 1024 --seed 501 --batch 256 --resume \
  --cells ddim-50-eta0,dpmpp-2m-20,ddpm-1000,ddim-10-eta0,ddim-20-eta0,ddim-100-eta0,dpmpp-2m-10,heun-10,heun-20,ddim-10-eta1,ddim-20-eta1,ddim-50-eta1,ddim-100-eta1 \
  --out $OUT/seed501
date -u
