#!/bin/bash
# DDPM-1000 on the EMA-0.998 variant at tuning seed 901 (eval path).
set -e
cd /work/wt-snap
export PATH=/work/main/node_modules/.bin:$PATH
/usr/bin/time -f "wall %e s" deno task eval /work/runs/snap-ema998 --n 1024 --seed 901 --sampler ddpm --out /work/runs/live-screen/ddpm1000-ema998-seed901.json --backend native
