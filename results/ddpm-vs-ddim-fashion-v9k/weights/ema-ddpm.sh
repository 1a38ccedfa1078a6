#!/bin/bash
# Same-seed reference for the live-weights diagnostic: DDPM-1000 with the EMA weights at tuning seed 901 (eval path).
set -e
cd /work/wt-snap
export PATH=/work/main/node_modules/.bin:$PATH
/usr/bin/time -f "wall %e s" deno task eval /work/runs/ddpm-fashion-v-9k --n 1024 --seed 901 --sampler ddpm --weights ema --out /work/runs/live-screen/ddpm1000-ema-seed901.json --backend native
