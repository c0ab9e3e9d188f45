#!/usr/bin/env bash
# Differential check of r1train's `math` (and `gsm8k`) answer verifier against Hugging Face
# Math-Verify, the reference, on a labelled corpus built from data/benchmarks
# (scripts/verifier_corpus.py generate).
#
#   scripts/check_verifier.sh MATH_VERIFY_SRC LATEX2SYMPY_SRC [--r1train BIN] [--work DIR]
#                             [--seed N] [--timeout S] [--mv-tests] [--no-install]
#
#   MATH_VERIFY_SRC   a checkout of github.com/huggingface/Math-Verify (v0.8.0)
#   LATEX2SYMPY_SRC   a checkout of github.com/huggingface/latex2sympy2_extended at 1.10.2, the
#                     version Math-Verify 0.8 pins (commit 0873506 "bump version"; the repository
#                     has no tags)
#   --r1train BIN     the binary to check (default build/r1train)
#   --work DIR        where everything is set up and written (default ${TMPDIR:-/tmp}/r1train-verifier)
#   --seed N          corpus seed (default 1234)
#   --timeout S       Math-Verify's per-call parse / verify timeout in seconds (default 5)
#   --mv-tests        also run Math-Verify's own test suite (needs python3-pytest)
#   --no-install      never apt-get install; only print the command
#
# Runs without PyPI, on Debian bookworm's packages under /usr/bin/python3: python3-sympy (1.11),
# python3-antlr4 (4.9.1 runtime) and a Java runtime (default-jre-headless) to generate
# latex2sympy2_extended's LaTeX parser, which is not in git, with the ANTLR 4.9.3 jar the
# repository ships. Missing packages are installed with apt-get when run as root (it says so);
# otherwise the command is printed and the script stops.
#
# Setup gotchas handled here:
#   * the parser must be generated in a UTF-8 locale (the grammar has non-ASCII tokens such as
#     U+2212 MINUS, U+2264 LE): under LC_ALL=C the generated lexer is silently wrong
#     ("$x ≤ 3$" parses to 3); we set LC_ALL=C.UTF-8 and -Dfile.encoding=UTF-8 and check it.
#   * latex2sympy2_extended refuses an antlr4 runtime whose version string is not 4.9.3 / 4.11 /
#     4.13.2; a one-file dist-info shim declaring antlr4-python3-runtime 4.9.3 goes first on
#     PYTHONPATH (the 4.9.3-generated parser runs on Debian's 4.9.1 runtime).
#   * the sources are copied into WORK, so the checkouts are not modified.
#
# Math-Verify's call (see scripts/verifier_corpus.py): open-r1's accuracy_reward, i.e.
#   gold = parse("$ANSWER$", extraction_mode="first_match") and
#   verify(gold, parse(completion, [LatexExtractionConfig(boxed_match_priority=0,
#          try_extract_without_anchor=False, normalization_config=NormalizationConfig(
#          nits=False, malformed_operators=False, basic_latex=True, equations=True,
#          boxed="all", units=True))], extraction_mode="first_match"))
# plus a lenient column with Math-Verify's default parse(completion).
#
# Output: a table per category (cases; r1train and Math-Verify agreement with the labels;
# r1train false positives / negatives; r1train vs Math-Verify), timings, and
# WORK/disagreements.jsonl (every line where r1train, Math-Verify and the label are not all
# equal). Exit status 0 unless the setup fails.
#
# Second, held-out comparison: the cases Math-Verify's authors wrote in its own test suite
# (MATH_VERIFY_SRC/tests/*.py), read from the sources at run time with Python's ast module
# (verifier_corpus.py mvtests-extract; nothing of them is kept in this repository): each
# `assert compare_strings(GOLD, PRED, ...) == EXPECTED` / `verify(parse(GOLD), parse(PRED))`
# under each parametrize row is a case. Calls with non-default options (precision other than 6,
# strict=False, allow_set_relation_comp=True, parse() with its own extraction config) and
# asserts that are no gold / pred verdict are skipped, counted by reason. r1train scores each
# kept case with `score -r math --extract any` on {"completion": PRED, "answer": GOLD'}: the
# test helper parses BOTH strings with extraction, so the authors often wrote GOLD as `$...$`,
# while r1train reduces `answer` by its own rule (its \boxed contents, the number after "####",
# else the text as it is); GOLD' is GOLD with one outer $...$ / $$...$$ / \(...\) / \[...\]
# pair stripped. Math-Verify runs the same cases through the test's own call (compare_strings
# taken from tests/test_all.py). Output: a per-file table after the first one, and
# WORK/mv_tests_disagreements.jsonl (every case where r1train differs from the expected verdict).
# With --mv-tests the pytest summary is printed again under that table.
set -euo pipefail

