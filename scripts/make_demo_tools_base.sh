#!/usr/bin/env bash
# Regenerates the tool demo's data from scratch: data/demo-tools-train.jsonl and
# data/demo-tools-test.jsonl (GRPO prompts and held-out problems) and data/demo-tools-base, a tiny
# Qwen2 base model (the CPU demo's architecture and byte-level tokenizer, 263k parameters) pretrained
# by `r1train sft` from random weights on synthetic multiplication corpora. The recipe is the sft:
# section of configs/demo-tools.yaml plus the --set overrides below. Everything is seeded.
#
# Three stages (600 + 600 + 200 steps of 32 examples): the corpus (10% calling the calculator),
# examples that all call it (so that the model learns to copy the question into the call and the
# answer out of it), then the corpus again so that the base model mostly guesses and rarely calls.
# Usage: scripts/make_demo_tools_base.sh [WORK_DIR]   (default runs/demo-tools-base; needs build/r1train)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/demo_sft_stages.sh
BIN=${R1TRAIN:-build/r1train}
WORK=${1:-runs/demo-tools-base}
start=$(date +%s)

mkdir -p "$WORK/spec" data/demo-tools-base
cp data/demo-base/config.json data/demo-base/tokenizer.json data/demo-base/tokenizer_config.json "$WORK/spec/"
"$BIN" gen-data multiplication --n 2000 --seed 2 --output data/demo-tools-train.jsonl
"$BIN" gen-data multiplication-test --n 200 --seed 3 --output data/demo-tools-test.jsonl
"$BIN" gen-data multiplication-corpus --n 19200 --seed 1 --output "$WORK/stage1.jsonl"
"$BIN" gen-data multiplication-calc --n 19200 --seed 3 --output "$WORK/stage2.jsonl"
"$BIN" gen-data multiplication-corpus --n 6400 --seed 4 --output "$WORK/stage3.jsonl"

sft_stages configs/demo-tools.yaml "$WORK" data/demo-tools-base
echo "make_demo_tools_base: data/demo-tools-base rebuilt from $checkpoint in $(( $(date +%s) - start ))s"
