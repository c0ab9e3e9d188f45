#!/usr/bin/env bash
# One GRPO update (log-probs, clipped loss, backward, clipping, AdamW) of r1train against an eager
# PyTorch step on the same model and tokens (scripts/bench_update.py: full logits,
# torch.optim.AdamW), and optionally another r1train binary, in one run, float32 CPU.
#   scripts/bench_update.sh [BUILD_DIR]
# Env: R1_BENCH_PRESET (small-qwen-vocab), R1_BENCH_ROWS ("8"), R1_BENCH_TOKENS (128),
#      R1_BENCH_BASELINE (path of another r1train; column left out when unset), R1_BENCH_DIR.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
build="${1:-$here/../build}"
preset="${R1_BENCH_PRESET:-small-qwen-vocab}"
dir="${R1_BENCH_DIR:-/tmp/r1-bench}/$preset-f32"
tokens="${R1_BENCH_TOKENS:-128}"
rows_list="${R1_BENCH_ROWS:-8}"
baseline="${R1_BENCH_BASELINE:-}"
threads="${R1TRAIN_THREADS:-$(nproc)}"
if [[ ! -f "$dir/model.safetensors" ]]; then
  /usr/bin/python3 "$here/make_random_model.py" "$dir" --preset "$preset" --dtype f32 >&2
fi
field() { /usr/bin/python3 -c 'import json,sys; d=json.loads(sys.stdin.read().strip().splitlines()[-1]); print(d[sys.argv[1]])' "$1"; }
r1() { "$1" --threads "$threads" inspect --model "$dir" --benchmark-update-rows "$2" --tokens "$tokens" --dtype float32; }
echo "model: $dir ($preset, float32), 16-token prompts + $tokens-token completions, $threads threads"
[[ -n "$baseline" ]] && echo "baseline: $baseline"
printf '%6s %14s %14s %14s %12s %12s %16s %16s\n' rows r1train_tok/s baseline_tok/s pytorch_tok/s x_baseline x_pytorch \
  r1_peak_RSS_MiB pt_peak_RSS_MiB
for rows in $rows_list; do
  ours_json="$(r1 "$build/r1train" "$rows")"
  ours="$(field tokens_per_s <<<"$ours_json")"; rss="$(field peak_rss_mib <<<"$ours_json")"
  base="-"; [[ -n "$baseline" ]] && base="$(r1 "$baseline" "$rows" | field tokens_per_s)"
  peer_json="$(OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-passive}" /usr/bin/python3 "$here/bench_update.py" "$dir" \
          --rows "$rows" --tokens "$tokens" --threads "$threads")"
  peer="$(field tokens_per_s <<<"$peer_json")"; peer_rss="$(field peak_rss_mib <<<"$peer_json")"
  /usr/bin/python3 - "$rows" "$ours" "$base" "$peer" "$rss" "$peer_rss" <<'PY'
import sys
rows, ours, base, peer, rss, prss = sys.argv[1], float(sys.argv[2]), sys.argv[3], float(sys.argv[4]), float(sys.argv[5]), float(sys.argv[6])
xb = f"{ours / float(base):.2f}x" if base != "-" else "-"
b = f"{float(base):.1f}" if base != "-" else "-"
print(f"{rows:>6} {ours:14.1f} {b:>14} {peer:14.1f} {xb:>12} {ours / peer:11.2f}x {rss:16.0f} {prss:16.0f}")
PY
done
