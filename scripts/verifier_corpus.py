#!/usr/bin/env python3
"""Labelled corpus for the `math` / `gsm8k` answer verifiers, and the differential
comparison of r1train's verdicts against Hugging Face Math-Verify.

Subcommands (scripts/check_verifier.sh runs them in this order):

  generate   --data DIR [--seed N] -o corpus.jsonl
             Reads data/benchmarks (MATH-500, AIME24, AMC23, GSM8K test) and writes one JSON
             line per case: id, category, reward (math|gsm8k), extract (tagged|any), answer (the
             reference as the dataset gives it), completion, label (equivalent by construction).
             Only the standard library; deterministic for a given seed.
  mathverify corpus.jsonl out.jsonl [--timeout S]
             Math-Verify's verdicts (needs math_verify + latex2sympy2_extended importable).
  r1train    corpus.jsonl out.jsonl --bin BIN
             r1train's verdicts: `BIN --threads 1 score -r REWARD -i GROUP.jsonl -o ...`, one run
             per (reward, extract) group; extract=any lines get `--extract any`, and a binary
             that rejects the flag leaves those lines "not run".
  report     corpus.jsonl mv.jsonl r1.jsonl --disagreements out.jsonl
             Per-category table and every disagreement.

Held out (the cases in Math-Verify's own test suite; see the section "held-out cases" below):
  mvtests-extract     --tests MATH_VERIFY_SRC/tests -o cases.jsonl --skipped skipped.jsonl
             The gold / pred / expected cases of tests/*.py, read with ast at run time; the
             fields `r1train` reads are added (completion = pred, answer = gold less one outer
             $...$-style delimiter pair). Prints the skipped calls by reason.
  mvtests-mathverify  cases.jsonl out.jsonl --tests MATH_VERIFY_SRC/tests
             Math-Verify's verdicts through each test's own call.
  r1train    cases.jsonl out.jsonl --bin BIN --tag mv_tests_   (as above)
  mvtests-report      cases.jsonl r1.jsonl --mv mv.jsonl --skipped skipped.jsonl --disagreements out.jsonl
             Per-file table and every case where r1train differs from the expected verdict.

Math-Verify call (mirrors open-r1's accuracy_reward, src/open_r1/rewards.py):
  gold = parse(GOLD, extraction_mode="first_match")     # Math-Verify's default extraction config
  pred = parse(completion, extraction_config=[LatexExtractionConfig(
             normalization_config=NormalizationConfig(nits=False, malformed_operators=False,
                 basic_latex=True, equations=True, boxed="all", units=True),
             boxed_match_priority=0, try_extract_without_anchor=False)],
             extraction_mode="first_match")
  verdict = verify(gold, pred)                             # open-r1 skips (None) unparsable gold
GOLD is the reference wrapped as `$...$` when it has no `$` / `\\boxed` (open-r1 passes a
solution text; Math-Verify's README asks for the gold in a LaTeX environment: a bare
`\\left( 3, \\frac{\\pi}{2} \\right)` would otherwise be read by the plain-expression
extractor); a GSM8K reference is the number after `#### ` (commas removed), as r1train takes it.
A second, lenient column "mv_default" is verify(gold, parse(completion)) with Math-Verify's
default extraction (LaTeX + plain expressions, no anchor needed), to separate extraction misses
(bare `<answer>5</answer>` has no LaTeX anchor for open-r1's config) from comparison verdicts.
Each parse / verify call has Math-Verify's own SIGALRM timeout (--timeout seconds).
"""

import argparse
import json
import os
import random
import re
import subprocess
import sys
import time
from fractions import Fraction

THINK = "<think>\nI work through the problem step by step.\n</think>\n"


# ---------------------------------------------------------------------------------------------
# numbers
# ---------------------------------------------------------------------------------------------

def frac_tex(v, cmd="\\frac"):
    """Fraction -> LaTeX (integer when the denominator is 1)."""
    v = Fraction(v)
    if v.denominator == 1:
        return str(v.numerator)
    sign = "-" if v < 0 else ""
    return "%s%s{%d}{%d}" % (sign, cmd, abs(v.numerator), v.denominator)


def exact_decimal(v):
    """Exact decimal text of a Fraction, or None when it does not terminate."""
    v = Fraction(v)
    d = v.denominator
    k2 = k5 = 0
    while d % 2 == 0:
        d //= 2
        k2 += 1
    while d % 5 == 0:
        d //= 5
        k5 += 1
    if d != 1:
        return None
    places = max(k2, k5)
    if places == 0:
        return str(v.numerator)
    scaled = abs(v.numerator) * (10 ** places) // v.denominator
    s = str(scaled).rjust(places + 1, "0")
    out = s[:-places] + "." + s[-places:]
    return ("-" if v < 0 else "") + out


def thousands(n, sep=","):
    s = str(abs(n))
    groups = []
    while len(s) > 3:
        groups.insert(0, s[-3:])
        s = s[:-3]
    groups.insert(0, s)
    return ("-" if n < 0 else "") + sep.join(groups)


NUM_RE = re.compile(r"-?(\d+(\.\d*)?|\.\d+)")


def parse_plain_number(s):
    """Integer / decimal text with optional thousands separators (`,` `,\\!` `{,}`) -> Fraction."""
    t = s.strip().replace("\\!", "").replace("{,}", ",").replace(" ", "")
    if re.fullmatch(r"-?\d{1,3}(,\d{3})+", t):
        t = t.replace(",", "")
    if NUM_RE.fullmatch(t):
        return Fraction(t)
    return None


FRAC_RE = re.compile(r"(-?)\\[dt]?frac\s*(\{(\d+)\}|(\d))\s*(\{(\d+)\}|(\d))")


def parse_simple(ans):
    """Classify a MATH-style numeric reference. Returns (kind, Fraction, info) or None.
    kinds: int, frac, dec, deg, dollar, unit, mixed."""
    s = ans.strip()
    v = parse_plain_number(s)
    if v is not None:
        if v.denominator == 1 and "." not in s:
            return ("int", v, {})
        return ("dec", v, {})
    m = FRAC_RE.fullmatch(s.replace(" ", "")) if "frac" in s else None
    if m:
        num = int(m.group(3) or m.group(4))
        den = int(m.group(6) or m.group(7))
        v = Fraction(num, den) * (-1 if m.group(1) else 1)
        return ("frac", v, {})
    m = re.fullmatch(r"(-?\d+)\^\\circ", s)
    if m:
        return ("deg", Fraction(int(m.group(1))), {})
    m = re.fullmatch(r"\\\$([\d,\\!.]+)", s)
    if m:
        v = parse_plain_number(m.group(1))
        if v is not None:
            return ("dollar", v, {"text": m.group(1)})
    m = re.fullmatch(r"(\d+)\s*\\frac\{(\d+)\}\{(\d+)\}", s)
    if m:
        w, a, b = int(m.group(1)), int(m.group(2)), int(m.group(3))
        return ("mixed", Fraction(w) + Fraction(a, b), {"whole": w, "num": a, "den": b})
    return None


# Units answers of MATH-500, by hand: reference -> (value, equivalents, non-equivalents)
UNIT_TABLE = {
    "5.4 \\text{ cents}": (["5.4", "5.4\\text{ cents}", "5.40 \\text{ cents}"],
                           ["5.5", "5.5 \\text{ cents}", "54 \\text{ cents}"]),
    "864 \\mbox{ inches}^2": (["864", "864 \\text{ square inches}", "864\\text{ in}^2"],
                              ["865", "86.4", "12^2"]),
    "15\\mbox{ cm}^2": (["15", "15 \\text{ cm}^2", "15\\ \\text{cm}^2"], ["16", "15^2", "1.5"]),
    "\\frac{270}7\\text{ degrees}": (["\\frac{270}{7}", "\\frac{270}{7}^\\circ", "\\frac{270}{7} \\text{ degrees}",
                                      "\\dfrac{270}{7}"],
                                     ["\\frac{271}{7}", "\\frac{270}{17}", "\\frac{7}{270}"]),
}

