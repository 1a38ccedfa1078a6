#!/usr/bin/env bash
# Runs after retrain-study.sh releases the CPU lock: copies the sixteenth sitting's study and logs into
# results/ddpm-vs-ddim-fashion-v-w48/retrain-s16/ and commits them (results only; README text follows by hand).
set -e
D=/work/main/results/ddpm-vs-ddim-fashion-v-w48/retrain-s16
mkdir -p $D/scripts
for s in /work/runs/s16/study/seed*; do
  [ -d "$s" ] && rm -rf "$D/$(basename $s)" && cp -r "$s" "$D/"
done
cp /work/runs/s16/retrain-study.sh /work/runs/s16/retrain-study.log /work/runs/s16/after-study.sh /work/runs/s16/extra.sh /work/runs/s16/extra.log $D/scripts/
cp /work/runs/s16/train-w48.start /work/runs/s16/train-w48.end $D/scripts/ 2>/dev/null || true
R=/work/runs/ddpm-fashion-v-w48
cp $R/config.json $D/train-config.json; cp $R/summary.json $D/train-summary.json
cp $R/charts/losses.png $D/train-losses.png; cp $R/samples/final.png $D/train-samples-final.png
cd /work/main && git add results/ddpm-vs-ddim-fashion-v-w48/retrain-s16 && \
  git commit -q -m "results: 48-channel model retrained on a new machine; paired DDIM-50 / DDPM-1000 cells (sixteenth sitting)" && git log --oneline -1
date -u