die() { echo "check_verifier: $*" >&2; exit 1; }

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
mv_src="" l2s_src=""
bin="$repo/build/r1train"
work="${TMPDIR:-/tmp}/r1train-verifier"
seed=1234 timeout=5 mv_tests=0 install=1
while [ $# -gt 0 ]; do
  case "$1" in
    --r1train) bin="$2"; shift 2 ;;
    --work) work="$2"; shift 2 ;;
    --seed) seed="$2"; shift 2 ;;
    --timeout) timeout="$2"; shift 2 ;;
    --mv-tests) mv_tests=1; shift ;;
    --no-install) install=0; shift ;;
    -h|--help) sed -n '2,62p' "$0"; exit 0 ;;
    -*) die "unknown option $1" ;;
    *) if [ -z "$mv_src" ]; then mv_src="$1"; elif [ -z "$l2s_src" ]; then l2s_src="$1"; else die "extra argument $1"; fi; shift ;;
  esac
done
[ -n "$mv_src" ] && [ -n "$l2s_src" ] || die "usage: $0 MATH_VERIFY_SRC LATEX2SYMPY_SRC [--r1train BIN] [--work DIR]"
mv_src="$(cd "$mv_src" && pwd)" || die "no directory $mv_src"
l2s_src="$(cd "$l2s_src" && pwd)" || die "no directory $l2s_src"
[ -f "$mv_src/src/math_verify/__init__.py" ] || die "$mv_src is not a Math-Verify checkout (no src/math_verify)"
[ -f "$l2s_src/src/latex2sympy2_extended/PS.g4" ] || die "$l2s_src is not a latex2sympy2_extended checkout (no src/latex2sympy2_extended/PS.g4)"
case "$bin" in /*) ;; *) bin="$(pwd)/$bin" ;; esac
[ -x "$bin" ] || die "no r1train binary at $bin (build it, or pass --r1train BIN)"
mkdir -p "$work"
work="$(cd "$work" && pwd)"

py=/usr/bin/python3
# a clean interpreter: Debian's python3, no user site, nothing inherited on the path
pyrun() { env -u PYTHONHOME PYTHONNOUSERSITE=1 PYTHONPATH="$work/shim:$work/py" LC_ALL=C.UTF-8 "$py" -s "$@"; }

# ---- 1. system packages ---------------------------------------------------------------------
need=()
[ -x "$py" ] || need+=(python3)
if [ -x "$py" ]; then
  env -u PYTHONPATH "$py" -s -c 'import sympy' 2>/dev/null || need+=(python3-sympy)
  env -u PYTHONPATH "$py" -s -c 'import antlr4' 2>/dev/null || need+=(python3-antlr4)
fi
command -v java >/dev/null 2>&1 || need+=(default-jre-headless)
if [ "$mv_tests" = 1 ] && [ -x "$py" ] && ! env -u PYTHONPATH "$py" -s -c 'import pytest' 2>/dev/null; then
  need+=(python3-pytest)
fi
if [ ${#need[@]} -gt 0 ]; then
  cmd="apt-get install -y ${need[*]}"
  if [ "$install" = 1 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: missing ${need[*]}: running as root, installing: $cmd"
    DEBIAN_FRONTEND=noninteractive apt-get install -y "${need[@]}" >/dev/null 2>&1 ||
      { DEBIAN_FRONTEND=noninteractive apt-get update >/dev/null 2>&1 &&
        DEBIAN_FRONTEND=noninteractive apt-get install -y "${need[@]}" >/dev/null; } ||
      die "'$cmd' failed"
  else
    die "missing ${need[*]}; install with: sudo $cmd"
  fi
fi
sympy_v=$(env -u PYTHONPATH "$py" -s -c 'import sympy; print(sympy.__version__)')
antlr_v=$(env -u PYTHONPATH "$py" -s -c 'import importlib.metadata as m; print(m.version("antlr4-python3-runtime"))' 2>/dev/null || echo unknown)
echo "setup: $("$py" --version 2>&1) at $py, sympy $sympy_v, antlr4 runtime $antlr_v, $(java -version 2>&1 | head -1)"

# ---- 2. sources -----------------------------------------------------------------------------
mv_v=$(sed -n 's/^version *= *"\(.*\)"/\1/p' "$mv_src/pyproject.toml" | head -1)
l2s_v=$(sed -n 's/^version *= *"\(.*\)"/\1/p' "$l2s_src/pyproject.toml" | head -1)
pin=$(grep -o 'latex2sympy2_extended==[0-9.]*' "$mv_src/pyproject.toml" | head -1 | cut -d= -f3)
echo "setup: Math-Verify $mv_v ($mv_src), latex2sympy2_extended $l2s_v ($l2s_src); Math-Verify pins ${pin:-?}"
case "$mv_v" in 0.8.*) ;; *) echo "setup: WARNING: Math-Verify $mv_v is not 0.8.x" ;; esac
[ -z "$pin" ] || [ "$pin" = "$l2s_v" ] || echo "setup: WARNING: latex2sympy2_extended $l2s_v is not the pinned $pin"
jar=$(find "$l2s_src" -name 'antlr-4.9.3-complete.jar' -not -path '*/.git/*' | head -1)
[ -n "$jar" ] || die "no antlr-4.9.3-complete.jar in $l2s_src (latex2sympy2_extended ships it at its root)"
[ "$(stat -c %s "$jar")" -gt 1000000 ] || die "$jar is not the jar (a Git LFS pointer?)"

rm -rf "$work/py" "$work/shim"
mkdir -p "$work/py" "$work/shim"
cp -r "$mv_src/src/math_verify" "$work/py/"
cp -r "$l2s_src/src/latex2sympy2_extended" "$work/py/"
rm -rf "$work/py/latex2sympy2_extended/gen"

# ---- 3. the LaTeX parser (ANTLR 4.9.3, UTF-8) and the runtime version shim -------------------
gen="$work/py/latex2sympy2_extended/gen/antlr4_9_3"
(cd "$work/py/latex2sympy2_extended" &&
 LC_ALL=C.UTF-8 java -Dfile.encoding=UTF-8 -jar "$jar" -Dlanguage=Python3 PS.g4 -o gen/antlr4_9_3 \
   > "$work/antlr.log" 2>&1) || { cat "$work/antlr.log" >&2; die "ANTLR parser generation failed"; }
touch "$work/py/latex2sympy2_extended/gen/__init__.py" "$gen/__init__.py"
[ -f "$gen/PSParser.py" ] && [ -f "$gen/PSLexer.py" ] || die "ANTLR wrote no PSParser.py / PSLexer.py"
case "$antlr_v" in
  4.9.3*) echo "setup: antlr4 runtime is 4.9.3, no shim" ;;
  4.9*)
    mkdir -p "$work/shim/antlr4_python3_runtime-4.9.3.dist-info"
    printf 'Metadata-Version: 2.1\nName: antlr4-python3-runtime\nVersion: 4.9.3\n' \
      > "$work/shim/antlr4_python3_runtime-4.9.3.dist-info/METADATA"
    echo "setup: runtime $antlr_v: shim $work/shim/antlr4_python3_runtime-4.9.3.dist-info declares 4.9.3" ;;
  *) die "antlr4 runtime $antlr_v: this script generates the 4.9.3 parser and needs a 4.9.x runtime" ;;
esac

# ---- 4. smoke test (includes a non-ASCII token: a C-locale lexer fails it) -------------------
pyrun - <<'EOF' || die "Math-Verify smoke test failed (see above)"
import importlib.metadata as m
from math_verify import parse, verify
checks = [
    ("$\\frac{1}{2}$", "$0.5$", True),
    ("$\\frac{1}{2}$", "$\\frac{1}{3}$", False),
    ("$(0,1)$", "$(0,1]$", False),
    ("$\\{1,2\\}$", "$\\{2,1\\}$", True),
    ("$6$", "$2 × 3$", True),          # U+00D7: wrong with a lexer generated under LC_ALL=C
]
bad = 0
for g, p, want in checks:
    got = verify(parse(g), parse(p))
    print("  verify(parse(%r), parse(%r)) = %s" % (g, p, got))
    bad += got != want
rel = parse("$x ≤ 3$")
print("  parse('$x ≤ 3$') =", rel[0] if rel else rel)
bad += not rel or "<=" not in str(rel[0])
print("setup: smoke test %s (antlr4-python3-runtime seen as %s)" % ("passed" if not bad else "FAILED", m.version("antlr4-python3-runtime")))
raise SystemExit(1 if bad else 0)
EOF

mv_pytest=""
if [ "$mv_tests" = 1 ]; then
  rm -rf "$work/mv-tests" && mkdir -p "$work/mv-tests" && cp -r "$mv_src/tests" "$work/mv-tests/"
  echo "setup: Math-Verify's own tests (pytest):"
  # kept for the held-out table (section 6): Math-Verify's own pass count under this setup
  mv_pytest=$(cd "$work/mv-tests" && pyrun -m pytest -q -p no:cacheprovider tests 2>&1 | tail -1) || true
  echo "  $mv_pytest"
fi

# ---- 5. corpus, verdicts, report --------------------------------------------------------------
"$py" -s "$repo/scripts/verifier_corpus.py" generate --data "$repo/data/benchmarks" --seed "$seed" -o "$work/corpus.jsonl"

t0=$(date +%s.%N)
pyrun "$repo/scripts/verifier_corpus.py" mathverify "$work/corpus.jsonl" "$work/mathverify.jsonl" --timeout "$timeout" \
  2> "$work/mathverify.log" || { tail -20 "$work/mathverify.log" >&2; die "Math-Verify run failed"; }
t1=$(date +%s.%N)
"$py" -s "$repo/scripts/verifier_corpus.py" r1train "$work/corpus.jsonl" "$work/r1train.jsonl" --bin "$bin"
t2=$(date +%s.%N)
echo
"$py" -s "$repo/scripts/verifier_corpus.py" report "$work/corpus.jsonl" "$work/mathverify.jsonl" "$work/r1train.jsonl" \
  --disagreements "$work/disagreements.jsonl"
echo
awk -v a="$t0" -v b="$t1" -v c="$t2" 'BEGIN { printf "timings: Math-Verify %.1f s (incl. import), r1train %.1f s (all score runs)\n", b - a, c - b }'
echo "files: $work/{corpus,mathverify,r1train,disagreements}.jsonl"

# ---- 6. held-out: the cases in Math-Verify's own test suite (see the header) -----------------
echo
"$py" -s "$repo/scripts/verifier_corpus.py" mvtests-extract --tests "$mv_src/tests" \
  -o "$work/mv_tests_cases.jsonl" --skipped "$work/mv_tests_skipped.jsonl"
# Math-Verify's verdicts through each test's own call (the MV=expect column); a failure here
# leaves that column empty rather than stopping the r1train side
pyrun "$repo/scripts/verifier_corpus.py" mvtests-mathverify "$work/mv_tests_cases.jsonl" "$work/mv_tests_mathverify.jsonl" \
  --tests "$mv_src/tests" 2> "$work/mv_tests_mathverify.log" ||
  { tail -5 "$work/mv_tests_mathverify.log" >&2; echo "mv-tests: Math-Verify run failed; MV=expect left empty"; rm -f "$work/mv_tests_mathverify.jsonl"; }
# --tag keeps r1train's per-group files (r1_in_/r1_out_mv_tests_math_any.jsonl) apart from the corpus run's
"$py" -s "$repo/scripts/verifier_corpus.py" r1train "$work/mv_tests_cases.jsonl" "$work/mv_tests_r1train.jsonl" \
  --bin "$bin" --tag mv_tests_
echo
"$py" -s "$repo/scripts/verifier_corpus.py" mvtests-report "$work/mv_tests_cases.jsonl" "$work/mv_tests_r1train.jsonl" \
  --mv "$work/mv_tests_mathverify.jsonl" --skipped "$work/mv_tests_skipped.jsonl" \
  --disagreements "$work/mv_tests_disagreements.jsonl"
if [ -n "$mv_pytest" ]; then
  echo "Math-Verify's pytest run of the whole suite (skipped kinds included): $mv_pytest"
fi
echo "files: $work/mv_tests_{cases,skipped,mathverify,r1train,disagreements}.jsonl"
