#!/bin/bash
# The 9,000-step Fashion-MNIST v + Min-SNR recipe (results/ddpm-vs-ddim-fashion-v9k) with one change:
# baseChannels 48 instead of 32 (channels 48/96/192; ≈ 2× the compute per step). The last untried lever:
# a better denoiser should shrink the deterministic sampler's deficit (EDM §5).
set -e
cd /work/wt/s15
export PATH=/work/main/node_modules/.bin:$PATH
deno task train ddpm --dataset fashion-mnist --steps 9000 --batch 64 --seed 0 --sample-every 3500 --checkpoint-every 500 --set predictionType=v --set learningRate=0.001 --set warmupSteps=200 --set lossWeighting=min-snr --set emaDecay=0.999 --set emaWarmup=10 --set baseChannels=48 --out /work/runs/ddpm-fashion-v-w48 --no-progress
