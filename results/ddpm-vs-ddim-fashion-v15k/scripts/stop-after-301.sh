#!/bin/bash
# stop the study loop once seed 301's DDPM-1000 cell is written (the sitting's time allows four DDPM-1000 seeds)
until [ "$(grep -c 'ddpm-1000: NFE' /work/runs/s12/study15k.log)" -ge 4 ] && grep -q '^| ddpm-1000' /work/runs/s12/study/seed301/table.md 2>/dev/null; do sleep 5; done
sleep 15
pkill -f "study15k.sh"; pkill -f "ddpm_vs_ddim.ts --run /work/runs/ddpm-fashion-v-15k"
echo "stopped $(date -u)" >> /work/runs/s12/study15k.log
