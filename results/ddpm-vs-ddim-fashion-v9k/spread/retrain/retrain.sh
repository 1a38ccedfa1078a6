#!/usr/bin/env bash
set -e
cd /work/wt/base
export PATH=/work/wt/base/node_modules/.bin:$PATH
date -u
deno task train ddpm --dataset fashion-mnist --steps 7000 --batch 64 --seed 0 --sample-every 3500 --checkpoint-every 500 --set predictionType=v --set learningRate=0.001 --set warmupSteps=200 --set lossWeighting=min-snr --set emaDecay=0.999 --set emaWarmup=10 --out /work/runs/ddpm-fashion-v --no-progress
date -u
cp -r /work/runs/ddpm-fashion-v /work/runs/ddpm-fashion-v-9k
deno task train --resume /work/runs/ddpm-fashion-v-9k --steps 9000 --no-progress
date -u
