#!/usr/bin/env bash
# The 9,000-step Fashion-MNIST v + Min-SNR model retrained with the recorded commands (commit 707f281),
# now keeping every checkpoint (one per 500 steps) for post-hoc weight averaging.
set -e
cd /work/wt-snap
export PATH=/work/main/node_modules/.bin:$PATH
git log --oneline -1
date -u
deno task train ddpm --dataset fashion-mnist --steps 7000 --batch 64 --seed 0 --sample-every 3500 --checkpoint-every 500 --keep-checkpoints 0 --set predictionType=v --set learningRate=0.001 --set warmupSteps=200 --set lossWeighting=min-snr --set emaDecay=0.999 --set emaWarmup=10 --out /work/runs/ddpm-fashion-v9k-snap --no-progress
date -u
deno task train --resume /work/runs/ddpm-fashion-v9k-snap --steps 9000 --no-progress
date -u
