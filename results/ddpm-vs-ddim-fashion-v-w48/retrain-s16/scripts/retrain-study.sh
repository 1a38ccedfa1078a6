#!/usr/bin/env bash
# Sixteenth sitting. The machine is new: the 48-channel run directory (checkpoints) of the fifteenth sitting
# is gone. Fixed before any result:
# 1. Retrain it with the identical command (results/ddpm-vs-ddim-fashion-v-w48/scripts/train-w48.sh, code
#    unchanged since f65402b: this worktree is at 34167d9). Same seed + same backend must give the same
#    losses: the last-50 mean loss is compared with the committed train-summary.json (0.020847572963684797).
# 2. Paired cells on the retrained model, in fresh directories (no reuse of committed cells, so each pair
#    comes from one model): seed 101, then seed 201; cells DDIM-50 η = 0 leading, then DDPM-1000.
#    Seed 301 / 401 follow only if time allows. A seed's DDPM-1000 cell is started only at or
#    before 14:04 UTC (≈ 40 min per cell; CI and the closing note need the end of the sitting, which ends
#    ≈ 15:04 UTC). Its DDIM-50 cell is always run (≈ 2 min).
# The committed seed-101/201 DDIM-50 values (8.64 / 10.83) double as a check that the retrained model is the
# same model.
set -e
cd /work/wt/s16
export PATH=/work/main/node_modules/.bin:$PATH
RUN=/work/runs/ddpm-fashion-v-w48
OUT=/work/runs/s16/study
mkdir -p $OUT
date -u +%FT%TZ > /work/runs/s16/train-w48.start
deno task train ddpm --dataset fashion-mnist --steps 9000 --batch 64 --seed 0 --sample-every 3500 --checkpoint-every 500 --set predictionType=v --set learningRate=0.001 --set warmupSteps=200 --set lossWeighting=min-snr --set emaDecay=0.999 --set emaWarmup=10 --set baseChannels=48 --out $RUN --no-progress
date -u +%FT%TZ > /work/runs/s16/train-w48.end
grep -A3 meanLossesLast50 $RUN/summary.json
for seed in 101 201 301 401; do
  date -u
  deno task exp:ddpm_vs_ddim --run $RUN --n 1024 --seed $seed --batch 256 --resume --cells ddim-50-eta0 --out $OUT/seed$seed
  now=$(date -u +%H%M)
  if [ "$now" -gt 0000 ]; then echo "stop rule: $now UTC is after 00:00, DDPM-1000 at seed $seed not started"; break; fi
  deno task exp:ddpm_vs_ddim --run $RUN --n 1024 --seed $seed --batch 256 --resume --cells ddim-50-eta0,ddpm-1000 --out $OUT/seed$seed
done
date -u
