#!/usr/bin/env bash
# One GRPO training step's time, split into rollout / reward / frozen log-probs / update,
# and update tokens/s, on the demo base model (CPU), from a short run's metrics.jsonl.
#
#   scripts/bench_train.sh [STEPS] [extra --set flags...]
#   scripts/bench_train.sh 5 --set grpo.beta=0.04      # with a reference model
set -euo pipefail
cd "$(dirname "$0")/.."
STEPS=${1:-5}
shift || true
BIN=${R1TRAIN:-build/r1train}
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
"$BIN" --log-level warn train --config configs/demo.yaml --resume none --set train.steps="$STEPS" --set train.checkpoint_every=0 \
  --set eval.every=0 --set train.output_dir="$OUT/run" "$@"
/usr/bin/python3 - "$OUT/run/metrics.jsonl" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
rows = rows[1:] or rows  # the first step includes warm-up
def mean(k): return sum(r.get(k, 0.0) for r in rows) / len(rows)
step = mean("timing/step_s")
print(f"steps measured: {len(rows)} (first step excluded when there are more)")
print(f"{'phase':<26}{'seconds/step':>14}{'share':>9}")
for name, key in [("rollout (generation)", "timing/rollout_s"), ("reward", "timing/reward_s"),
                  ("frozen log-probs", "timing/logprob_s"), ("update (fwd+bwd+AdamW)", "timing/update_s")]:
    v = mean(key)
    if key == "timing/update_s":
        v -= mean("timing/logprob_s")
    print(f"{name:<26}{v:>14.3f}{100 * v / step:>8.1f}%")
print(f"{'whole step':<26}{step:>14.3f}{100.0:>8.1f}%")
print(f"rollout tokens/s: {mean('throughput/rollout_tokens_per_s'):.0f}")
print(f"update tokens/s (prompt + completion, per update): {mean('throughput/update_tokens_per_s'):.0f}")
PY
