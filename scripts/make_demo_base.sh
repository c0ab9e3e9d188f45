#!/usr/bin/env bash
# Regenerates the CPU demo's data from scratch: data/demo-train.jsonl and data/demo-test.jsonl (GRPO
# prompts and held-out problems) and data/demo-base, a tiny Qwen2 base model (263k parameters)
# pretrained by `r1train sft` from random weights on synthetic addition corpora. The architecture and
# the byte-level tokenizer are data/demo-base's config.json and tokenizer files; the recipe is the
# sft: section of configs/demo.yaml plus the --set overrides below. Everything is seeded.
#
# Three stages (600 + 400 + 200 steps of 32 examples): the addition corpus (12% thinking), a mix
# in which half of the examples think (so the 263k-parameter model learns the scratchpad in
# minutes), then the plain corpus again so that the base model mostly guesses and rarely thinks.
# Measured: 60 s + 42 s + 21 s of sft (132 s in all) on a quiet 2-core machine; the rebuilt files
# were identical to the committed ones.
# Usage: scripts/make_demo_base.sh [WORK_DIR]   (default runs/demo-base; needs build/r1train)
# Run again with the same WORK_DIR, it continues interrupted stages (sft resumes from its newest
# checkpoint) and skips finished ones; delete WORK_DIR to start over.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${R1TRAIN:-build/r1train}
SFT=("$BIN" --threads 1 sft --config configs/demo.yaml)  # one thread: the committed model, bit for bit
WORK=${1:-runs/demo-base}
start=$(date +%s)

mkdir -p "$WORK/spec"
cp data/demo-base/config.json data/demo-base/tokenizer.json data/demo-base/tokenizer_config.json "$WORK/spec/"
"$BIN" gen-data addition --n 2000 --seed 2 --output data/demo-train.jsonl
"$BIN" gen-data addition-test --n 200 --seed 3 --output data/demo-test.jsonl
"$BIN" gen-data addition-corpus --n 19200 --seed 1 --output "$WORK/stage1.jsonl"
"$BIN" gen-data addition-scratchpad --n 6400 --seed 3 --output "$WORK/scratchpad.jsonl"
"$BIN" gen-data addition-corpus --n 6400 --seed 2 --output "$WORK/corpus2.jsonl"
cat "$WORK/scratchpad.jsonl" "$WORK/corpus2.jsonl" > "$WORK/stage2.jsonl"
"$BIN" gen-data addition-corpus --n 6400 --seed 4 --output "$WORK/stage3.jsonl"

latest() { echo "$1/checkpoints/$(cat "$1/checkpoints/latest")"; }
"${SFT[@]}" --set "model.path=$WORK/spec" --set "sft.data=$WORK/stage1.jsonl" \
  --set "sft.output_dir=$WORK/stage1"
"${SFT[@]}" --set "model.path=$(latest "$WORK/stage1")" --set sft.init=pretrained \
  --set "sft.data=$WORK/stage2.jsonl" --set sft.warmup_steps=20 --set "sft.output_dir=$WORK/stage2"
"${SFT[@]}" --set "model.path=$(latest "$WORK/stage2")" --set sft.init=pretrained \
  --set "sft.data=$WORK/stage3.jsonl" --set sft.lr=1e-3 --set sft.warmup_steps=20 --set "sft.output_dir=$WORK/stage3"

checkpoint=$(latest "$WORK/stage3")
for f in config.json generation_config.json model.safetensors tokenizer.json tokenizer_config.json; do
  cp "$checkpoint/$f" data/demo-base/
done
echo "make_demo_base: data/demo-base rebuilt from $checkpoint in $(( $(date +%s) - start ))s"
