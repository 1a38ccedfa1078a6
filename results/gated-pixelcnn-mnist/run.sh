#!/bin/bash
cd /work/wt/density
D=/work/main/node_modules/.deno/deno@2.9.5/node_modules/deno/deno
name=gated-pixelcnn-mnist
echo "lock acquired $(date -u +%T)"
echo "=== $name start $(date -u +%T) (budget 120 s)"
/usr/bin/time -f "$name train wall %e s" timeout -s INT 120 $D run -A lib/cli/main.ts train gated-pixelcnn --dataset mnist --steps 5000 --batch 64 --seed 0 --set filters=32 --out runs/$name --no-progress --checkpoint-every 100 --sample-every 100000
/usr/bin/time -f "$name eval wall %e s" $D run -A experiments/density_eval.ts runs/$name --samples 16 > runs/$name.eval.log 2>&1
echo "=== $name end $(date -u +%T)"
