#!/usr/bin/env bash
# The zero-terminal-SNR model at the 9k model's study seeds (same start noise), one seed at a time in the order
# fixed here before any result: DDIM-50 η = 0 with trailing spacing (Lin et al. §3.3: start at t = T; the primary
# cell), DDIM-50 η = 0 with the default leading spacing (as every earlier study), then DDPM-1000.
set -e
cd /work/wt/s13
export PATH=/work/main/node_modules/.bin:$PATH
RUN=/work/runs/ddpm-fashion-v-ztsnr
OUT=/work/runs/s13/study
SEEDS="1 101 201 301 401 501 601 701 801"
mkdir -p $OUT
for seed in $SEEDS; do
  date -u
  deno task exp:ddpm_vs_ddim --run $RUN --n 1024 --seed $seed --batch 256 --resume --cells ddim-50-eta0-trailing,ddim-50-eta0,ddpm-1000 --out $OUT/seed$seed
done
date -u