# Constants with radicals, pi, complex numbers (MATH-500), by hand.
CONST_TABLE = {
    "3\\sqrt{13}": (["3 \\sqrt{13}", "\\sqrt{117}", "3\\cdot\\sqrt{13}", "\\sqrt{13} \\cdot 3"],
                    ["3\\sqrt{14}", "\\sqrt{13}", "-3\\sqrt{13}", "13\\sqrt{3}"]),
    "\\sqrt{51}": (["\\sqrt {51}", "51^{1/2}"], ["\\sqrt{52}", "51", "-\\sqrt{51}", "\\sqrt{15}"]),
    "6 - 5i": (["6-5i", "-5i + 6", "6 - 5 i"], ["6 + 5i", "-6 - 5i", "5 - 6i", "6 - 4i"]),
    "\\pi": (["\\frac{2\\pi}{2}", "1\\cdot\\pi"], ["2\\pi", "\\frac{\\pi}{2}", "3.14"]),
    "6+9i": (["9i + 6", "6 + 9 i"], ["6-9i", "9+6i", "6+8i"]),
    "-2 + 7i": (["-2+7i", "7i - 2"], ["2 + 7i", "-2 - 7i", "7 - 2i"]),
    "11\\sqrt2": (["11\\sqrt{2}", "\\sqrt{242}", "11 \\sqrt 2", "\\sqrt{2} \\cdot 11"],
                  ["11\\sqrt{3}", "12\\sqrt{2}", "2\\sqrt{11}", "11"]),
    "70 \\sqrt{2}": (["70\\sqrt{2}", "\\sqrt{9800}", "70\\sqrt2"], ["70", "71\\sqrt{2}", "70\\sqrt{3}"]),
    "-\\frac{\\pi}{6}": (["-\\pi/6", "\\frac{-\\pi}{6}", "-\\dfrac{\\pi}{6}", "-\\frac{1}{6}\\pi"],
                         ["\\frac{\\pi}{6}", "-\\frac{\\pi}{3}", "\\frac{11\\pi}{6}", "-30"]),
    "\\frac{3\\sqrt{3}}{4}": (["\\dfrac{3\\sqrt{3}}{4}", "\\frac{3}{4}\\sqrt{3}", "0.75\\sqrt{3}", "\\frac{\\sqrt{27}}{4}"],
                              ["\\frac{3\\sqrt{3}}{2}", "\\frac{3\\sqrt{2}}{4}", "\\frac{\\sqrt{3}}{4}"]),
    "\\sqrt{5}": (["\\sqrt5", "5^{1/2}", "\\frac{5}{\\sqrt{5}}"], ["5", "\\sqrt{6}", "2\\sqrt{5}"]),
    "1+274i": (["274i+1", "1 + 274 i"], ["1-274i", "274+i", "1+273i"]),
    "3 \\sqrt{5}": (["3\\sqrt{5}", "\\sqrt{45}", "3\\sqrt5"], ["5\\sqrt{3}", "3\\sqrt{6}", "\\sqrt{15}"]),
    "\\frac{\\sqrt{3}}{3}": (["\\frac{1}{\\sqrt{3}}", "\\frac{\\sqrt3}{3}", "\\dfrac{\\sqrt{3}}{3}", "\\frac{1}{3}\\sqrt{3}",
                              "\\sqrt{\\frac{1}{3}}"],
                             ["\\frac{\\sqrt{3}}{2}", "\\sqrt{3}", "\\frac{\\sqrt{2}}{3}", "\\frac{3}{\\sqrt{3}}"]),
    "2\\sqrt{113}": (["\\sqrt{452}", "2 \\sqrt{113}"], ["\\sqrt{113}", "2\\sqrt{112}", "4\\sqrt{113}"]),
    "-\\sqrt{3}": (["-\\sqrt 3", "-3^{1/2}", "-\\frac{3}{\\sqrt{3}}"], ["\\sqrt{3}", "-\\sqrt{2}", "-3"]),
    "288 \\pi": (["288\\pi", "\\pi \\cdot 288", "288 \\cdot \\pi"], ["288", "289\\pi", "144\\pi"]),
    "18+2\\pi": (["2\\pi + 18", "18 + 2 \\pi", "2(9+\\pi)"], ["18+\\pi", "18-2\\pi", "20\\pi"]),
    "\\sqrt{53}": (["\\sqrt {53}", "53^{1/2}"], ["53", "\\sqrt{35}"]),
    "7\\pi": (["7 \\pi", "\\pi \\cdot 7", "\\frac{14\\pi}{2}"], ["7", "14\\pi", "\\frac{7\\pi}{2}"]),
    "1+2\\sqrt{3}": (["2\\sqrt{3}+1", "1 + \\sqrt{12}"], ["1-2\\sqrt{3}", "2+\\sqrt{3}", "1+2\\sqrt{2}"]),
    "12\\pi": (["12 \\pi", "\\pi\\cdot 12"], ["12", "6\\pi", "24\\pi"]),
    "11 \\sqrt{5} + 11": (["11+11\\sqrt{5}", "11(\\sqrt{5}+1)", "11\\sqrt5+11"], ["11\\sqrt{5}-11", "11\\sqrt{5}", "22\\sqrt{5}"]),
    "16 \\sqrt{3}": (["16\\sqrt{3}", "\\sqrt{768}"], ["16", "8\\sqrt{3}", "16\\sqrt{2}"]),
    "1+2i": (["2i+1", "1 + 2 i"], ["1-2i", "2+i", "\\frac{11}{5}-\\frac{2}{5}i"]),
    "\\frac{20000}{\\pi}": (["20000/\\pi", "\\dfrac{20000}{\\pi}"], ["20000\\pi", "\\frac{20000}{2\\pi}", "\\frac{10000}{\\pi}"]),
    "\\frac{\\sqrt{21}}{5}": (["\\frac{1}{5}\\sqrt{21}", "\\sqrt{21}/5", "\\sqrt{\\frac{21}{25}}"],
                              ["\\frac{\\sqrt{21}}{2}", "\\sqrt{21}", "\\frac{21}{5}"]),
    "\\sqrt{66}": (["\\sqrt {66}", "66^{1/2}"], ["66", "\\sqrt{65}", "2\\sqrt{66}"]),
    "1 - 12i": (["-12i + 1", "1-12 i"], ["1+12i", "12-i", "-1-12i"]),
    "2 \\sqrt{5}": (["\\sqrt{20}", "2\\sqrt5"], ["\\sqrt{5}", "4\\sqrt{5}", "2\\sqrt{6}"]),
    "2\\sqrt{5}": (["\\sqrt{20}", "2 \\sqrt{5}"], ["\\sqrt{5}", "4\\sqrt{5}", "2\\sqrt{6}"]),
    "6\\sqrt{2}": (["\\sqrt{72}", "6 \\sqrt 2"], ["6", "6\\sqrt{3}", "3\\sqrt{2}"]),
    "8 \\pi": (["8\\pi", "\\pi \\cdot 8"], ["8", "4\\pi", "16\\pi"]),
}

FUNC_TABLE = {
    "p - q": (["-q + p", "p-q", "-(q - p)"], ["q - p", "p + q", "p - 2q"]),
    "x^5 - x^4 + x^3 - x^2 + x - 1": (
        ["x^5-x^4+x^3-x^2+x-1", "-1 + x - x^2 + x^3 - x^4 + x^5", "x^{5} - x^{4} + x^{3} - x^{2} + x - 1",
         "(x-1)(x^4+x^2+1)", "q(x) = x^5 - x^4 + x^3 - x^2 + x - 1"],
        ["x^5 - x^4 + x^3 - x^2 + x + 1", "x^5 + x^4 + x^3 + x^2 + x + 1", "x^5 - x^4 + x^3 - x^2 + x", "x^6 - 3"]),
    "x^3+3x-6": (["x^3 + 3x - 6", "3x + x^3 - 6", "-6 + 3x + x^3", "x^{3}+3x-6", "x^3+3(x-2)"],
                 ["x^3-3x-6", "x^3+3x+6", "x^3+3x^2-6", "x^2+3x-6"]),
    "\\cot x": (["\\frac{\\cos x}{\\sin x}", "\\frac{1}{\\tan x}", "\\cot(x)", "\\cot{x}"],
                ["\\tan x", "\\cos x", "-\\cot x", "\\csc x"]),
    "2k+2": (["2(k+1)", "2 + 2k", "2k + 2", "2\\left(k+1\\right)"], ["2k-2", "2k", "k+2", "2k+6"]),
    "(a+5)(b+2)": (["(b+2)(a+5)", "(5+a)(2+b)", "(a + 5)(b + 2)"], ["(a+2)(b+5)", "(a-5)(b-2)", "(a+5)(b-2)"]),
    "-13x+3": (["3-13x", "-13x + 3", "3 - 13 x"], ["13x+3", "-13x-3", "-13x", "3x-13"]),
    "2k": (["2 k", "k \\cdot 2", "k+k"], ["k", "2", "-2k", "k^2"]),
    "6r^2-4r-24": (["6r^2 - 4r - 24", "-24 - 4r + 6r^2", "2(3r^2-2r-12)", "6r^{2}-4r-24"],
                   ["6r^2+4r-24", "6r^2-4r+24", "3r^2-2r-12", "6r^2-4r"]),
    "15x - 80": (["15x-80", "-80+15x", "5(3x-16)"], ["15x+80", "15x-79", "-15x-80", "19x - 80"]),
    "5r^5": (["5r^{5}", "5 r^5", "\\frac{10r^5}{2}"], ["5r^4", "5r^6", "r^5", "25r^5"]),
    "8n^2 + 4n + 1": (["8n^2+4n+1", "1 + 4n + 8n^2", "8n^{2} + 4n + 1"],
                      ["8n^2+4n-1", "8n^2-4n+1", "4n^2 + 4n + 1", "8n^2 + 4n"]),
    "3R^2": (["3 R^2", "3R^{2}", "R^2 \\cdot 3"], ["3R", "9R^2", "R^2", "3r^2"]),
    "\\frac{11+9a}{20}": (["\\frac{9a+11}{20}", "\\frac{11}{20}+\\frac{9a}{20}", "(11+9a)/20", "0.55 + 0.45a"],
                          ["\\frac{11-9a}{20}", "\\frac{11+9a}{10}", "\\frac{11+6a}{20}", "\\frac{9a+11}{9}"]),
    "x^8 + x^7 + x^6 + x^5 + x^4 + x^3 + x^2 + x + 1": (
        ["1 + x + x^2 + x^3 + x^4 + x^5 + x^6 + x^7 + x^8", "x^{8}+x^{7}+x^{6}+x^{5}+x^{4}+x^{3}+x^{2}+x+1"],
        ["x^8 + x^7 + x^6 + x^5 + x^4 + x^3 + x^2 + x - 1", "x^8 - x^7 + x^6 - x^5 + x^4 - x^3 + x^2 - x + 1",
         "x^8 + x^7 + x^6 + x^5 + x^4 + x^3 + x^2 + x"]),
}

EQ_TABLE = {
    "x=5": (["x = 5", "5 = x", "5", "x=\\frac{10}{2}"], ["x=6", "x=-5", "x = 5, x = 6"]),
    "5x - 7y + 11z + 4 = 0": (["5x-7y+11z+4=0", "10x - 14y + 22z + 8 = 0", "-5x + 7y - 11z - 4 = 0",
                               "5x - 7y + 11z = -4", "5x + 11z + 4 = 7y", "0 = 5x - 7y + 11z + 4"],
                              ["5x - 7y + 11z - 4 = 0", "5x + 7y + 11z + 4 = 0", "5x - 7y + 12z + 4 = 0",
                               "5x - 7y + 11z = 4"]),
    "y = 2x + 3": (["y=2x+3", "2x + 3 = y", "y = 3 + 2x", "y - 2x = 3", "2x - y + 3 = 0", "2y = 4x + 6"],
                   ["y = 2x - 3", "y = 3x + 2", "y = -2x + 3", "y = 2x + 1"]),
    "y = -2x": (["y=-2x", "-2x = y", "2x + y = 0", "y + 2x = 0", "y = -2 x"],
                ["y = 2x", "y = -2x + 1", "x = -2y", "y = -\\frac{1}{2}x"]),
}

