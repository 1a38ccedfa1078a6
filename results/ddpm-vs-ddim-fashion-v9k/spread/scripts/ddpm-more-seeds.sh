#!/usr/bin/env bash
# DDPM-1000 at study seeds 501 and 601 (their DDIM-50 / DPM-Solver++ cells exist at commit b7897fa),
# to pool the DDIM-50 vs DDPM-1000 ratio over seven seeds instead of five. Same code as seeds 301/401.
set -e
cd /work/wt/boot
export PATH=/work/wt/boot/node_modules/.bin:$PATH
RUN=/work/runs/ddpm-fashion-v-9k
for seed in ${SEEDS:-501 601}; do
  rm -rf /work/runs/spread/seed$seed
  cp -r /work/main/results/ddpm-vs-ddim-fashion-v9k/spread/seed$seed /work/runs/spread/seed$seed
  date -u
  deno task exp:ddpm_vs_ddim --run $RUN --n 1024 --seed $seed --batch 256 --resume --cells ddim-50-eta0,ddim-50-eta1,dpmpp-2m-20,ddpm-1000 --out /work/runs/spread/seed$seed
done
date -u
