#!/usr/bin/env bash
set -e
cd /work/wt/boot
export PATH=/work/wt/boot/node_modules/.bin:$PATH
RUN=/work/runs/ddpm-fashion-v-9k
for seed in 1 301 401 501 601 701 801; do
  date -u
  deno task exp:ddpm_vs_ddim --run $RUN --n 1024 --seed $seed --batch 256 --cells ddim-50-eta0,ddim-50-eta1,dpmpp-2m-20 --out /work/runs/spread/seed$seed
done
for seed in 301 401 501; do
  date -u
  deno task exp:ddpm_vs_ddim --run $RUN --n 1024 --seed $seed --batch 256 --resume --cells ddim-50-eta0,ddim-50-eta1,dpmpp-2m-20,ddpm-1000 --out /work/runs/spread/seed$seed
done
date -u
