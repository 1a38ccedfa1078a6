#!/bin/bash
cd /work/wt/density2
if (( $(date -u +%s) > $(date -u -d 19:27 +%s) )); then echo "skipped: past 19:27"; exit 0; fi
echo "lock acquired $(date -u +%T), commit $(git rev-parse --short=12 HEAD)"
/usr/bin/time -f "bench wall %e s" timeout 600 node_modules/.bin/deno bench -A bench/density_bench.ts
echo "exit $? $(date -u +%T)"
