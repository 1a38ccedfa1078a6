#!/usr/bin/env bash
# Written at 13:37 UTC, before any study result of this sitting. This machine trains at 0.74–0.78 s/step
# (0.47 s/step in the fifteenth sitting), so training ends ≈ 14:01 UTC and a DDPM-1000 cell (≈ 59 min here)
# would end ≈ 15:03, after the sitting's last usable minute (it ends 15:04; CI takes ≈ 14 min here). So the
# DDPM-1000 limit in retrain-study.sh was edited in place (same length) from 14:04 to 00:00: no DDPM-1000
# cell this sitting. Instead, on the retrained model (fresh directories; retrain-study.sh already ran seed 101):
# DDIM-50 η = 0 leading at seeds 1 and 201, then DPM-Solver++(2M)-20 at seeds 101 / 1 / 201 — the committed
# model's values at these seeds (DDIM-50 9.12 / 8.64 / 10.83, DPM++ 8.43 / 8.29 / 10.27) measure how far a
# retrain of the same recipe moves them.
set -e
cd /work/wt/s16
export PATH=/work/main/node_modules/.bin:$PATH
RUN=/work/runs/ddpm-fashion-v-w48
OUT=/work/runs/s16/study
for seed in 1 201; do
  date -u
  deno task exp:ddpm_vs_ddim --run $RUN --n 1024 --seed $seed --batch 256 --resume --cells ddim-50-eta0 --out $OUT/seed$seed
done
for seed in 101 1 201; do
  date -u
  deno task exp:ddpm_vs_ddim --run $RUN --n 1024 --seed $seed --batch 256 --resume --cells ddim-50-eta0,dpmpp-2m-20 --out $OUT/seed$seed
done
date -u