LIST_TABLE = {
    "1,-2": (["-2, 1", "1, -2", "\\{1, -2\\}", "n = 1, n = -2", ("boxes", ["1", "-2"])],
             ["1", "-2", "1, 2", "1, -2, 0"]),
    "3, 5, 7": (["7, 5, 3", "5, 3, 7", "\\{3,5,7\\}", "x=3, x=5, x=7", ("boxes", ["3", "5", "7"])],
                ["3, 5", "3, 5, 8", "3, 5, 7, 10", "5, 7"]),
    "-2,1": (["1, -2", "\\{-2, 1\\}", "-2 , 1", ("boxes", ["-2", "1"])], ["-2", "2, 1", "-2, 1, 7", "-1, 2"]),
    "1 \\pm \\sqrt{19}": (["1 + \\sqrt{19}, 1 - \\sqrt{19}", "1 - \\sqrt{19}, 1 + \\sqrt{19}", "1\\pm\\sqrt{19}",
                           "\\{1+\\sqrt{19}, 1-\\sqrt{19}\\}", ("boxes", ["1 + \\sqrt{19}", "1 - \\sqrt{19}"])],
                          ["1 + \\sqrt{19}", "1 \\pm \\sqrt{17}", "-1 \\pm \\sqrt{19}", "1 + \\sqrt{19}, 1 - \\sqrt{19}, 0"]),
    "3 \\pm 2 \\sqrt{2}": (["3 + 2\\sqrt{2}, 3 - 2\\sqrt{2}", "3 - 2\\sqrt{2}, 3 + 2\\sqrt{2}", "3 \\pm \\sqrt{8}",
                            ("boxes", ["3 + 2\\sqrt{2}", "3 - 2\\sqrt{2}"])],
                           ["3 + 2\\sqrt{2}", "3 \\pm \\sqrt{2}", "2 \\pm 3\\sqrt{2}"]),
    "\\{1\\pm\\sqrt{5},-2\\}": (["\\{1+\\sqrt{5}, 1-\\sqrt{5}, -2\\}", "\\{-2, 1-\\sqrt{5}, 1+\\sqrt{5}\\}",
                                 "1 + \\sqrt{5}, 1 - \\sqrt{5}, -2", "-2, 1 \\pm \\sqrt{5}"],
                                ["\\{1+\\sqrt{5}, -2\\}", "\\{1\\pm\\sqrt{5}, 2\\}", "\\{1\\pm\\sqrt{5}\\}"]),
}

# ordered tuples (MATH-500 asks "ordered pair/triple" or a point): elements as LaTeX, value when numeric
TUPLES = {
    "(6,31,-1)": ["6", "31", "-1"],
    "(15,-29)": ["15", "-29"],
    "(8,-2)": ["8", "-2"],
    "(-2,1)": ["-2", "1"],
    "(-1,6)": ["-1", "6"],
    "(2,4)": ["2", "4"],
    "(1,-16,-4,43)": ["1", "-16", "-4", "43"],
    "\\left( 3, \\frac{\\pi}{2} \\right)": ["3", "\\frac{\\pi}{2}"],
    "\\left( \\frac{3}{2}, -13 \\right)": ["\\frac{3}{2}", "-13"],
}

# intervals: list of parts (lo, lo_closed, hi, hi_closed); variable for inequality forms;
# numeric endpoint values (Fraction) where the +1 perturbation is safe
INTERVALS = {
    "(3,4]": ("x", [("3", False, "4", True)]),
    "(2,\\infty)": ("y", [("2", False, "\\infty", False)]),
    "\\left(\\frac{3}{5},\\frac{8}{3}\\right]": ("p", [("\\frac{3}{5}", False, "\\frac{8}{3}", True)]),
    "(-\\infty, 0]": ("y", [("-\\infty", False, "0", True)]),
    "(5,\\infty)": ("x", [("5", False, "\\infty", False)]),
    "(-\\sqrt{3}, \\sqrt{3})": ("x", [("-\\sqrt{3}", False, "\\sqrt{3}", False)]),
    "(0,9) \\cup (9,36)": ("x", [("0", False, "9", False), ("9", False, "36", False)]),
    "x \\in [-2,7]": ("x", [("-2", True, "7", True)]),
    "\\left[ \\frac{\\pi^2}{8}, \\frac{5 \\pi^2}{4} \\right]": ("y", [("\\frac{\\pi^2}{8}", True, "\\frac{5 \\pi^2}{4}", True)]),
    "(-\\infty, 2) \\cup (3, \\infty)": ("x", [("-\\infty", False, "2", False), ("3", False, "\\infty", False)]),
    "(2,12) \\cup (12,102)": ("x", [("2", False, "12", False), ("12", False, "102", False)]),
}
# a different endpoint for the non-numeric ones
ENDPOINT_CHANGE = {"\\frac{3}{5}": "\\frac{2}{5}", "\\frac{8}{3}": "\\frac{7}{3}", "-\\sqrt{3}": "-\\sqrt{2}",
                   "\\sqrt{3}": "\\sqrt{2}", "\\frac{\\pi^2}{8}": "\\frac{\\pi^2}{4}",
                   "\\frac{5 \\pi^2}{4}": "\\frac{5 \\pi^2}{2}"}
ENDPOINT_DECIMAL = {"\\frac{3}{5}": "0.6"}


def is_inf(e):
    return "infty" in e


def interval_tex(parts, left="", spaced=True):
    out = []
    for lo, lc, hi, hc in parts:
        sep = ", " if spaced else ","
        lb, rb = ("[" if lc else "("), ("]" if hc else ")")
        out.append("%s%s%s%s%s%s%s" % (left, lb, lo, sep, hi, left and "\\right" or "", rb))
    return (" \\cup " if spaced else "\\cup ").join(out)


def interval_ineq(var, part):
    lo, lc, hi, hc = part
    lop = "\\le" if lc else "<"
    hop = "\\le" if hc else "<"
    if is_inf(lo) and is_inf(hi):
        return None
    if is_inf(hi):
        return "%s %s %s" % (var, "\\ge" if lc else ">", lo)
    if is_inf(lo):
        return "%s %s %s" % (var, hop, hi)
    return "%s %s %s %s %s" % (lo, lop, var, hop, hi)


def numeric_value(e):
    return parse_plain_number(e)


def change_endpoint(e):
    v = numeric_value(e)
    if v is not None:
        return str(int(v) + 1) if v.denominator == 1 else None
    return ENDPOINT_CHANGE.get(e)


# ---------------------------------------------------------------------------------------------
# matrices
# ---------------------------------------------------------------------------------------------

def parse_pmatrix(s):
    m = re.fullmatch(r"\\begin\{pmatrix\}(.*)\\end\{pmatrix\}", s.strip(), re.S)
    if not m:
        return None
    rows = [r.strip() for r in m.group(1).split("\\\\")]
    out = []
    for r in rows:
        out.append([Fraction(c.strip()) for c in r.split("&")])
    return out


def matrix_tex(rows, env="pmatrix", fmt=lambda v: frac_tex(v), spaced=True):
    j = " & " if spaced else "&"
    r = " \\\\ " if spaced else "\\\\"
    body = r.join(j.join(fmt(v) for v in row) for row in rows)
    return "\\begin{%s} %s \\end{%s}" % (env, body, env) if spaced else "\\begin{%s}%s\\end{%s}" % (env, body, env)


def slash_frac(v):
    v = Fraction(v)
    return str(v.numerator) if v.denominator == 1 else "%d/%d" % (v.numerator, v.denominator)


# ---------------------------------------------------------------------------------------------
# corpus construction
# ---------------------------------------------------------------------------------------------

class Corpus:
    def __init__(self, seed):
        self.rng = random.Random(seed)
        self.lines = []
        self.seen = set()
        self.count = {}

    def add(self, cat, src, answer, completion, label, reward="math", extract="tagged", note=""):
        key = (cat, json.dumps(answer), completion, reward, extract)
        if key in self.seen:
            return
        self.seen.add(key)
        n = self.count.get(cat, 0)
        self.count[cat] = n + 1
        self.lines.append({"id": "%s-%04d" % (cat, n), "category": cat, "source": src, "reward": reward,
                           "extract": extract, "answer": answer, "completion": completion,
                           "label": bool(label), "note": note})


def boxed(x):
    return THINK + "<answer>\n\\boxed{%s}\n</answer>" % x


def bare(x):
    return THINK + "<answer>\n%s\n</answer>" % x


def add_noted(c, cat, src, answer, eqs, noted, note_eq):
    """Equivalent rewritings (duplicates dropped), then perturbations each with its own note."""
    for e in dict.fromkeys(eqs):
        c.add(cat, src, answer, boxed(e), True, note=note_eq)
    for e, note in noted:
        c.add(cat, src, answer, boxed(e), False, note=note)


def add_pairs(c, cat, src, answer, eqs, neqs, note_eq="", note_ne="", wrap=boxed):
    for e in eqs:
        if isinstance(e, tuple) and e[0] == "boxes":
            comp = THINK + "<answer>\n" + ", ".join("\\boxed{%s}" % x for x in e[1]) + "\n</answer>"
            c.add(cat, src, answer, comp, True, note="several \\boxed{} forming a list")
            continue
        c.add(cat, src, answer, wrap(e), True, note=note_eq)
    for e in neqs:
        c.add(cat, src, answer, wrap(e), False, note=note_ne)


