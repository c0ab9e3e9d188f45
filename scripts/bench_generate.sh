#!/usr/bin/env bash
# Decode speed of `r1train generate --benchmark-rows` (static-shape slots, continuous batching)
# against, in the same run on the same model: (a) another r1train binary (R1_BENCH_BASELINE, e.g.
# the engine this one replaced, built from an older commit), (b) a Python/PyTorch KV-cache loop
# of the same model (scripts/bench_generate.py, Debian's python3-torch), and (c) the bound the LM
# head alone sets: the time of the [rows x width] by [width x vocab] product per token.
#   scripts/bench_generate.sh [BUILD_DIR]
# Env: R1_BENCH_ROWS ("1 16 64 256"), R1_BENCH_NEW_TOKENS (256), R1_BENCH_PRESET (small: Qwen2-shaped,
#      hidden 256, 4 layers, vocab 4096; qwen2.5-0.5b-4l: Qwen2.5-0.5B cut to 4 layers, vocab 151936),
#      R1_BENCH_MODEL (an existing model directory instead of a generated preset, e.g. data/demo-base),
#      R1_BENCH_BASELINE (path of another r1train; column left out when unset),
#      R1_BENCH_NAIVE_ROWS (rows also run with full recomputation at every step; none by default), R1_BENCH_DIR.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
build="${1:-$here/../build}"
preset="${R1_BENCH_PRESET:-small}"
dir="${R1_BENCH_MODEL:-${R1_BENCH_DIR:-/tmp/r1-bench}/$preset-f32}"
new="${R1_BENCH_NEW_TOKENS:-256}"
rows_list="${R1_BENCH_ROWS:-1 16 64 256}"
naive_rows="${R1_BENCH_NAIVE_ROWS:-}"
baseline="${R1_BENCH_BASELINE:-}"
threads="${R1TRAIN_THREADS:-$(nproc)}"
if [[ ! -f "$dir/model.safetensors" ]]; then
  /usr/bin/python3 "$here/make_random_model.py" "$dir" --preset "$preset" --dtype f32 >&2
fi
rate() { /usr/bin/python3 -c 'import json,sys; print(json.loads(sys.stdin.read().strip().splitlines()[-1])["tokens_per_s"])'; }
r1() {  # r1 BINARY ROWS [FLAGS...]
  local bin="$1" rows="$2"; shift 2
  "$bin" --threads "$threads" generate --model "$dir" --benchmark-rows "$rows" --max-new-tokens "$new" \
    --device cpu --dtype float32 "$@" | rate
}
# The peer gets the thread setting r1train gives itself (docs/training.md, Threads) unless the caller set one.
py() {
  OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-passive}" OPENBLAS_THREAD_TIMEOUT="${OPENBLAS_THREAD_TIMEOUT:-4}" \
    /usr/bin/python3 "$here/bench_generate.py" "$dir" --new-tokens "$new" --threads "$threads" "$@" | rate
}
[[ -n "${R1_BENCH_MODEL:-}" ]] && preset="$(basename "$dir")"
echo "model: $dir ($preset, float32), $new new tokens per row, 16-token prompts, $threads threads"
[[ -n "$baseline" ]] && echo "baseline: $baseline"
printf '%6s %12s %12s %12s %12s %12s %10s %10s %10s\n' rows r1train baseline python naive lm_head_bound \
  x_baseline x_python of_bound
for rows in $rows_list; do
  ours="$(r1 "$build/r1train" "$rows")"
  base="-"; [[ -n "$baseline" ]] && base="$(r1 "$baseline" "$rows")"
  naive="-"; [[ " $naive_rows " == *" $rows "* ]] && naive="$(r1 "$build/r1train" "$rows" --naive)"
  peer="$(py --rows "$rows")"
  bound="$(py --rows "$rows" --lm-head-only)"
  /usr/bin/python3 - "$rows" "$ours" "$base" "$peer" "$naive" "$bound" <<'PY'
import sys
rows, ours, base, peer, naive, bound = sys.argv[1], float(sys.argv[2]), sys.argv[3], float(sys.argv[4]), sys.argv[5], float(sys.argv[6])
f = lambda v: f"{float(v):.1f}" if v != "-" else "-"
xb = f"{ours / float(base):.2f}x" if base != "-" else "-"
print(f"{rows:>6} {ours:12.1f} {f(base):>12} {peer:12.1f} {f(naive):>12} {bound:12.1f} {xb:>10} {ours / peer:9.2f}x {ours / bound:9.0%}")
PY
done
