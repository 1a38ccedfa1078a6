#!/bin/bash
# The 9,000-step Fashion-MNIST v + Min-SNR recipe (results/ddpm-vs-ddim-fashion-v9k) with one change:
# input perturbation γ = 0.1 (Ning et al. 2023, DDPM-IP; the paper's value).
set -e
cd /work/wt/s14
export PATH=/work/main/node_modules/.bin:$PATH
deno task train ddpm --dataset fashion-mnist --steps 9000 --batch 64 --seed 0 --sample-every 3500 --checkpoint-every 500 --set predictionType=v --set learningRate=0.001 --set warmupSteps=200 --set lossWeighting=min-snr --set emaDecay=0.999 --set emaWarmup=10 --set inputPerturbation=0.1 --out /work/runs/ddpm-fashion-v-ip --no-progress
