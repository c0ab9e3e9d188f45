#!/usr/bin/env bash
# Memory per rank of GRPO training on 2 ranks (Gloo, loopback), with the optimizer state whole on
# every rank and sharded (dist.shard_optimizer, ZeRO-1), in the same script run: the estimate
# `r1train train` logs at start and the measured peak (memory/peak_gib: the peak resident set on
# the CPU, the largest over the ranks), on a Qwen2.5-0.5B-shaped model cut to 4 layers (float32,
# random weights, the real Qwen2.5 tokenizer from tests/node_modules: scripts/install_test_assets.sh).
#   scripts/bench_memory.sh [BUILD_DIR]
# Env: R1_BENCH_PRESET (qwen2.5-0.5b-4l), R1_BENCH_DIR (/tmp/r1-bench), R1_BENCH_STEPS (2).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$here/.."
build="${1:-$root/build}"
steps="${R1_BENCH_STEPS:-2}"
. "$here/bench_qwen_model.sh"

run() {  # run NAME SHARD: 2 ranks, prints "estimate_bytes peak_gib"
  local name="$1" shard="$2" port
  port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  local args=(train --config "$root/configs/demo.yaml" --set "model.path=$dir" --set "train.steps=$steps"
    --set train.prompts_per_step=2 --set rollout.group_size=2 --set rollout.max_new_tokens=8
    --set train.micro_batch_size=4 --set eval.every=0 --set train.checkpoint_every=0 --set train.threads=1
    --set train.log_samples_every=0 --set "dist.shard_optimizer=$shard" --set "train.output_dir=$work/$name")
  (cd "$root" && WORLD_SIZE=2 RANK=1 MASTER_ADDR=127.0.0.1 MASTER_PORT=$port "$build/r1train" "${args[@]}" \
     > "$work/$name.1.log" 2>&1) &
  (cd "$root" && WORLD_SIZE=2 RANK=0 MASTER_ADDR=127.0.0.1 MASTER_PORT=$port "$build/r1train" "${args[@]}" \
     > "$work/$name.0.log" 2>&1) || { cat "$work/$name.0.log" >&2; exit 1; }
  wait
  /usr/bin/python3 - "$work/$name.0.log" "$work/$name/metrics.jsonl" <<'PY'
import json, re, sys
log = open(sys.argv[1]).read()
m = re.search(r"memory per rank \(estimated, before activations\): (.*?) = ([0-9.]+ \w+)", log)
peak = max(json.loads(l)["memory/peak_gib"] for l in open(sys.argv[2]) if l.strip())
print(f"{m.group(2).replace(' ', '_')} {peak:.2f} {m.group(1).replace(' ', '_')}")
PY
}

read -r est_whole peak_whole parts_whole <<< "$(run whole false)"
read -r est_shard peak_shard parts_shard <<< "$(run sharded true)"
echo "model: $dir ($preset, float32), 2 ranks (Gloo), $steps steps, 2 prompts x 2 samples x 8 new tokens"
printf '%-12s %18s %16s  %s\n' optimizer estimate peak_rss_gib "estimate's parts"
printf "%-12s %18s %16s  %s\n" whole "${est_whole//_/ }" "$peak_whole" "${parts_whole//_/ }"
printf "%-12s %18s %16s  %s\n" sharded "${est_shard//_/ }" "$peak_shard" "${parts_shard//_/ }"
/usr/bin/python3 -c "import sys; print(f'sharded / whole peak: {float(sys.argv[2]) / float(sys.argv[1]):.2f}x')" \
  "$peak_whole" "$peak_shard"
