#include "r1/rewards/expression.h"

#include <cctype>
#include <cmath>
#include <cstdlib>
#include <string>

namespace r1 {

namespace {

constexpr int kMaxDepth = 64;

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Countdown grammar: expr := term (('+'|'-') term)*, term := unary (('*'|'/') unary)*,
// unary := ('-'|'+') unary | integer | '(' expr ')'.
class CountdownParser {
 public:
  explicit CountdownParser(std::string_view s) : s_(s) {}

  std::optional<CountdownValue> parse() {
    CountdownValue out;
    auto v = expr(out, 0);
    skip_space();
    if (!v || pos_ != s_.size() || !std::isfinite(*v)) return std::nullopt;
    out.value = *v;
    return out;
  }

 private:
  void skip_space() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n')) ++pos_;
  }
  char peek() {
    skip_space();
    return pos_ < s_.size() ? s_[pos_] : '\0';
  }

  std::optional<double> expr(CountdownValue& out, int depth) {
    if (depth > kMaxDepth) return std::nullopt;
    auto left = term(out, depth);
    while (left) {
      char c = peek();
      if (c != '+' && c != '-') break;
      ++pos_;
      auto right = term(out, depth);
      if (!right) return std::nullopt;
      left = c == '+' ? *left + *right : *left - *right;
    }
    return left;
  }

  std::optional<double> term(CountdownValue& out, int depth) {
    auto left = unary(out, depth);
    while (left) {
      char c = peek();
      if (c != '*' && c != '/') break;
      ++pos_;
      auto right = unary(out, depth);
      if (!right) return std::nullopt;
      if (c == '/' && *right == 0) return std::nullopt;
      left = c == '*' ? *left * *right : *left / *right;
    }
    return left;
  }

  std::optional<double> unary(CountdownValue& out, int depth) {
    if (depth > kMaxDepth) return std::nullopt;
    char c = peek();
    if (c == '-' || c == '+') {
      ++pos_;
      auto v = unary(out, depth + 1);
      if (!v) return std::nullopt;
      return c == '-' ? -*v : *v;
    }
    if (c == '(') {
      ++pos_;
      auto v = expr(out, depth + 1);
      if (!v || peek() != ')') return std::nullopt;
      ++pos_;
      return v;
    }
    if (!is_digit(c)) return std::nullopt;
    long long n = 0;
    std::size_t digits = 0;
    while (pos_ < s_.size() && is_digit(s_[pos_])) {
      if (++digits > 15) return std::nullopt;
      n = n * 10 + (s_[pos_++] - '0');
    }
    out.numbers.push_back(n);
    return static_cast<double>(n);
  }

  std::string_view s_;
  std::size_t pos_ = 0;
};

}  // namespace

std::optional<CountdownValue> evaluate_countdown(std::string_view text) { return CountdownParser(text).parse(); }

}  // namespace r1
