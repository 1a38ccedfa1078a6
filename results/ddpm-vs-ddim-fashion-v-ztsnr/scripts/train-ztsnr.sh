#!/bin/bash
# The 9,000-step Fashion-MNIST v + Min-SNR recipe with one change: terminalSnr=zero (Lin et al. 2024).
set -e
cd /work/wt/s13
export PATH=/work/main/node_modules/.bin:$PATH
deno task train ddpm --dataset fashion-mnist --steps 9000 --batch 64 --seed 0 --sample-every 3500 --checkpoint-every 500 --set predictionType=v --set learningRate=0.001 --set warmupSteps=200 --set lossWeighting=min-snr --set emaDecay=0.999 --set emaWarmup=10 --set terminalSnr=zero --out /work/runs/ddpm-fashion-v-ztsnr --no-progress
