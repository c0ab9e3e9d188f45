#!/usr/bin/env bash
# Wasted decode row-steps (slots computed for rows that had already finished, as a percentage of
# all slots computed) on the demo's rollouts: 16 demo prompts x 8 samples, 72 new tokens at most,
# stop at </answer>, 128 rows decoded together (R1_BENCH_BATCH), temperature 1, the demo base model.
#   scripts/bench_rollout.sh [BUILD_DIR]
# r1train reports its own count (generate --stats). With R1_BENCH_BASELINE set to an older
# r1train (the chunked engine: all rows start together, finished rows compacted out once an
# eighth of a chunk is done, no refill), that engine's count is simulated from its completions'
# lengths, which is exact for it.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$here/.."
build="${1:-$root/build}"
baseline="${R1_BENCH_BASELINE:-}"
batch="${R1_BENCH_BATCH:-128}"
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
/usr/bin/python3 - "$root/data/demo-train.jsonl" "$tmp/prompts.jsonl" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])][:16]
with open(sys.argv[2], "w") as f:
    for r in rows:
        f.write(json.dumps({"prompt": f"Q: {r['prompt']}=?\n"}) + "\n")
PY
run() { "$1" generate --model "$root/data/demo-base" --prompts "$tmp/prompts.jsonl" -n 8 --max-new-tokens 72 \
          --stop "</answer>" --batch-size "$batch" --temperature 1 --seed 1 --device cpu --dtype float32 "${@:2}"; }
echo "demo rollouts: 16 prompts x 8 samples, $batch rows decoded together"
printf '%-44s %10s %12s %10s\n' engine tokens row_steps wasted
run "$build/r1train" -o "$tmp/new.jsonl" --stats 2> "$tmp/stats.json"
/usr/bin/python3 - "$tmp/stats.json" <<'PY'
import json, sys
d = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
print(f"{'r1train (slots, continuous batching)':<44} {d['tokens']:10d} {d['row_steps']:12d} {d['wasted_row_steps']:9.1%}")
PY
if [[ -n "$baseline" ]]; then
  run "$baseline" -o "$tmp/old.jsonl"
  /usr/bin/python3 - "$tmp/old.jsonl" "$batch" <<'PY'
import json, sys
lengths = [len(json.loads(l)["completion_ids"]) for l in open(sys.argv[1])]
batch, steps = int(sys.argv[2]), 0
for first in range(0, len(lengths), batch):  # chunks of `batch` rows, one after the other
    chunk = lengths[first:first + batch]
    rows, dead, done, step = len(chunk), 0, 0, 0
    while done < len(chunk):
        step += 1
        steps += rows                  # every row of the chunk is computed at this step
        ended = sum(1 for n in chunk if n == step)
        done += ended
        dead += ended
        if dead and dead * 8 >= rows:  # compaction rule of the chunked engine
            rows -= dead
            dead = 0
tokens = sum(lengths)
print(f"{'baseline (chunk, compaction at 1/8)':<44} {tokens:10d} {steps:12d} {(steps - tokens) / steps:9.1%}")
PY
fi
