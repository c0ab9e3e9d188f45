#!/usr/bin/env bash
# Decode speed of `r1train generate` (KV cache, batched) against (a) full recomputation at
# every step in the same binary and (b) a Python/PyTorch KV-cache implementation of the same
# model (scripts/bench_generate.py, Debian's python3-torch), on the same machine, float32 CPU.
#   scripts/bench_generate.sh [BUILD_DIR]
# Env: R1_BENCH_ROWS ("1 16 64 256"), R1_BENCH_NAIVE_ROWS ("1"; full recomputation is slow), R1_BENCH_NEW_TOKENS (256),
#      R1_BENCH_PRESET (small: Qwen2-shaped, hidden 256, 4 layers, vocab 4096), R1_BENCH_DIR.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
build="${1:-$here/../build}"
preset="${R1_BENCH_PRESET:-small}"
dir="${R1_BENCH_DIR:-/tmp/r1-bench}/$preset-f32"
new="${R1_BENCH_NEW_TOKENS:-256}"
rows_list="${R1_BENCH_ROWS:-1 16 64 256}"
naive_rows="${R1_BENCH_NAIVE_ROWS:-1}"
threads="${R1TRAIN_THREADS:-$(nproc)}"
if [[ ! -f "$dir/model.safetensors" ]]; then
  /usr/bin/python3 "$here/make_random_model.py" "$dir" --preset "$preset" --dtype f32 >&2
fi
rate() { /usr/bin/python3 -c 'import json,sys; print(json.loads(sys.stdin.read().strip().splitlines()[-1])["tokens_per_s"])'; }
echo "model: $dir ($preset, float32), $new new tokens per row, 16-token prompts, $threads threads"
printf '%6s %14s %14s %14s %10s %10s\n' rows r1train_tok/s naive_tok/s python_tok/s x_naive x_python
for rows in $rows_list; do
  ours="$("$build/r1train" --threads "$threads" generate --model "$dir" --benchmark-rows "$rows" \
          --max-new-tokens "$new" --device cpu --dtype float32 | rate)"
  naive="-"
  if [[ " $naive_rows " == *" $rows "* ]]; then
    naive="$("$build/r1train" --threads "$threads" generate --model "$dir" --benchmark-rows "$rows" --naive \
             --max-new-tokens "$new" --device cpu --dtype float32 | rate)"
  fi
  # The peer gets the thread setting r1train gives itself (README, Threads) unless the caller set one.
  py="$(OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-passive}" OPENBLAS_THREAD_TIMEOUT="${OPENBLAS_THREAD_TIMEOUT:-4}" \
        /usr/bin/python3 "$here/bench_generate.py" "$dir" --rows "$rows" --new-tokens "$new" --threads "$threads" | rate)"
  /usr/bin/python3 - "$rows" "$ours" "$naive" "$py" <<'PY'
import sys
rows, ours, naive, py = sys.argv[1], float(sys.argv[2]), sys.argv[3], float(sys.argv[4])
xn = f"{ours / float(naive):.1f}x" if naive != "-" else "-"
nv = f"{float(naive):.1f}" if naive != "-" else "-"
print(f"{rows:>6} {ours:14.1f} {nv:>14} {py:14.1f} {xn:>10} {ours / py:9.2f}x")
PY
done