def number_variants(kind, v, ref, info, rng):
    """(equivalent texts, non-equivalent texts) for a numeric reference, each with a note."""
    eq, ne = [], []
    if kind in ("int", "dec", "frac", "dollar", "mixed"):
        canon_int = v.denominator == 1
        if canon_int:
            n = v.numerator
            if ref.strip() != str(n):
                eq.append((str(n), "plain integer"))
            eq.append(("%d.0" % n, "trailing .0"))
            if abs(n) >= 1000:
                eq.append((thousands(n, ","), "thousands separator ,"))
                eq.append((thousands(n, "{,}"), "thousands separator {,}"))
                eq.append((thousands(n, "\\,"), "thousands separator \\,"))
                if n > 0:
                    s = str(n)
                    cut = len(s) - 3
                    ne.append((s[:cut] + ", " + s[cut:], "list of two numbers vs one number (comma+space split at thousands)"))
                    if len(s) >= 4:
                        ne.append((s[:cut + 1] + ", " + s[cut + 1:], "list of two numbers (split not at a thousands group)"))
                if n % 1000 == 0:
                    m = Fraction(n, 1000)
                    eq.append(("%s \\times 10^{3}" % (exact_decimal(m)), "scientific notation"))
            eq.append(("\\frac{%d}{2}" % (2 * n), "unreduced fraction"))
            ne.append((str(n + 1), "+1"))
            if n != 0:
                ne.append((str(-n), "sign change"))
                ne.append((str(10 * n), "times 10"))
        else:
            d = exact_decimal(v)
            if kind != "frac":
                eq.append((frac_tex(v), "decimal as fraction"))
            if d is not None and kind in ("frac", "mixed"):
                eq.append((d, "fraction as exact decimal"))
            if kind == "frac":
                eq.append((frac_tex(v, "\\dfrac"), "\\dfrac"))
                eq.append((frac_tex(v, "\\tfrac"), "\\tfrac"))
                eq.append((slash_frac(v), "a/b"))
                a, b = v.numerator, v.denominator
                eq.append(("%s\\frac{%d}{%d}" % ("-" if a < 0 else "", 2 * abs(a), 2 * b), "unreduced fraction"))
                eq.append(("%s\\frac {%d} {%d}" % ("-" if a < 0 else "", abs(a), b), "spacing in \\frac"))
                if a < 0:
                    eq.append(("\\frac{-%d}{%d}" % (abs(a), b), "sign in numerator"))
                if abs(a) != b:
                    ne.append((frac_tex(Fraction(b, abs(a)) * (1 if a > 0 else -1)), "reciprocal"))
                ne.append((frac_tex(Fraction(a + 1, b)), "numerator +1"))
                if d is None:
                    approx = "%.2f" % float(v)
                    ne.append((approx, "rounded decimal (not exact)"))
            if kind in ("dec", "dollar") and d is not None:
                if "." in d:
                    eq.append((d + "0", "trailing zero"))
                    ne.append((exact_decimal(v + 1), "+1"))
                    last = Fraction(1, 10 ** len(d.split(".")[1]))
                    ne.append((exact_decimal(v + last), "last digit +1"))
                    ne.append((exact_decimal(v * 10), "decimal point shifted"))
                if ref.strip().startswith("."):
                    eq.append(("0" + ref.strip(), "leading zero"))
            if v != 0:
                ne.append((frac_tex(-v) if kind == "frac" else (exact_decimal(-v) or frac_tex(-v)), "sign change"))
        if kind == "dollar":
            txt = exact_decimal(v)
            eq.append((txt, "dollar sign dropped"))
            eq.append(("\\$" + txt, "\\$ kept"))
            eq.append((txt + " \\text{ dollars}", "unit in \\text{}"))
        if kind == "mixed":
            w, a, b = info["whole"], info["num"], info["den"]
            eq.append(("%d \\frac{%d}{%d}" % (w, a, b), "mixed number, spaced"))
            ne = [(frac_tex(Fraction(a, b)), "fractional part only"), (str(w), "whole part only"),
                  ("%d\\frac{%d}{%d}" % (w + 1, a, b), "whole part +1")]
    elif kind == "deg":
        n = v.numerator
        eq += [(str(n), "degree sign dropped"), ("%d^{\\circ}" % n, "^{\\circ}"), ("%d°" % n, "unicode degree sign"),
               ("%d \\text{ degrees}" % n, "unit in \\text{}")]
        ne += [("%d^\\circ" % (n + 1), "+1"), (str(n + 1), "+1, no degree sign")]
    return eq, ne


def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(l) for l in f if l.strip()]


