#!/usr/bin/env bash
# Load time, peak RSS and CPU forward speed of a generated Qwen2.5-0.5B-shaped bf16 model.
#   scripts/bench_model.sh [BUILD_DIR]     (default: build)
# Generates the model once under ${R1_BENCH_DIR:-/tmp/r1-bench}/qwen2.5-0.5b (~1 GB).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
build="${1:-$here/../build}"
dir="${R1_BENCH_DIR:-/tmp/r1-bench}/qwen2.5-0.5b"
if [[ ! -f "$dir/model.safetensors" ]]; then
  /usr/bin/python3 "$here/make_random_model.py" "$dir" --preset qwen2.5-0.5b --dtype bf16 >&2
fi
# Drop the file from the page cache when allowed, so the first load reads the disk.
sync; (echo 1 > /proc/sys/vm/drop_caches) 2>/dev/null || true
"$build/r1train" inspect --model "$dir"
echo
printf '%-10s %8s %10s %12s %14s %16s %14s\n' dtype load_s model_MiB peak_RSS_MiB RSS/model prefill_tok/s decode_tok/s
for dtype in bfloat16 float32; do
  json="$("$build/r1train" inspect --model "$dir" --benchmark --dtype "$dtype" --tokens 128)"
  /usr/bin/python3 - "$dtype" "$json" <<'PY'
import json, sys
d = json.loads(sys.argv[2])
print(f"{sys.argv[1]:<10} {d['load_s']:8.2f} {d['model_mib']:10.0f} {d['peak_rss_after_load_mib']:12.0f} "
      f"{d['peak_rss_after_load_mib'] / d['model_mib']:14.2f} {d['prefill_tokens_per_s']:16.1f} {d['decode_tokens_per_s']:14.1f}")
PY
done
