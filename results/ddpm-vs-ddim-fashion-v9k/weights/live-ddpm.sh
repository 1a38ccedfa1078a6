#!/bin/bash
# Diagnostic: DDPM-1000 with the live weights at tuning seed 901, 9k Fashion v model (commit 44207cd tree).
set -e
cd /work/wt-quad
export PATH=/work/main/node_modules/.bin:$PATH
/usr/bin/time -f "wall %e s" deno task eval /work/runs/ddpm-fashion-v-9k --n 1024 --seed 901 --sampler ddpm --weights live --out /work/runs/live-screen/ddpm1000-live-seed901.json --backend native
