// Safe arithmetic: small recursive-descent parsers that evaluate expressions for the verifiers (never eval).
#pragma once

#include <map>
#include <optional>
#include <string_view>
#include <vector>

namespace r1 {

// A countdown answer: the value of an expression over integers with + - * / ( ) and spaces.
struct CountdownValue {
  double value = 0;                  // +inf/-inf/nan never: division by zero makes the parse fail
  std::vector<long long> numbers;    // the integer literals, in the order written
};

// Parses `text` as a countdown expression; nullopt when it holds any other character, is malformed,
// nests deeper than 64, or divides by zero.
std::optional<CountdownValue> evaluate_countdown(std::string_view text);

// Evaluates a normalised LaTeX math expression: decimals, scientific notation, + - * / ^, \cdot,
// \times, \div, \frac{a}{b}, \sqrt{x}, \sqrt[n]{x}, \pi, (), {}, implicit multiplication ("2\pi",
// "3x") and single-letter variables taken from `vars` (a letter not in `vars` fails the parse).
// nullopt when malformed, not finite, or holding anything else.
std::optional<double> evaluate_latex(std::string_view text, const std::map<char, double>& vars = {});

}  // namespace r1
