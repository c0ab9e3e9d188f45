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
# were identical to the committed ones then. Re-run in session 10 (the old script and the one that
# sources demo_sft_stages.sh, once each): the data files are identical, the weights differ from the committed ones (and are
# the same run to run); the committed base is the one the demo's figures were measured with.
# Usage: scripts/make_demo_base.sh [WORK_DIR]   (default runs/demo-base; needs build/r1train)
# Run again with the same WORK_DIR, it continues interrupted stages (sft resumes from its newest
# checkpoint) and skips finished ones; delete WORK_DIR to start over.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/demo_sft_stages.sh
BIN=${R1TRAIN:-build/r1train}
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

sft_stages configs/demo.yaml "$WORK" data/demo-base
echo "make_demo_base: data/demo-base rebuilt from $checkpoint in $(( $(date +%s) - start ))s"
