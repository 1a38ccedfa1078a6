#!/bin/bash
# One acceptance run in ONE hold of the shared CPU lock (run by flock):
#   1. a 12-step timing probe with the same config (its own run dir, thrown away);
#   2. --steps chosen from the probe so that the whole training process (start-up, steps,
#      checkpoints, the final sample grids) fits in BUDGET seconds;
#   3. experiments/density_eval.ts on a test subset sized from the probe to fit EVAL_BUDGET.
# usage: acceptance.sh NAME BUDGET EVAL_BUDGET EVAL_SAMPLES SAMPLE_COUNT <model> [train args…]
set -u
cd /work/wt/density2
D=node_modules/.bin/deno
name=$1; budget=$2; evalBudget=$3; evalSamples=$4; sampleCount=$5; shift 5
common=(--batch 64 --seed 0 --no-progress --sample-every 1000000 --sample-count $sampleCount)
echo "=== $name: lock acquired $(date -u +%T), commit $(git rev-parse --short=12 HEAD)"
# The session ends at 19:40 UTC: everything must be done by 19:25 (results still to write up).
left=$(( $(date -u -d 19:25 +%s) - $(date -u +%s) - evalBudget - 90 ))
if (( left < 240 )); then echo "=== $name: skipped, only ${left} s left before 19:25"; exit 0; fi
if (( left < budget )); then echo "=== $name: budget cut from $budget to $left s (deadline)"; budget=$left; fi
rm -rf runs/probe-$name
t0=$(date +%s.%N)
$D run -A lib/cli/main.ts train "$@" "${common[@]}" --steps 12 --checkpoint-every 1000000 --out runs/probe-$name
t1=$(date +%s.%N)
read steps testImages < <(python3 - "$t0" "$t1" "$budget" "$evalBudget" runs/probe-$name/metrics.jsonl <<'PY'
import json, sys, math
t0, t1, budget, eval_budget = map(float, sys.argv[1:5])
rows = [json.loads(l) for l in open(sys.argv[5])]
per_step = (rows[11]["time"] - rows[1]["time"]) / 10
overhead = (t1 - t0) - rows[11]["time"]
steps = int((budget - overhead - 10) / per_step) // 10 * 10
# One forward pass ≈ a third of a training step; the eval scores M test + M train images.
per_image = per_step / 64 / 3
m = int(eval_budget / (2 * per_image))
m = max(1000, min(10000, m // 1000 * 1000))
print(steps, m)
print(f"probe: {per_step:.3f} s/step, overhead {overhead:.1f} s -> --steps {steps}, test images {m}", file=sys.stderr)
PY
)
echo "=== $name: --steps $steps, --test-images $testImages ($(date -u +%T))"
rm -rf runs/$name
/usr/bin/time -f "$name train wall %e s" $D run -A lib/cli/main.ts train "$@" "${common[@]}" --steps $steps --checkpoint-every 500 --out runs/$name
echo "train exit $?"
/usr/bin/time -f "$name eval wall %e s" $D run -A experiments/density_eval.ts runs/$name --samples $evalSamples --test-images $testImages --slice-seed 0 --seed 0 > runs/$name.eval.log 2>&1
echo "eval exit $?"
echo "=== $name end $(date -u +%T)"
