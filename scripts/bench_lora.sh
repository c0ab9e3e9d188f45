#!/usr/bin/env bash
# LoRA against full fine-tuning in the same script run, on a Qwen2.5-0.5B-shaped model cut to 4
# layers (float32, random weights, the real Qwen2.5 tokenizer from tests/node_modules):
# (1) GRPO steps: seconds per step, update seconds, and peak resident memory (memory/peak_gib),
#     full vs LoRA (r R_LORA, alpha 2R, every linear layer);
# (2) decode tokens/s of the rollout engine with the base alone and with the adapter unmerged
#     (the low-rank path r1train uses), at 1 and 32 rows.
#   scripts/bench_lora.sh [BUILD_DIR]
# Env: R1_BENCH_PRESET (qwen2.5-0.5b-4l), R1_BENCH_DIR (/tmp/r1-bench), R1_BENCH_STEPS (3), R1_LORA_R (16).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$here/.."
build="${1:-$root/build}"
steps="${R1_BENCH_STEPS:-3}"
r="${R1_LORA_R:-16}"
. "$here/bench_qwen_model.sh"

train() {  # train NAME [--set ...]: prints "step_s update_s peak_gib" (means over the steps after the first)
  local name="$1"; shift
  (cd "$root" && "$build/r1train" train --config configs/demo.yaml --set "model.path=$dir" --set "train.steps=$steps" \
    --set train.prompts_per_step=4 --set rollout.group_size=4 --set rollout.max_new_tokens=32 \
    --set train.micro_batch_size=8 --set eval.every=0 --set train.checkpoint_every=0 --set train.log_samples_every=0 \
    --set grpo.ref_sync_every=0 --set grpo.ref_mixup_alpha=0.6 --set grpo.entropy_coef=0 \
    --set "train.output_dir=$work/$name" "$@" > "$work/$name.log" 2>&1) || { cat "$work/$name.log" >&2; exit 1; }
  /usr/bin/python3 - "$work/$name/metrics.jsonl" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()][1:]
mean = lambda k: sum(r[k] for r in rows) / len(rows)
print(f"{mean('timing/step_s'):.2f} {mean('timing/update_s'):.2f} {max(r['memory/peak_gib'] for r in rows):.2f}")
PY
}
read -r full_step full_update full_peak <<< "$(train full)"
read -r lora_step lora_update lora_peak <<< "$(train lora --set lora.r=$r --set lora.alpha=$((2 * r)) --set optim.lr=2e-3)"
echo "model: $dir ($preset, float32), $(nproc) threads; $steps steps of 4 prompts x 4 samples x 32 new tokens"
printf '%-22s %10s %10s %12s\n' training step_s update_s peak_rss_gib
printf '%-22s %10s %10s %12s\n' full "$full_step" "$full_update" "$full_peak"
printf '%-22s %10s %10s %12s\n' "LoRA r $r (all-linear)" "$lora_step" "$lora_update" "$lora_peak"
/usr/bin/python3 -c "import sys; a=list(map(float, sys.argv[1:])); print(f'LoRA / full: step {a[1]/a[0]:.2f}x, update {a[3]/a[2]:.2f}x, peak memory {a[5]/a[4]:.2f}x')" \
  "$full_step" "$lora_step" "$full_update" "$lora_update" "$full_peak" "$lora_peak"

adapter="$work/lora/checkpoints/$(cat "$work/lora/checkpoints/latest")"
rate() { /usr/bin/python3 -c 'import json,sys; print(json.loads(sys.stdin.read().strip().splitlines()[-1])["tokens_per_s"])'; }
printf '%-6s %14s %16s %10s\n' rows base_tok_s adapter_tok_s ratio
for rows in 1 32; do
  base="$("$build/r1train" generate --model "$dir" --benchmark-rows "$rows" --max-new-tokens 64 --device cpu --dtype float32 | rate)"
  with="$("$build/r1train" generate --model "$dir" --adapter "$adapter" --benchmark-rows "$rows" --max-new-tokens 64 \
          --device cpu --dtype float32 | rate)"
  /usr/bin/python3 -c "import sys; b,w=float(sys.argv[2]),float(sys.argv[3]); print(f'{sys.argv[1]:<6} {b:14.1f} {w:16.1f} {w/b:9.2f}x')" "$rows" "$base" "$with"
done
