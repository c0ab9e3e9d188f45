// Safe arithmetic: small recursive-descent parsers that evaluate expressions for the verifiers (never eval).
#pragma once

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

}  // namespace r1
