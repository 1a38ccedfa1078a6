#!/usr/bin/env bash
# DDPM-1000 at seed 401, the fifth seed in study15k.sh's fixed order (run after the sitting's CI had finished).
set -e
cd /work/wt/s12
export PATH=/work/main/node_modules/.bin:$PATH
date -u
deno task exp:ddpm_vs_ddim --run /work/runs/ddpm-fashion-v-15k --n 1024 --seed 401 --batch 256 --resume --cells ddim-50-eta0,ddpm-1000 --out /work/runs/s12/study/seed401
date -u
