#!/bin/bash
# Continue the 9,000-step Fashion-MNIST v + Min-SNR model (constant lr after warm-up) to 15,000 steps, on a copy.
set -e
cd /work/wt/s12
export PATH=/work/main/node_modules/.bin:$PATH
# cp -r /work/runs/ddpm-fashion-v-9k /work/runs/ddpm-fashion-v-15k   # (done by hand before this script)
deno task train --resume /work/runs/ddpm-fashion-v-15k --steps 15000 --no-progress