def gen(data_dir, seed):
    c = Corpus(seed)
    rng = c.rng
    math500 = read_jsonl(os.path.join(data_dir, "math500_test.jsonl"))
    aime = read_jsonl(os.path.join(data_dir, "aime24_test.jsonl"))
    amc = read_jsonl(os.path.join(data_dir, "amc23_test.jsonl"))
    gsm = read_jsonl(os.path.join(data_dir, "gsm8k_test.jsonl"))

    # ---- numbers: every numeric MATH-500 reference, AIME, AMC; a sample of each one's variants
    simple_refs = []   # (src, answer, value-latex, Fraction) for location / labelled
    for i, r in enumerate(math500):
        a = r["answer"]
        src = "math500:%d" % i
        if a in CONST_TABLE:
            eqs, nes = CONST_TABLE[a]
            add_pairs(c, "numbers", src, a, eqs, nes, "constant rewritten", "constant changed")
            continue
        if a in UNIT_TABLE:
            eqs, nes = UNIT_TABLE[a]
            add_pairs(c, "numbers", src, a, eqs, nes, "units", "units, value changed")
            continue
        p = parse_simple(a)
        if p is None:
            continue
        kind, v, info = p
        eq, ne = number_variants(kind, v, a, info, rng)
        # percent questions: `N\%` is the same answer
        if kind == "int" and "percent" in r["problem"].lower():
            eq.append(("%d\\%%" % v.numerator, "percent sign"))
            ne.append(("%d\\%%" % (v.numerator + 1), "percent, +1"))
        eq = rng.sample(eq, min(len(eq), 3))
        ne = rng.sample(ne, min(len(ne), 2))
        for t, note in eq:
            c.add("numbers", src, a, boxed(t), True, note=note)
        for t, note in ne:
            c.add("numbers", src, a, boxed(t), False, note=note)
        if kind in ("int", "frac") and (v.denominator == 1 or abs(v.numerator) < 1000):
            simple_refs.append((src, a, frac_tex(v), v))
    for r in aime:
        a = r["answer"]
        src = "aime24:%s" % r["id"]
        v = Fraction(int(a))
        eq, ne = number_variants("int", v, a, {}, rng)
        if a != str(int(a)):
            eq = [(str(int(a)), "leading zeros dropped")] + rng.sample(eq, 2)
        else:
            eq = rng.sample(eq, 2)
        ne = rng.sample(ne, 2)
        for t, note in eq:
            c.add("numbers", src, a, boxed(t), True, note=note)
        for t, note in ne:
            c.add("numbers", src, a, boxed(t), False, note=note)
        simple_refs.append((src, a, str(int(a)), v))
    for r in amc:
        a = r["answer"]   # a JSON number, as the dataset gives it
        src = "amc23:%s" % r["id"]
        v = Fraction(a).limit_denominator(1000)
        if v.denominator != 1:
            continue
        eq, ne = number_variants("int", v, str(a), {}, rng)
        eq = rng.sample(eq, 2)
        ne = rng.sample(ne, 2)
        for t, note in eq:
            c.add("numbers", src, a, boxed(t), True, note=note)
        for t, note in ne:
            c.add("numbers", src, a, boxed(t), False, note=note)
        simple_refs.append((src, a, str(v.numerator), v))

    # GSM8K references through the math verifier: dollars, percent, thousands
    gsm_idx = list(range(len(gsm)))
    rng.shuffle(gsm_idx)
    gsm_math = gsm_idx[:80]
    for i in gsm_math:
        r = gsm[i]
        a = r["answer"]
        n = int(a.split("#### ")[-1].strip().replace(",", ""))
        src = "gsm8k:%d" % i
        q = r["question"]
        eq = [("%d" % n, "final number")]
        if "$" in q:
            eq.append(("\\$%d" % n, "\\$ prefix"))
            eq.append(("\\$%d.00" % n, "\\$ and cents"))
            eq.append(("%d \\text{ dollars}" % n, "unit in \\text{}"))
        if re.search(r"what percent", q, re.I):
            eq.append(("%d\\%%" % n, "percent sign"))
        if abs(n) >= 1000:
            eq.append((thousands(n), "thousands separator"))
        ne = [(str(n + 1), "+1")]
        if abs(n) >= 1000 and n > 0:
            s = str(n)
            ne.append((s[:-3] + ", " + s[-3:], "list of two numbers vs one number (comma+space split at thousands)"))
        if n != 0:
            ne.append((str(-n), "sign change"))
        for t, note in rng.sample(eq, min(2, len(eq))):
            c.add("numbers", src, a, boxed(t), True, note=note)
        for t, note in rng.sample(ne, 1):
            c.add("numbers", src, a, boxed(t), False, note=note)

    # tolerance probes: large integers +1 (relative 1e-6 would call them equal), tiny decimals
    for i, r in enumerate(math500):
        p = parse_simple(r["answer"])
        if p and p[0] == "int" and abs(p[1]) >= 10 ** 6:
            n = p[1].numerator
            c.add("numbers", "math500:%d" % i, r["answer"], boxed(str(n + 1)), False, note="large integer +1")
            c.add("numbers", "math500:%d" % i, r["answer"], boxed(str(n)), True, note="large integer, plain")
    for i, r in enumerate(gsm):
        n = int(r["answer"].split("#### ")[-1].strip().replace(",", ""))
        if abs(n) >= 10 ** 6:
            for rew, cat in (("math", "numbers"), ("gsm8k", "gsm8k_flexible")):
                c.add(cat, "gsm8k:%d" % i, r["answer"], boxed(str(n + 1)), False, reward=rew, note="large integer +1")
                c.add(cat, "gsm8k:%d" % i, r["answer"], boxed(str(n)), True, reward=rew, note="large integer, plain")

    # ---- location: where the final answer sits
    loc_refs = rng.sample(simple_refs, min(140, len(simple_refs)))
    tagged_t = [
        ("boxed in <answer>", True, lambda x, w: THINK + "<answer>\n\\boxed{%s}\n</answer>" % x),
        ("bare in <answer>", True, lambda x, w: THINK + "<answer>\n%s\n</answer>" % x),
        ("$...$ in <answer>", True, lambda x, w: THINK + "<answer>$%s$</answer>" % x),
        ("\\(...\\) in <answer>", True, lambda x, w: THINK + "<answer>\\(%s\\)</answer>" % x),
        ("\\[...\\] in <answer>", True, lambda x, w: THINK + "<answer>\n\\[%s\\]\n</answer>" % x),
        ("sentence with boxed in <answer>", True, lambda x, w: THINK + "<answer>The answer is $\\boxed{%s}$.</answer>" % x),
        ("no <answer>, last \\boxed", True, lambda x, w: "<think>\nCompute carefully.\n</think>\nTherefore the answer is $\\boxed{%s}$." % x),
        ("\\fbox", True, lambda x, w: "Therefore the answer is $\\fbox{%s}$." % x),
        ("wrong boxed in think, right boxed in answer", True,
         lambda x, w: "<think>\nAt first I got $\\boxed{%s}$, but that is wrong.\n</think>\n<answer>\\boxed{%s}</answer>" % (w, x)),
        ("right boxed in think, wrong answer block", False,
         lambda x, w: "<think>\nMaybe $\\boxed{%s}$? Let me recheck.\n</think>\n<answer>\\boxed{%s}</answer>" % (x, w)),
        ("two boxed, last is wrong", False,
         lambda x, w: "First I get $\\boxed{%s}$. Correcting an error, the answer is $\\boxed{%s}$." % (x, w)),
        ("two answer blocks, last is right", True,
         lambda x, w: THINK + "<answer>\\boxed{%s}</answer>\nWait, I made an error.\n<answer>\\boxed{%s}</answer>" % (w, x)),
        ("trailing period in <answer>", True, lambda x, w: THINK + "<answer>%s.</answer>" % x),
        ("wrong value boxed", False, lambda x, w: THINK + "<answer>\n\\boxed{%s}\n</answer>" % w),
        ("wrong value bare", False, lambda x, w: THINK + "<answer>%s</answer>" % w),
        ("markdown bold in <answer>", True, lambda x, w: THINK + "<answer>**%s**</answer>" % x),
        ("empty <answer>, value only in think", False,
         lambda x, w: "<think>\nThe value is %s.\n</think>\n<answer></answer>" % x),
        ("boxed then 'I hope it is correct'", True,
         lambda x, w: THINK + "<answer>\\boxed{%s}</answer>\nI hope it is correct." % x),
    ]
    prose_t = [
        ("prose: final answer is $X$", True, lambda x, w: "So we are done.\n\nThe final answer is $%s$." % x),
        ("prose: final answer is X (no $)", True, lambda x, w: "So we are done.\n\nThe final answer is %s" % x),
        ("prose: therefore the answer is X.", True, lambda x, w: "Adding these up, therefore, the answer is %s." % x),
        ("prose: **Final Answer:** X", True, lambda x, w: "Work shown above.\n\n**Final Answer:** %s" % x),
        ("prose: Answer: $X$", True, lambda x, w: "Thus it follows.\nAnswer: $%s$" % x),
        ("prose: I hope it is correct", True,
         lambda x, w: "Final Answer: The final answer is $%s$. I hope it is correct." % x),
        ("prose: wrong final answer", False, lambda x, w: "So we are done.\n\nThe final answer is $%s$." % w),
        ("prose: right value earlier, wrong final", False,
         lambda x, w: "One might guess $%s$, but recounting gives more.\n\nThe final answer is $%s$." % (x, w)),
    ]
    for src, a, x, v in loc_refs:
        w = frac_tex(v + 1)
        for note, lab, f in rng.sample(tagged_t, 5):
            c.add("location", src, a, f(x, w), lab, note=note)
        for note, lab, f in rng.sample(prose_t, 2):
            c.add("location", src, a, f(x, w), lab, extract="any", note=note)

    # ---- labelled: `x = ANSWER` and friends
    lab_refs = rng.sample(simple_refs, min(110, len(simple_refs)))
    for src, a, x, v in lab_refs:
        w = frac_tex(v + 1)
        opts = [
            ("x = %s" % x, True, "x = prefix, boxed"),
            ("n=%s" % x, True, "n= prefix"),
            ("k = %s" % x, True, "k = prefix"),
            ("%s = x" % x, True, "value = x"),
            ("x = %s" % w, False, "x = wrong value"),
        ]
        if v.denominator == 1:
            opts.append(("x = \\frac{%d}{2}" % (2 * v.numerator), True, "x = unreduced fraction"))
        if src.startswith("aime"):
            opts.append(("m+n = %s" % x, True, "m+n = prefix (AIME)"))
            opts.append(("m + n = %s" % w, False, "m+n = wrong value"))
        if v.denominator == 1 and v > 1:
            opts.append(("\\frac{%d}{2} = %s" % (2 * v.numerator, x), True, "computation chain ending in the value"))
            opts.append(("%s = \\frac{%d}{2}" % (x, 2 * v.numerator + 2), False, "chain ending in a wrong value"))
        for t, lab, note in rng.sample(opts, 3):
            c.add("labelled", src, a, boxed(t), lab, note=note)
        t, lab, note = rng.choice([("x = %s" % x, True, "x = prefix, bare"), ("x = %s" % w, False, "x = wrong, bare")])
        c.add("labelled", src, a, bare(t), lab, note=note)

    # ---- relations / intervals
    for i, r in enumerate(math500):
        a = r["answer"]
        if a not in INTERVALS:
            continue
        src = "math500:%d" % i
        var, parts = INTERVALS[a]
        eqs = [interval_tex(parts), interval_tex(parts, spaced=False), interval_tex(parts, left="\\left"),
               "%s \\in %s" % (var, interval_tex(parts))]
        ineqs = [interval_ineq(var, p) for p in parts]
        if all(ineqs):
            eqs.append(" \\text{ or } ".join(ineqs))
            if len(parts) == 1:
                eqs.append("\\{%s \\mid %s\\}" % (var, ineqs[0]))
        if len(parts) == 2:
            eqs.append(interval_tex(list(reversed(parts))))
        for e in [p for part in parts for p in (part[0], part[2])]:
            if e in ENDPOINT_DECIMAL:
                eqs.append(interval_tex([tuple(ENDPOINT_DECIMAL.get(x, x) if isinstance(x, str) else x for x in part)
                                         for part in parts]))
        if any(p[2] == "\\infty" for p in parts):
            eqs.append(interval_tex([(lo, lc, "+\\infty" if hi == "\\infty" else hi, hc) for lo, lc, hi, hc in parts]))
        nes = []
        for k, (lo, lc, hi, hc) in enumerate(parts):
            if not is_inf(lo):
                q = list(parts); q[k] = (lo, not lc, hi, hc)
                nes.append((interval_tex(q), "left end open/closed flipped"))
            if not is_inf(hi):
                q = list(parts); q[k] = (lo, lc, hi, not hc)
                nes.append((interval_tex(q), "right end open/closed flipped"))
            ch = change_endpoint(hi) if not is_inf(hi) else change_endpoint(lo)
            if ch:
                q = list(parts)
                q[k] = (lo, lc, ch, hc) if not is_inf(hi) else (ch, lc, hi, hc)
                # keep the interval non-empty and distinct
                nes.append((interval_tex(q), "endpoint changed"))
        if len(parts) == 2:
            nes.append((interval_tex(parts[:1]), "union part dropped"))
        if len(parts) == 1 and ineqs[0]:
            lo, lc, hi, hc = parts[0]
            if is_inf(hi):
                nes.append(("%s %s %s" % (var, "<" if not lc else "\\le", lo), "inequality reversed"))
            elif is_inf(lo):
                nes.append(("%s %s %s" % (var, ">" if not hc else "\\ge", hi), "inequality reversed"))
            else:
                nes.append(("%s %s %s %s %s" % (lo, "<" if lc else "\\le", var, "<" if hc else "\\le", hi),
                            "inequality strictness flipped"))
        add_noted(c, "relations_intervals", src, a, eqs, nes, "interval rewritten")

    # ---- equations
    for i, r in enumerate(math500):
        a = r["answer"]
        if a in EQ_TABLE:
            eqs, nes = EQ_TABLE[a]
            add_pairs(c, "equations", "math500:%d" % i, a, eqs, nes, "equation rewritten", "equation changed")

    # ---- lists, sets, tuples
    for i, r in enumerate(math500):
        a = r["answer"]
        src = "math500:%d" % i
        if a in LIST_TABLE:
            eqs, nes = LIST_TABLE[a]
            add_pairs(c, "lists_sets", src, a, eqs, nes, "list/set rewritten", "list/set changed")
        if a in TUPLES:
            el = TUPLES[a]
            eqs = ["(%s)" % ", ".join(el), "(%s)" % ",".join(el), "\\left(%s\\right)" % ", ".join(el)]
            dec = [exact_decimal(parse_simple(e)[1]) if parse_simple(e) and parse_simple(e)[0] == "frac" else None for e in el]
            if any(dec):
                eqs.append("(%s)" % ", ".join(d or e for d, e in zip(dec, el)))
            nes = []
            for j in range(len(el)):
                for k in range(j + 1, len(el)):
                    if el[j] != el[k]:
                        q = list(el); q[j], q[k] = q[k], q[j]
                        nes.append(("(%s)" % ", ".join(q), "tuple order swapped"))
                        break
                if nes:
                    break
            last = numeric_value(el[-1])
            if last is not None:
                q = list(el); q[-1] = str(int(last) + 1)
                nes.append(("(%s)" % ", ".join(q), "element +1"))
            nes.append(("(%s)" % ", ".join(el[:-1]) if len(el) > 2 else el[0], "element dropped"))
            first = numeric_value(el[0])
            if first is not None and first != 0:
                q = list(el); q[0] = str(int(-first))
                nes.append(("(%s)" % ", ".join(q), "sign change"))
            add_noted(c, "lists_sets", src, a, eqs, nes, "tuple rewritten")

    # ---- functions / expressions in variables
    for i, r in enumerate(math500):
        a = r["answer"]
        if a in FUNC_TABLE:
            eqs, nes = FUNC_TABLE[a]
            add_pairs(c, "functions", "math500:%d" % i, a, eqs, nes, "expression rewritten", "expression changed")

    # ---- matrices / vectors
    for i, r in enumerate(math500):
        a = r["answer"]
        m = parse_pmatrix(a) if "pmatrix" in a else None
        if not m:
            continue
        src = "math500:%d" % i
        flat = [v for row in m for v in row]
        eqs = [matrix_tex(m), matrix_tex(m, "bmatrix"), matrix_tex(m, spaced=False),
               matrix_tex(m, fmt=lambda v: frac_tex(v, "\\dfrac")), matrix_tex(m, fmt=slash_frac)]
        if all(exact_decimal(v) is not None for v in flat) and any(v.denominator != 1 for v in flat):
            eqs.append(matrix_tex(m, fmt=exact_decimal))
        dens = {v.denominator for v in flat}
        if len(dens) == 1 and 1 not in dens:
            d = dens.pop()
            eqs.append("\\frac{1}{%d}%s" % (d, matrix_tex([[v * d for v in row] for row in m])))
        if all(v <= 0 for v in flat):
            eqs.append("-%s" % matrix_tex([[-v for v in row] for row in m]))
        nes = []
        q = [list(row) for row in m]; q[0][0] += 1
        nes.append((matrix_tex(q), "entry +1"))
        pos = [(ri, ci) for ri, row in enumerate(m) for ci, v in enumerate(row)]
        for (r1, c1) in pos:
            for (r2, c2) in pos:
                if (r1, c1) < (r2, c2) and m[r1][c1] != m[r2][c2]:
                    q = [list(row) for row in m]
                    q[r1][c1], q[r2][c2] = q[r2][c2], q[r1][c1]
                    nes.append((matrix_tex(q), "two entries swapped"))
                    break
            else:
                continue
            break
        nz = [(ri, ci) for ri, ci in pos if m[ri][ci] != 0]
        ri, ci = nz[-1]
        q = [list(row) for row in m]; q[ri][ci] = -q[ri][ci]
        nes.append((matrix_tex(q), "sign of one entry"))
        if len(m) > 2 or len(m[0]) == 1:
            nes.append((matrix_tex(m[:-1]), "last row dropped"))
        for e in dict.fromkeys(eqs):
            c.add("matrices", src, a, boxed(e), True, note="matrix rewritten")
        for e, note in nes:
            c.add("matrices", src, a, boxed(e), False, note=note)

    # ---- GSM8K, reward gsm8k (flexible): digits glued to letters / inside LaTeX commands
    flex = [i for i in gsm_idx[80:] ][:130]
    for i in flex:
        r = gsm[i]
        a = r["answer"]
        n = int(a.split("#### ")[-1].strip().replace(",", ""))
        src = "gsm8k:%d" % i
        dollars = "$" in r["question"]
        pos = [
            (THINK + "<answer>%d</answer>" % n, "bare number in <answer>"),
            ("Step by step.\n#### %d" % n, "#### N, no tags"),
            (THINK + "<answer>\\boxed{%d}</answer>" % n, "boxed"),
            (THINK + "<answer>\\textbf{%d}</answer>" % n, "digits inside \\textbf{}"),
            (THINK + "<answer>The answer is %d.</answer>" % n, "sentence in <answer>"),
            ("First 2 + 3 = 5, and then the rest.\nThe answer is %d." % n, "last number of prose"),
            (THINK + "<answer>%d.00</answer>" % n, "N.00"),
        ]
        if dollars:
            pos.append((THINK + "<answer>\\$%d</answer>" % n, "\\$N"))
            pos.append((THINK + "<answer>%d dollars</answer>" % n, "N dollars"))
        if abs(n) >= 1000:
            pos.append((THINK + "<answer>%s</answer>" % thousands(n), "thousands separator"))
        neg = [
            (THINK + "<answer>2^{%d}</answer>" % n, "N as an exponent"),
            (THINK + "<answer>x_{%d}</answer>" % n, "N as a subscript"),
            (THINK + "<answer>q%d</answer>" % n, "digits glued after a letter"),
            (THINK + "<answer>%dx</answer>" % n, "digits glued before a letter"),
            (THINK + "<answer>%d.5</answer>" % n, "N.5"),
            (THINK + "<answer>3.%d</answer>" % abs(n), "N after a decimal point"),
            (THINK + "<answer>1 + %d</answer>" % n, "expression whose last number is N"),
            (THINK + "<answer>\\boxed{%d}</answer>" % (n + 1), "N+1 boxed"),
        ]
        if n not in (0, 1):
            neg.append((THINK + "<answer>\\sqrt{%d}</answer>" % n, "N inside \\sqrt{}"))
            neg.append((THINK + "<answer>%d^2</answer>" % n, "N squared"))
        if n != 0:
            neg.append((THINK + "<answer>-%d</answer>" % n, "sign change"))
        if n != 0:
            neg.append((THINK + "<answer>%d\\pi</answer>" % n, "N pi"))
        if n not in (0, 1, -1):
            neg.append((THINK + "<answer>\\frac{1}{%d}</answer>" % n, "N inside \\frac{1}{N}"))
        for t, note in rng.sample(pos, 3):
            c.add("gsm8k_flexible", src, a, t, True, reward="gsm8k", note=note)
        for t, note in rng.sample(neg, 3):
            c.add("gsm8k_flexible", src, a, t, False, reward="gsm8k", note=note)
    return c.lines


