#!/usr/bin/env bash
# Reward throughput: scores 100k completions per reward with `r1train score --bench` and compares,
# where one exists, with a Python peer measured in the same run (open-r1's format regex, TinyZero's
# countdown compute_score logic, lm-eval's GSM8K "#### N" regex).
# Usage: scripts/bench_rewards.sh [BUILD_DIR] [N]   (defaults: build, 100000)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
n=${2:-100000}
bin=$build/r1train
data=$root/data/benchmarks
[[ -x $bin ]] || { echo "no $bin; build first" >&2; exit 2; }
[[ -d $data ]] || { echo "no $data (MATH-500 and GSM8K copies)" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
py=/usr/bin/python3

"$bin" gen-data countdown --n "$n" --seed 1 --output "$tmp/cd.jsonl" 2>/dev/null
# Completions: MATH-500 and GSM8K reference solutions wrapped in the R1 format, countdown
# solutions (every third one wrong), repeated up to N lines each.
"$py" - "$n" "$data" "$tmp" <<'PY'
import json, sys, itertools
n, data, tmp = int(sys.argv[1]), sys.argv[2], sys.argv[3]
def write(name, rows, count=None):
    with open(f"{tmp}/{name}.jsonl", "w") as f:
        for r in itertools.islice(itertools.cycle(rows), count or n):
            f.write(json.dumps(r) + "\n")
math = [json.loads(l) for l in open(f"{data}/math500_test.jsonl")]
write("math", [{"prompt": "Q", "completion": f"<think>\n{m['solution']}\n</think>\n<answer>{m['answer']}</answer>",
                "answer": m["answer"]} for m in math])
gsm = [json.loads(l) for l in open(f"{data}/gsm8k_test.jsonl")]
write("gsm8k", [{"prompt": "Q", "completion": f"<think>\n{g['answer']}\n</think>\n<answer>{g['answer'].split('####')[-1].strip()}</answer>",
                 "answer": g["answer"]} for g in gsm])
# Adversarial answers for the math verifier's step budget: deep nesting, towers of powers, huge
# factorials, 10k-character answers, long lists and sums, a 30x30 matrix product.
nested = "1"
for i in range(400): nested = "\\frac{1}{1+" + nested + "}"
mat = "\\begin{pmatrix}" + "\\\\".join("&".join(str(r * c) for c in range(30)) for r in range(30)) + "\\end{pmatrix}"
hard = [nested, "10^{10^{10}}", "2^{2^{2^{2^{2^{2}}}}}", "9999999999!", "(" * 10000, "x" * 10000,
        "+".join(str(i % 10) for i in range(3000)), ",".join(str(i) for i in range(2000)),
        "\\pm ".join(str(i) for i in range(20)), mat + "\\cdot" + mat, "\\sqrt{" * 300 + "2" + "}" * 300]
write("hard", [{"prompt": "Q", "completion": f"<answer>{h}</answer>", "answer": "1"} for h in hard], 10 * len(hard))
cd = [json.loads(l) for l in open(f"{tmp}/cd.jsonl")]
write("countdown", [{"prompt": "Q", "completion": f"<think>try</think>\n<answer>{c['solution'] + (' + 1' if i % 3 == 0 else '')}</answer>",
                     "answer": c["answer"], "numbers": c["numbers"], "target": c["target"]} for i, c in enumerate(cd)])
PY

# Python peers, timed on the same files.
"$py" - "$tmp" > "$tmp/peer.txt" <<'PY'
import json, re, sys, time
tmp = sys.argv[1]
def load(name): return [json.loads(l) for l in open(f"{tmp}/{name}.jsonl")]
def timed(rows, fn):
    t = time.perf_counter(); [fn(r) for r in rows]; return len(rows) / (time.perf_counter() - t)
fmt = re.compile(r"^<think>\n.*?\n</think>\n<answer>.*?</answer>$", re.DOTALL)  # open-r1 format_reward
def countdown(r):  # TinyZero verl/utils/reward_score/countdown.py, without its debug printing
    m = list(re.finditer(r"<answer>(.*?)</answer>", r["completion"]))
    if not m: return 0
    eq = m[-1].group(1).strip()
    if sorted(int(x) for x in re.findall(r"\d+", eq)) != sorted(r["numbers"]): return 0.1
    if not re.match(r"^[\d+\-*/().\s]+$", eq): return 0.1
    try: v = eval(eq, {"__builtins__": None}, {})
    except Exception: return 0.1
    return 1.0 if abs(v - r["target"]) < 1e-5 else 0.1
num = re.compile(r"#### (\-?[0-9\.\,]+)")  # lm-eval gsm8k strict-match
def gsm8k(r):
    m = num.search(r["completion"]); ref = r["answer"].split("####")[-1].strip().replace(",", "")
    return 1.0 if m and m.group(1).replace(",", "").rstrip(".") == ref else 0.0
math, cd, gsm = load("math"), load("countdown"), load("gsm8k")
print("format", timed(math, lambda r: 1.0 if fmt.match(r["completion"]) else 0.0))
print("countdown", timed(cd, countdown))
print("gsm8k", timed(gsm, gsm8k))
PY

bench() {  # reward input-file
  "$bin" --log-level off score --bench --reward "$1" --input "$tmp/$2.jsonl" | awk -v r="$1" '$1 == r {print $4}'
}
slowest() {  # reward input-file: the slowest single completion, ms
  "$bin" --log-level off score --bench --reward "$1" --input "$tmp/$2.jsonl" | awk -v r="$1" '$1 == r {print $5}'
}
printf "%-10s %-10s %14s %14s %8s\n" reward input "r1train c/s" "python c/s" ratio
for spec in format:math tag_count:math math:math math:hard gsm8k:gsm8k countdown:countdown exact:math choice:math; do
  reward=${spec%%:*} input=${spec##*:}
  ours=$(bench "$reward" "$input")
  peer=$(awk -v r="$reward" '$1 == r {printf "%.0f", $2}' "$tmp/peer.txt")
  if [[ -n $peer ]]; then
    printf "%-10s %-10s %14.0f %14.0f %7.1fx\n" "$reward" "$input" "$ours" "$peer" "$(echo "$ours / $peer" | bc -l)"
  else
    printf "%-10s %-10s %14.0f %14s %8s\n" "$reward" "$input" "$ours" - -
  fi
done
echo "($n completions per reward, 110 for the adversarial set; c/s = completions per second, one thread)"
echo "math verifier, slowest single check: $(slowest math math) ms on MATH-500 solutions, $(slowest math hard) ms on adversarial answers"
