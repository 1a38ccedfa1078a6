#!/usr/bin/env bash
# The 15,000-step continuation of the 9k model at the nine study seeds of the 9k model (same start noise):
# phase 1 DDIM-50 η = 0 at all nine; phase 2 DDPM-1000 at seeds in the fixed order 1, 101, 201, … (as many as the
# sitting allows; the order is fixed here, before any result).
set -e
cd /work/wt/s12
export PATH=/work/main/node_modules/.bin:$PATH
RUN=/work/runs/ddpm-fashion-v-15k
OUT=/work/runs/s12/study
SEEDS="1 101 201 301 401 501 601 701 801"
mkdir -p $OUT
if [ "${PHASE:-1}" = 1 ]; then
  for seed in $SEEDS; do
    date -u
    deno task exp:ddpm_vs_ddim --run $RUN --n 1024 --seed $seed --batch 256 --cells ddim-50-eta0 --out $OUT/seed$seed
  done
fi
for seed in $SEEDS; do
  date -u
  deno task exp:ddpm_vs_ddim --run $RUN --n 1024 --seed $seed --batch 256 --resume --cells ddim-50-eta0,ddpm-1000 --out $OUT/seed$seed
done
date -u