# ---------------------------------------------------------------------------------------------
# Math-Verify verdicts
# ---------------------------------------------------------------------------------------------

def gold_text(answer):
    if isinstance(answer, (int, float)) and not isinstance(answer, bool):
        s = json.dumps(answer)
    else:
        s = str(answer)
    if "#### " in s:
        s = s.split("#### ")[-1].strip().replace(",", "")
    if "$" not in s.replace("\\$", "") and "\\boxed" not in s:
        s = "$" + s + "$"
    return s


def cmd_mathverify(args):
    import logging
    logging.disable(logging.WARNING)
    from latex2sympy2_extended import NormalizationConfig
    from math_verify import LatexExtractionConfig, parse, verify
    pred_cfg = [LatexExtractionConfig(
        normalization_config=NormalizationConfig(nits=False, malformed_operators=False, basic_latex=True,
                                                 equations=True, boxed="all", units=True),
        boxed_match_priority=0, try_extract_without_anchor=False)]
    t0 = time.time()
    lines = read_jsonl(args.corpus)
    with open(args.out, "w", encoding="utf-8") as out:
        for k, l in enumerate(lines):
            t1 = time.time()
            rec = {"id": l["id"]}
            g = gold_text(l["answer"])
            try:
                gold = parse(g, extraction_mode="first_match", parsing_timeout=args.timeout)
                rec["mv_gold"] = [str(x) for x in gold]
                if not gold:
                    rec["mv"] = None
                    rec["mv_default"] = None
                    rec["mv_error"] = "gold not parsed"
                else:
                    pred = parse(l["completion"], extraction_config=pred_cfg, extraction_mode="first_match",
                                 parsing_timeout=args.timeout)
                    rec["mv_pred"] = [str(x) for x in pred]
                    rec["mv"] = bool(verify(gold, pred, timeout_seconds=args.timeout))
                    pred2 = parse(l["completion"], parsing_timeout=args.timeout)
                    rec["mv_default_pred"] = [str(x) for x in pred2]
                    rec["mv_default"] = bool(verify(gold, pred2, timeout_seconds=args.timeout))
            except BaseException as e:  # TimeoutException derives from BaseException
                if isinstance(e, KeyboardInterrupt):
                    raise
                rec.setdefault("mv", False)
                rec.setdefault("mv_default", False)
                rec["mv_error"] = "%s: %s" % (type(e).__name__, str(e)[:200])
            rec["seconds"] = round(time.time() - t1, 4)
            out.write(json.dumps(rec, ensure_ascii=False) + "\n")
            if (k + 1) % 500 == 0:
                print("  math-verify: %d/%d lines, %.1f s" % (k + 1, len(lines), time.time() - t0), file=sys.stderr)
    print("math-verify: %d lines in %.1f s" % (len(lines), time.time() - t0))


# ---------------------------------------------------------------------------------------------
# r1train verdicts
# ---------------------------------------------------------------------------------------------

def cmd_r1train(args):
    lines = read_jsonl(args.corpus)
    groups = {}
    for l in lines:
        groups.setdefault((l["reward"], l["extract"]), []).append(l)
    work = os.path.dirname(os.path.abspath(args.out))
    results = {}
    t0 = time.time()
    for (reward, extract), group in sorted(groups.items()):
        inp = os.path.join(work, "r1_in_%s%s_%s.jsonl" % (args.tag, reward, extract))
        outp = os.path.join(work, "r1_out_%s%s_%s.jsonl" % (args.tag, reward, extract))
        with open(inp, "w", encoding="utf-8") as f:
            for l in group:
                f.write(json.dumps({"id": l["id"], "completion": l["completion"], "answer": l["answer"]},
                                   ensure_ascii=False) + "\n")
        cmd = [args.bin, "--threads", "1", "score", "-r", reward, "-i", inp, "-o", outp]
        if extract == "any":
            cmd += ["--extract", "any"]
        t1 = time.time()
        p = subprocess.run(cmd, capture_output=True, text=True)
        dt = time.time() - t1
        shown = " ".join(cmd)
        if p.returncode != 0:
            msg = (p.stderr or p.stdout).strip().splitlines()
            msg = msg[0] if msg else "exit %d" % p.returncode
            print("r1train: %s -> exit %d (%s): %d lines not run" % (shown, p.returncode, msg, len(group)))
            for l in group:
                results[l["id"]] = {"id": l["id"], "r1": None, "r1_error": "exit %d: %s" % (p.returncode, msg)}
            continue
        scored = read_jsonl(outp)
        if len(scored) != len(group):
            print("r1train: %s wrote %d lines for %d" % (shown, len(scored), len(group)))
        for s in scored:
            results[s["id"]] = {"id": s["id"], "r1": float(s["rewards"][reward]) >= 0.5, "r1_score": s["rewards"][reward]}
        print("r1train: %s -> %d lines in %.2f s" % (shown, len(scored), dt))
    with open(args.out, "w", encoding="utf-8") as f:
        for l in lines:
            f.write(json.dumps(results.get(l["id"], {"id": l["id"], "r1": None, "r1_error": "no output"})) + "\n")
    print("r1train: total %.2f s" % (time.time() - t0))


# ---------------------------------------------------------------------------------------------
# report
# ---------------------------------------------------------------------------------------------

CATEGORIES = ["location", "labelled", "numbers", "relations_intervals", "equations", "lists_sets",
              "functions", "matrices", "gsm8k_flexible"]


