#!/usr/bin/env bash
# r1train's rollout and update on one CUDA GPU against, in the same run: transformers' generate
# (sampling, the same lengths) and an eager PyTorch GRPO update step (scripts/bench_gpu_peer.py),
# on random bf16 models shaped like Qwen2.5-0.5B and Qwen2.5-1.5B. Prints tokens/s, ratios and
# the HBM roofline fraction of decode (a decode step reads every weight once: the bound is
# measured bandwidth / weight bytes steps per second, times the rows). Then runs the decode loop
# once under c10's CUDA sync debug mode set to error: any host synchronisation in the loop fails it.
# Builds nothing: it needs a CUDA build of r1train (R1TRAIN, default build/r1train) and python3
# with CUDA torch and transformers.
#   scripts/bench_gpu.sh
# Env: R1TRAIN, R1_BENCH_DIR (/tmp/r1-bench), R1_BENCH_ROWS ("1 16 64 256"), R1_BENCH_NEW_TOKENS (256),
#      R1_BENCH_UPDATE_ROWS (8), R1_BENCH_PRESETS ("qwen2.5-0.5b qwen2.5-1.5b").
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bin="${R1TRAIN:-$here/../build/r1train}"
py="${PYTHON:-python3}"
rows_list="${R1_BENCH_ROWS:-1 16 64 256}"
new="${R1_BENCH_NEW_TOKENS:-256}"
update_rows="${R1_BENCH_UPDATE_ROWS:-8}"
presets="${R1_BENCH_PRESETS:-qwen2.5-0.5b qwen2.5-1.5b}"
fail() { echo "bench_gpu.sh: $*" >&2; exit 2; }
[[ -x "$bin" ]] || fail "no r1train at $bin: build it first (this script builds nothing), or set R1TRAIN"
"$py" -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null \
  || fail "no CUDA device visible to $py's torch: run this on a CUDA machine"
"$bin" --version | grep -q "CUDA available" \
  || fail "$bin is not a CUDA build of r1train ($("$bin" --version | tail -1)); build it against CUDA libtorch"
field() { "$py" -c 'import json,sys; print(json.loads(sys.stdin.read().strip().splitlines()[-1])[sys.argv[1]])' "$1"; }
bw="$("$py" "$here/bench_gpu_peer.py" bandwidth | field gb_per_s)"
echo "device: $(nvidia-smi --query-gpu=name --format=csv,noheader | head -1), copy bandwidth ${bw} GB/s"
for preset in $presets; do
  dir="${R1_BENCH_DIR:-/tmp/r1-bench}/$preset-bf16"
  [[ -f "$dir/model.safetensors" ]] || "$py" "$here/make_random_model.py" "$dir" --preset "$preset" --dtype bf16 >&2
  weight_bytes="$("$py" -c 'import os,sys; print(os.path.getsize(sys.argv[1]))' "$dir/model.safetensors")"
  echo
  echo "== $preset (bf16), rollout: 16-token prompts, $new new tokens per row"
  printf '%6s %14s %16s %10s %14s\n' rows r1train_tok/s transformers_tok/s ratio of_roofline
  for rows in $rows_list; do
    ours="$("$bin" generate --model "$dir" --benchmark-rows "$rows" --max-new-tokens "$new" --device cuda \
            --dtype bfloat16 | field tokens_per_s)"
    peer="$("$py" "$here/bench_gpu_peer.py" generate "$dir" --rows "$rows" --new-tokens "$new" | field tokens_per_s)"
    "$py" - "$rows" "$ours" "$peer" "$bw" "$weight_bytes" <<'PY'
import sys
rows, ours, peer, bw, wb = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5])
bound = bw * 1e9 / wb * rows  # tokens/s if every decode step only read the weights once
print(f"{rows:>6} {ours:14.1f} {peer:16.1f} {ours / peer:9.2f}x {ours / bound:13.0%}")
PY
  done
  echo "== $preset (bf16), one GRPO update: $update_rows rows x (16 + 256) tokens"
  ours_json="$("$bin" inspect --model "$dir" --benchmark-update-rows "$update_rows" --tokens 256 --dtype bfloat16 --device cuda)"
  peer_json="$("$py" "$here/bench_gpu_peer.py" update "$dir" --rows "$update_rows" --tokens 256)"
  "$py" - "$ours_json" "$peer_json" <<'PY'
import json, sys
o, p = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print(f"r1train {o['tokens_per_s']:.0f} tokens/s, eager PyTorch {p['tokens_per_s']:.0f} tokens/s: "
      f"{o['tokens_per_s'] / p['tokens_per_s']:.2f}x (peer peak {p['peak_mem_gib']:.1f} GiB)")
PY
done
echo
echo "== decode loop under CUDA sync debug mode 'error'"
dir="${R1_BENCH_DIR:-/tmp/r1-bench}/$(echo $presets | cut -d' ' -f1)-bf16"
if "$bin" generate --model "$dir" --benchmark-rows 64 --max-new-tokens 64 --device cuda --dtype bfloat16 \
     --cuda-sync-check > /dev/null; then
  echo "no host synchronisation in the decode loop"
else
  echo "the decode loop synchronised with the host (see the error above)"; exit 1
fi
