// Math answers as values: LaTeX (and plain text math) parsed into a small expression tree, and the
// equivalence of two answers: numbers, expressions in variables, equations, relations and
// intervals, sets, tuples, matrices. Every check runs under a deterministic operation budget.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "r1/core/options.h"

namespace r1 {

struct MathCompareOptions {
  // Numbers agree when they are equal after rounding to this many decimal places, or within a
  // relative 10^-float_rounding when they are large (Math-Verify's `float_rounding`).
  int float_rounding = 6;
  // What "50\%" equals: 0.5 and 50 (both), 0.5 (fraction, Math-Verify's reading) or 50 (number).
  PercentMode percent = PercentMode::Both;
  // Parse and evaluation steps allowed for one check; past it the check is wrong and over_budget.
  long budget = 400000;
};

struct MathCheck {
  bool equal = false;
  bool over_budget = false;  // the budget ran out (counted as the reward's failure)
};

// Index of the '}' closing the '{' at `open` (a backslash escapes the next character), or npos.
std::size_t matching_brace(std::string_view s, std::size_t open);

// Whether `predicted` (a final answer, without the <answer> tags or \boxed) equals `reference`.
MathCheck compare_math_answers(std::string_view predicted, std::string_view reference,
                               const MathCompareOptions& options = {});

// The value of a numeric LaTeX expression: decimals, scientific notation, + - * / ^, \cdot, \times,
// \frac, \sqrt[n], \pi, e, functions (\sin, \ln, \log_b, ...), implicit multiplication ("2\pi",
// "3x"), with one-letter variables from `vars`; nullopt when it does not parse, is not a single
// real finite number, or names a variable not in `vars`.
std::optional<double> evaluate_latex(std::string_view latex, const std::map<char, double>& vars = {});

}  // namespace r1