def cmd_report(args):
    lines = read_jsonl(args.corpus)
    mv = {r["id"]: r for r in read_jsonl(args.mv)}
    r1 = {r["id"]: r for r in read_jsonl(args.r1)}
    stats = {}
    dis = []
    for l in lines:
        m, r = mv.get(l["id"], {}), r1.get(l["id"], {})
        lab, rv, mvv, mvd = l["label"], r.get("r1"), m.get("mv"), m.get("mv_default")
        for cat in (l["category"], "TOTAL"):
            s = stats.setdefault(cat, dict(n=0, pos=0, r1_run=0, r1_ok=0, r1_fp=0, r1_fn=0, mv_ok=0, mv_fp=0,
                                           mv_fn=0, mvd_ok=0, agree=0, agree_n=0, gold_none=0))
            s["n"] += 1
            s["pos"] += lab
            if rv is not None:
                s["r1_run"] += 1
                s["r1_ok"] += rv == lab
                s["r1_fp"] += rv and not lab
                s["r1_fn"] += lab and not rv
            if mvv is None:
                s["gold_none"] += 1
            mvb = bool(mvv)
            s["mv_ok"] += mvb == lab
            s["mv_fp"] += mvb and not lab
            s["mv_fn"] += lab and not mvb
            s["mvd_ok"] += bool(mvd) == lab
            if rv is not None:
                s["agree_n"] += 1
                s["agree"] += rv == mvb
        if rv != lab or bool(mvv) != lab or (rv is not None and rv != bool(mvv)):
            d = {"id": l["id"], "category": l["category"], "reward": l["reward"], "extract": l["extract"],
                 "note": l.get("note", ""), "label": lab, "r1train": rv, "math_verify": mvv,
                 "math_verify_default": mvd, "answer": l["answer"], "completion": l["completion"],
                 "mv_gold": m.get("mv_gold"), "mv_pred": m.get("mv_pred")}
            if r.get("r1_error"):
                d["r1train_error"] = r["r1_error"]
            if m.get("mv_error"):
                d["mv_error"] = m["mv_error"]
            dis.append(d)
    with open(args.disagreements, "w", encoding="utf-8") as f:
        for d in dis:
            f.write(json.dumps(d, ensure_ascii=False) + "\n")

    def pct(a, b):
        return "%5.1f%%" % (100.0 * a / b) if b else "   -  "

    hdr = ("%-20s %5s %4s | %-6s %8s %4s %4s %6s | %8s %4s %4s %8s | %8s" %
           ("category", "cases", "true", "r1 run", "r1=label", "FP", "FN", "notrun", "MV=label", "FP", "FN",
            "MVdef=lb", "r1=MV"))
    print(hdr)
    print("-" * len(hdr))
    cats = [c for c in CATEGORIES if c in stats] + sorted(c for c in stats if c not in CATEGORIES + ["TOTAL"])
    for cat in cats + ["TOTAL"]:
        s = stats[cat]
        if cat == "TOTAL":
            print("-" * len(hdr))
        print("%-20s %5d %4d | %6d %8s %4d %4d %6d | %8s %4d %4d %8s | %8s" % (
            cat, s["n"], s["pos"], s["r1_run"], pct(s["r1_ok"], s["r1_run"]), s["r1_fp"], s["r1_fn"],
            s["n"] - s["r1_run"], pct(s["mv_ok"], s["n"]), s["mv_fp"], s["mv_fn"], pct(s["mvd_ok"], s["n"]),
            pct(s["agree"], s["agree_n"])))
    # r1train agreement by reference source (GSM8K references reach `math` as "... #### N" solutions)
    src = {}
    for l in lines:
        rv = r1.get(l["id"], {}).get("r1")
        if rv is None:
            continue
        k = src.setdefault((l["category"], l["source"].split(":")[0], l["reward"]), [0, 0, 0, 0])
        k[0] += 1
        k[1] += rv == l["label"]
        k[2] += rv and not l["label"]
        k[3] += l["label"] and not rv
    print("r1train by category / source / reward: cases, r1=label, FP, FN")
    for (cat, s_, rew), (n, ok, fp, fn) in sorted(src.items()):
        print("  %-20s %-8s %-6s %5d %8s %4d %4d" % (cat, s_, rew, n, pct(ok, n), fp, fn))
    t = stats["TOTAL"]
    print("r1=label over the lines r1train ran; MV = Math-Verify as open-r1's accuracy_reward calls it; "
          "MVdef = verify(gold, parse(completion)) with Math-Verify's default extraction; "
          "r1=MV over lines both ran. Gold unparsed by Math-Verify: %d." % t["gold_none"])
    print("disagreements (any of r1train, Math-Verify, label): %d lines -> %s" % (len(dis), args.disagreements))


# ---------------------------------------------------------------------------------------------
# held-out cases: Math-Verify's own test suite (tests/*.py in MATH_VERIFY_SRC)
# ---------------------------------------------------------------------------------------------
# The cases are read from the test sources at run time with the ast module (nothing of them is
# committed here): every test function's @pytest.mark.parametrize rows (or one empty row for an
# unparametrized test) are bound to the names its asserts use, and an assert of the form
#   assert compare_strings(GOLD, PRED, ...) == EXPECTED         (tests/test_all.py's helper)
#   assert int(verify(parse(GOLD), parse(PRED))) == EXPECTED    (test_yujianll.py)
# (also bare `assert CALL` / `assert not CALL`) becomes one case per row. compare_strings parses
# BOTH strings with extraction (LatexExtractionConfig(boxed_match_priority=0) and / or
# ExprExtractionConfig per match_types) and calls verify(gold, pred, float_rounding=precision,
# strict=strict, allow_set_relation_comp=...). Kept: the calls with Math-Verify's defaults
# (precision 6, strict=True, allow_set_relation_comp=False; match_types is kept and recorded:
# r1train has one extraction rule). Skipped, counted by reason: non-default options, parse()
# with its own extraction config or options, and asserts that are no gold / pred verdict
# (sympy_expr_eq on sympy objects, parse-only, config, timeout and mock tests). Rows commented
# out in the sources are not seen (ast drops comments).

MVT_DEFAULTS = {"precision": 6, "strict": True, "allow_set_relation_comp": False}
MVT_COMPARE_PARAMS = ["gold", "pred", "match_types", "precision", "strict", "allow_set_relation_comp"]


def mvt_value(node, row):
    """An argument's value: a parametrize name bound in `row` (to an ast node), else a literal. A
    few rows are f-strings over `math` (f"{math.sqrt(17):.15f}"): evaluated with only `math` in
    scope. Only the values a kept assert uses are evaluated (test_string_extraction.py's rows
    hold StringExtractionConfig(...) objects)."""
    import ast
    import math
    if isinstance(node, ast.Name):
        if node.id in row:
            return mvt_value(row[node.id], {})
        if node.id in ("True", "False", "None"):
            return {"True": True, "False": False, "None": None}[node.id]
        raise ValueError("unbound name %s" % node.id)
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError):
        return eval(compile(ast.Expression(node), "<mv-test>", "eval"), {"__builtins__": {}, "math": math})


def mvt_rows(fn):
    """[(row dict name -> ast node, line)] from a test function's @pytest.mark.parametrize
    decorators (a cross product when stacked), [({}, line)] when it has none; plus the number of
    rows whose shape does not match the names."""
    import ast
    rows, bad = [({}, fn.lineno)], 0
    for dec in fn.decorator_list:
        if not (isinstance(dec, ast.Call) and isinstance(dec.func, ast.Attribute) and dec.func.attr == "parametrize"):
            continue
        names = ast.literal_eval(dec.args[0])
        names = [n.strip() for n in (names.split(",") if isinstance(names, str) else names)]
        new = []
        for elt in dec.args[1].elts:
            vals = elt.elts if len(names) > 1 and isinstance(elt, (ast.Tuple, ast.List)) else [elt]
            if len(vals) != len(names):
                bad += len(rows)
                continue
            for r, _ in rows:
                new.append((dict(r, **dict(zip(names, vals))), elt.lineno))
        rows = new
    return rows, bad


def mvt_call(node):
    """(kind, call) for a compare_strings(...) or verify(parse(...), parse(...)) call, seen
    through int() / bool(); else None."""
    import ast
    while isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("int", "bool") \
            and len(node.args) == 1:
        node = node.args[0]
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
        return None
    if node.func.id == "compare_strings":
        return "compare_strings", node
    if node.func.id == "verify" and len(node.args) >= 2 and all(
            isinstance(a, ast.Call) and isinstance(a.func, ast.Name) and a.func.id == "parse" for a in node.args[:2]):
        return "verify(parse,parse)", node
    return None


def mvt_case(kind, call, row):
    """(case fields, None) or (None, skip reason) for one call under one parametrize row."""
    if kind == "compare_strings":
        args = {}
        for name, a in zip(MVT_COMPARE_PARAMS, call.args):
            args[name] = mvt_value(a, row)
        for k in call.keywords:
            args[k.arg] = mvt_value(k.value, row)
        odd = ["%s=%r" % (k, args[k]) for k in ("precision", "strict", "allow_set_relation_comp")
               if k in args and args[k] != MVT_DEFAULTS[k]]
        if odd:
            return None, "compare_strings " + ", ".join(odd)
        return {"helper": kind, "match_types": args.get("match_types", ["latex", "expr"]),
                "gold": args["gold"], "pred": args["pred"]}, None
    gp, pp = call.args[0], call.args[1]
    if len(gp.args) != 1 or gp.keywords or len(pp.args) != 1 or pp.keywords:
        return None, "parse() with its own extraction config / options"
    if len(call.args) > 2 or call.keywords:
        return None, "verify() with options"
    return {"helper": kind, "match_types": ["latex", "expr"], "gold": mvt_value(gp.args[0], row),
            "pred": mvt_value(pp.args[0], row)}, None


def strip_math_delims(s):
    """GOLD for r1train's `answer` field. Math-Verify's test helper parses the gold WITH
    extraction, so the authors often wrote it as `$...$`; r1train reduces `answer` by its own rule
    (its \\boxed contents if any, the number after "####", else the text as it is), so one outer
    $...$ / $$...$$ / \\(...\\) / \\[...\\] pair is stripped first (only when the delimiter does not
    occur inside: `$a$ or $b$` is left alone)."""
    t = s.strip()
    for op, cl in (("$$", "$$"), ("\\[", "\\]"), ("\\(", "\\)"), ("$", "$")):
        if len(t) >= len(op) + len(cl) and t.startswith(op) and t.endswith(cl):
            inner = t[len(op):len(t) - len(cl)]
            if op == "$":
                clash = "$" in inner.replace("\\$", "")
            else:
                clash = op in inner or cl in inner
            if not clash:
                return inner.strip()
    return s


def cmd_mvtests_extract(args):
    import ast
    import glob
    cases, skipped = [], []
    paths = sorted(glob.glob(os.path.join(args.tests, "test_*.py")))
    if not paths:
        sys.exit("mv-tests: no test_*.py in %s" % args.tests)
    for path in paths:
        fname = os.path.basename(path)
        with open(path, encoding="utf-8") as f:
            tree = ast.parse(f.read(), path)
        for fn in ast.walk(tree):
            if not (isinstance(fn, ast.FunctionDef) and fn.name.startswith("test")):
                continue
            rows, bad = mvt_rows(fn)
            for _ in range(bad):
                skipped.append({"file": fname, "test": fn.name, "reason": "parametrize row not of the names' shape"})
            for node in ast.walk(fn):
                if not isinstance(node, ast.Assert):
                    continue
                t, exp_node, negate = node.test, None, False
                if isinstance(t, ast.UnaryOp) and isinstance(t.op, ast.Not):
                    t, negate = t.operand, True
                if isinstance(t, ast.Compare) and len(t.ops) == 1 and isinstance(t.ops[0], ast.Eq):
                    found, exp_node = mvt_call(t.left), t.comparators[0]
                else:
                    found = mvt_call(t)
                if found is None:
                    for _ in rows:
                        skipped.append({"file": fname, "test": fn.name, "line": node.lineno,
                                        "reason": "assert is no gold/pred verdict (sympy_expr_eq, parse-only, "
                                                  "config, timeout or mock test)"})
                    continue
                for row, line in rows:
                    try:
                        case, why = mvt_case(found[0], found[1], row)
                        expected = bool(mvt_value(exp_node, row)) if exp_node is not None else True
                    except Exception as e:
                        case, why = None, "argument not evaluable (%s)" % type(e).__name__
                    line = line if row else node.lineno
                    if case is None:
                        skip = {"file": fname, "test": fn.name, "line": line, "reason": why}
                        for k in ("gold", "pred"):
                            try:
                                skip[k] = mvt_value(row[k], {})
                            except Exception:
                                pass
                        skipped.append(skip)
                        continue
                    if not (isinstance(case["gold"], str) and isinstance(case["pred"], str)):
                        skipped.append({"file": fname, "test": fn.name, "line": line,
                                        "reason": "gold / pred not strings"})
                        continue
                    case.update(expected=expected != negate, file=fname, test=fn.name, line=line)
                    cases.append(case)
    with open(args.out, "w", encoding="utf-8") as f:
        for k, c in enumerate(cases):
            # the fields cmd_r1train reads: r1train scores PRED as a prose completion (--extract any)
            line = {"id": "mvt-%04d" % k, **c, "reward": "math", "extract": "any",
                    "completion": c["pred"], "answer": strip_math_delims(c["gold"])}
            f.write(json.dumps(line, ensure_ascii=False) + "\n")
    with open(args.skipped, "w", encoding="utf-8") as f:
        for s in skipped:
            f.write(json.dumps(s, ensure_ascii=False) + "\n")
    dup = len(cases) - len({(c["gold"], c["pred"], tuple(c["match_types"])) for c in cases})
    print("mv-tests: %d cases kept from %d files in %s (%d repeat a pair), %d skipped -> %s" % (
        len(cases), len(paths), args.tests, dup, len(skipped), args.out))
    reasons = {}
    for s in skipped:
        reasons.setdefault(s["reason"], {}).setdefault(s["file"], 0)
        reasons[s["reason"]][s["file"]] += 1
    for why, per in sorted(reasons.items(), key=lambda kv: -sum(kv[1].values())):
        print("  skipped %3d: %s [%s]" % (sum(per.values()), why,
                                          ", ".join("%s %d" % kv for kv in sorted(per.items()))))


