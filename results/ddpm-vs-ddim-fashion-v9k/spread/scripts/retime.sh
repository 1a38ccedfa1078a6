#!/usr/bin/env bash
# Re-time DDIM-50 (η = 0) at seeds 501–801 in the same sitting as their DDPM-1000 cells (the
# original DDIM cells ran hours earlier on this machine's previous session); same commit b7897fa.
set -e
cd /work/wt/boot
export PATH=/work/wt/boot/node_modules/.bin:$PATH
RUN=/work/runs/ddpm-fashion-v-9k
for seed in 501 601 701 801; do
  date -u
  deno task exp:ddpm_vs_ddim --run $RUN --n 1024 --seed $seed --batch 256 --cells ddim-50-eta0 --out /work/runs/spread/retime/seed$seed
done
date -u
