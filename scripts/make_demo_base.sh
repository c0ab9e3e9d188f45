#!/usr/bin/env bash
# Regenerates the CPU demo's data from scratch: data/demo-train.jsonl and data/demo-test.jsonl (GRPO
# prompts and held-out problems) and data/demo-base, a tiny Qwen2 base model pretrained by
# `r1train sft` on a synthetic addition corpus (gen-data addition-corpus) from random weights. The
# architecture and the byte-level tokenizer are data/demo-base's config.json and tokenizer files;
# the training recipe is the sft: section of configs/demo.yaml. Everything is seeded.
# Usage: scripts/make_demo_base.sh [WORK_DIR]   (default runs/demo-base; needs build/r1train)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${R1TRAIN:-build/r1train}
WORK=${1:-runs/demo-base}
CORPUS_SIZE=${CORPUS_SIZE:-32000}

mkdir -p "$WORK/spec"
cp data/demo-base/config.json data/demo-base/tokenizer.json data/demo-base/tokenizer_config.json "$WORK/spec/"
"$BIN" gen-data addition --n 2000 --seed 2 --output data/demo-train.jsonl
"$BIN" gen-data addition-test --n 200 --seed 3 --output data/demo-test.jsonl
"$BIN" gen-data addition-corpus --n "$CORPUS_SIZE" --seed 1 --output "$WORK/corpus.jsonl"
start=$(date +%s)
"$BIN" sft --config configs/demo.yaml --set "model.path=$WORK/spec" --set "sft.data=$WORK/corpus.jsonl" \
  --set "sft.output_dir=$WORK/sft"
checkpoint="$WORK/sft/checkpoints/$(cat "$WORK/sft/checkpoints/latest")"
for f in config.json generation_config.json model.safetensors tokenizer.json tokenizer_config.json; do
  cp "$checkpoint/$f" data/demo-base/
done
echo "make_demo_base: data/demo-base rebuilt from $checkpoint in $(( $(date +%s) - start ))s of sft"