def cmd_mvtests_mathverify(args):
    """Math-Verify's verdict on each kept case through the call its test makes: compare_strings
    as tests/test_all.py defines it (its source is taken from there with ast and run here, so
    the helper is the authors' own) with the case's match_types, or verify(parse(g), parse(p))."""
    import ast
    import logging
    logging.disable(logging.WARNING)
    import math_verify
    from math_verify import parse, verify
    path = os.path.join(args.tests, "test_all.py")
    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read(), path)
    helper = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "compare_strings"]
    if not helper:
        sys.exit("mv-tests: no compare_strings in %s" % path)
    scope = {k: getattr(math_verify, k) for k in dir(math_verify) if not k.startswith("_")}
    exec(compile(ast.Module(body=helper, type_ignores=[]), path, "exec"), scope)
    compare_strings = scope["compare_strings"]
    t0 = time.time()
    lines = read_jsonl(args.cases)
    with open(args.out, "w", encoding="utf-8") as out:
        for l in lines:
            rec = {"id": l["id"]}
            try:
                if l["helper"] == "compare_strings":
                    v = compare_strings(l["gold"], l["pred"], match_types=l["match_types"])
                else:
                    v = verify(parse(l["gold"]), parse(l["pred"]))
                rec["mv"] = bool(v)
            except BaseException as e:  # TimeoutException derives from BaseException
                if isinstance(e, KeyboardInterrupt):
                    raise
                rec["mv"] = False
                rec["mv_error"] = "%s: %s" % (type(e).__name__, str(e)[:200])
            out.write(json.dumps(rec, ensure_ascii=False) + "\n")
    print("mv-tests: Math-Verify on %d cases in %.1f s" % (len(lines), time.time() - t0))


def cmd_mvtests_report(args):
    lines = read_jsonl(args.cases)
    skipped = read_jsonl(args.skipped)
    mv = {r["id"]: r for r in read_jsonl(args.mv)} if args.mv and os.path.exists(args.mv) else {}
    r1 = {r["id"]: r for r in read_jsonl(args.r1)}
    stats, order, dis = {}, [], []
    for s in skipped:
        if s["file"] not in stats:
            order.append(s["file"])
        stats.setdefault(s["file"], dict(n=0, pos=0, skip=0, run=0, ok=0, fp=0, fn=0, mv_n=0, mv_ok=0,
                                         agree=0, agree_n=0))["skip"] += 1
    for l in lines:
        r, m = r1.get(l["id"], {}), mv.get(l["id"], {})
        rv, exp, mvv = r.get("r1"), l["expected"], m.get("mv")
        for key in (l["file"], "TOTAL"):
            if key not in stats:
                order.append(key)
            s = stats.setdefault(key, dict(n=0, pos=0, skip=0, run=0, ok=0, fp=0, fn=0, mv_n=0, mv_ok=0,
                                           agree=0, agree_n=0))
            s["n"] += 1
            s["pos"] += exp
            if rv is not None:
                s["run"] += 1
                s["ok"] += rv == exp
                s["fp"] += rv and not exp
                s["fn"] += exp and not rv
            if mvv is not None:
                s["mv_n"] += 1
                s["mv_ok"] += mvv == exp
                if rv is not None:
                    s["agree_n"] += 1
                    s["agree"] += rv == mvv
        if rv != exp:
            d = {"id": l["id"], "file": l["file"], "test": l["test"], "line": l["line"], "gold": l["gold"],
                 "pred": l["pred"], "expected": exp, "r1train": rv, "math_verify": mvv,
                 "answer_passed": l["answer"], "match_types": l["match_types"]}
            if r.get("r1_error"):
                d["r1train_error"] = r["r1_error"]
            dis.append(d)
    stats.setdefault("TOTAL", dict(n=0, pos=0, skip=0, run=0, ok=0, fp=0, fn=0, mv_n=0, mv_ok=0, agree=0,
                                   agree_n=0))
    stats["TOTAL"]["skip"] = len(skipped)
    with open(args.disagreements, "w", encoding="utf-8") as f:
        for d in dis:
            f.write(json.dumps(d, ensure_ascii=False) + "\n")

    def pct(a, b):
        return "%5.1f%%" % (100.0 * a / b) if b else "   -  "

    print("Math-Verify's own test cases (held out: read from its tests/*.py at run time), r1train "
          "`score -r math --extract any`:")
    hdr = "%-25s %4s %4s %4s | %6s %9s %4s %4s | %9s | %8s" % (
        "test file", "kept", "true", "skip", "r1 run", "r1=expect", "FP", "FN", "MV=expect", "r1=MV")
    print(hdr)
    print("-" * len(hdr))
    files = sorted(k for k in order if k != "TOTAL")
    for key in files + ["TOTAL"]:
        s = stats[key]
        if key == "TOTAL":
            print("-" * len(hdr))
        print("%-25s %4d %4d %4d | %6d %9s %4d %4d | %9s | %8s" % (
            key, s["n"], s["pos"], s["skip"], s["run"], pct(s["ok"], s["run"]), s["fp"], s["fn"],
            pct(s["mv_ok"], s["mv_n"]), pct(s["agree"], s["agree_n"])))
    # compare_strings' match_types restricts Math-Verify's extraction targets; r1train has one rule
    by_mt = {}
    for l in lines:
        rv = r1.get(l["id"], {}).get("r1")
        if rv is not None:
            k = by_mt.setdefault("+".join(l["match_types"]), [0, 0])
            k[0] += 1
            k[1] += rv == l["expected"]
    print("r1=expect by the test's match_types: " + ", ".join(
        "%s %d/%d" % (k, v[1], v[0]) for k, v in sorted(by_mt.items(), key=lambda kv: -kv[1][0])))
    t = stats["TOTAL"]
    print("kept: compare_strings / verify(parse, parse) asserts with default options (expected = the "
          "authors' verdict); skip: see the extraction summary above. r1=expect over %d cases r1train ran: "
          "%d/%d; MV=expect: Math-Verify through the test's own call." % (t["run"], t["ok"], t["run"]))
    print("r1train disagreements with the expected verdict: %d -> %s" % (len(dis), args.disagreements))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("generate")
    g.add_argument("--data", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "benchmarks"))
    g.add_argument("--seed", type=int, default=1234)
    g.add_argument("-o", "--output", required=True)
    m = sub.add_parser("mathverify")
    m.add_argument("corpus")
    m.add_argument("out")
    m.add_argument("--timeout", type=int, default=5)
    r = sub.add_parser("r1train")
    r.add_argument("corpus")
    r.add_argument("out")
    r.add_argument("--bin", required=True)
    r.add_argument("--tag", default="", help="prefix of the per-group input / output files (one work dir, two runs)")
    p = sub.add_parser("report")
    p.add_argument("corpus")
    p.add_argument("mv")
    p.add_argument("r1")
    p.add_argument("--disagreements", required=True)
    t = sub.add_parser("mvtests-extract")
    t.add_argument("--tests", required=True, help="Math-Verify's tests/ directory")
    t.add_argument("-o", "--out", required=True)
    t.add_argument("--skipped", required=True)
    t = sub.add_parser("mvtests-mathverify")
    t.add_argument("cases")
    t.add_argument("out")
    t.add_argument("--tests", required=True, help="Math-Verify's tests/ directory (compare_strings is taken from it)")
    t = sub.add_parser("mvtests-report")
    t.add_argument("cases")
    t.add_argument("r1")
    t.add_argument("--mv", help="mvtests-mathverify's output (the MV=expect column; absent: '-')")
    t.add_argument("--skipped", required=True)
    t.add_argument("--disagreements", required=True)
    args = ap.parse_args()
    if args.cmd == "generate":
        lines = gen(args.data, args.seed)
        with open(args.output, "w", encoding="utf-8") as f:
            for l in lines:
                f.write(json.dumps(l, ensure_ascii=False) + "\n")
        counts = {}
        for l in lines:
            k = counts.setdefault(l["category"], [0, 0])
            k[0] += 1
            k[1] += l["label"]
        print("corpus: %d lines -> %s" % (len(lines), args.output))
        for cat in CATEGORIES:
            if cat in counts:
                print("  %-20s %5d (%d equivalent, %d not)" % (cat, counts[cat][0], counts[cat][1],
                                                              counts[cat][0] - counts[cat][1]))
    elif args.cmd == "mathverify":
        cmd_mathverify(args)
    elif args.cmd == "r1train":
        cmd_r1train(args)
    elif args.cmd == "mvtests-extract":
        cmd_mvtests_extract(args)
    elif args.cmd == "mvtests-mathverify":
        cmd_mvtests_mathverify(args)
    elif args.cmd == "mvtests-report":
        cmd_mvtests_report(args)
    else:
        cmd_report(args)


if __name__ == "__main__":
    main()
