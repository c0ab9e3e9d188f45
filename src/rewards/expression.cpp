#include "r1/rewards/expression.h"

#include <cctype>
#include <cmath>
#include <cstdlib>
#include <numbers>
#include <string>

namespace r1 {

namespace {

constexpr int kMaxDepth = 64;

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alpha(char c) { return std::isalpha(static_cast<unsigned char>(c)) != 0; }

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

// LaTeX grammar (spaces are skipped):
//   expr    := ('+'|'-')? term (('+'|'-') term)*
//   term    := power ((op | implicit) power)*      op: * / \cdot \times \div
//   power   := primary ('^' exponent)?             exponent: '-'? primary
//   primary := number | variable | '(' expr ')' | '{' expr '}' | \frac A B | \sqrt[n]? A | \pi
// where a \frac or \sqrt argument A is a {group} or a single character.
class LatexParser {
 public:
  LatexParser(std::string_view s, const std::map<char, double>& vars) : s_(s), vars_(vars) {}

  std::optional<double> parse() {
    auto v = expr(0);
    skip_space();
    if (!v || pos_ != s_.size() || !std::isfinite(*v)) return std::nullopt;
    return v;
  }

 private:
  void skip_space() {
    while (pos_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos_]))) ++pos_;
  }
  char peek() {
    skip_space();
    return pos_ < s_.size() ? s_[pos_] : '\0';
  }
  bool command(std::string_view name) {  // consumes \name when it is not followed by a letter
    skip_space();
    if (s_.substr(pos_, name.size()) != name) return false;
    std::size_t end = pos_ + name.size();
    if (end < s_.size() && is_alpha(s_[end])) return false;
    pos_ = end;
    return true;
  }
  bool starts_primary() {
    char c = peek();
    if (is_digit(c) || c == '.' || c == '(' || c == '{') return true;
    if (is_alpha(c)) return vars_.count(c) > 0;
    if (c != '\\') return false;
    auto rest = s_.substr(pos_);
    for (std::string_view cmd : {"\\frac", "\\sqrt", "\\pi"}) {
      if (rest.substr(0, cmd.size()) == cmd && (rest.size() == cmd.size() || !is_alpha(rest[cmd.size()])))
        return true;
    }
    return false;
  }

  std::optional<double> expr(int depth) {
    if (depth > kMaxDepth) return std::nullopt;
    double sign = 1;
    if (peek() == '-' || peek() == '+') sign = s_[pos_++] == '-' ? -1 : 1;
    auto left = term(depth);
    if (!left) return std::nullopt;
    double acc = sign * *left;
    while (true) {
      char c = peek();
      if (c != '+' && c != '-') break;
      ++pos_;
      auto right = term(depth);
      if (!right) return std::nullopt;
      acc = c == '+' ? acc + *right : acc - *right;
    }
    return acc;
  }

  std::optional<double> term(int depth) {
    auto left = power(depth);
    while (left) {
      char c = peek();
      int op = 0;  // 1 multiply, 2 divide
      if (c == '*') {
        ++pos_;
        op = 1;
      } else if (c == '/') {
        ++pos_;
        op = 2;
      } else if (command("\\cdot") || command("\\times")) {
        op = 1;
      } else if (command("\\div")) {
        op = 2;
      } else if (starts_primary()) {
        op = 1;
      } else {
        break;
      }
      auto right = power(depth);
      if (!right) return std::nullopt;
      if (op == 2 && *right == 0) return std::nullopt;
      left = op == 1 ? *left * *right : *left / *right;
    }
    return left;
  }

  std::optional<double> power(int depth) {
    auto base = primary(depth);
    if (!base || peek() != '^') return base;
    ++pos_;
    double sign = 1;
    if (peek() == '-') {
      ++pos_;
      sign = -1;
    }
    auto exponent = primary(depth + 1);
    if (!exponent) return std::nullopt;
    double v = std::pow(*base, sign * *exponent);
    if (!std::isfinite(v)) return std::nullopt;
    return v;
  }

  // A \frac or \sqrt argument: a {group} or one character (digit or variable).
  std::optional<double> argument(int depth) {
    char c = peek();
    if (c == '{') return primary(depth + 1);
    if (is_digit(c)) {
      ++pos_;
      return static_cast<double>(c - '0');
    }
    if (is_alpha(c) && vars_.count(c)) {
      ++pos_;
      return vars_.at(c);
    }
    return std::nullopt;
  }

  std::optional<double> number() {
    std::size_t start = pos_;
    while (pos_ < s_.size() && is_digit(s_[pos_])) ++pos_;
    if (pos_ < s_.size() && s_[pos_] == '.') {
      ++pos_;
      while (pos_ < s_.size() && is_digit(s_[pos_])) ++pos_;
    }
    if (pos_ - start == 1 && s_[start] == '.') return std::nullopt;
    // Scientific notation: 1.5e-3 (an 'e' that is not followed by an exponent is left alone).
    if (pos_ + 1 < s_.size() && (s_[pos_] == 'e' || s_[pos_] == 'E')) {
      std::size_t e = pos_ + 1;
      if (e < s_.size() && (s_[e] == '-' || s_[e] == '+')) ++e;
      if (e < s_.size() && is_digit(s_[e])) {
        pos_ = e;
        while (pos_ < s_.size() && is_digit(s_[pos_])) ++pos_;
      }
    }
    std::string literal(s_.substr(start, pos_ - start));
    return std::strtod(literal.c_str(), nullptr);
  }

  std::optional<double> primary(int depth) {
    if (depth > kMaxDepth) return std::nullopt;
    char c = peek();
    if (is_digit(c) || c == '.') return number();
    if (c == '(' || c == '{') {
      char close = c == '(' ? ')' : '}';
      ++pos_;
      auto v = expr(depth + 1);
      if (!v || peek() != close) return std::nullopt;
      ++pos_;
      return v;
    }
    if (is_alpha(c)) {
      auto it = vars_.find(c);
      if (it == vars_.end()) return std::nullopt;
      ++pos_;
      return it->second;
    }
    if (command("\\pi")) return std::numbers::pi;
    if (command("\\frac")) {
      auto num = argument(depth);
      if (!num) return std::nullopt;
      auto den = argument(depth);
      if (!den || *den == 0) return std::nullopt;
      return *num / *den;
    }
    if (command("\\sqrt")) {
      double root = 2;
      if (peek() == '[') {
        ++pos_;
        auto n = expr(depth + 1);
        if (!n || peek() != ']' || *n == 0) return std::nullopt;
        ++pos_;
        root = *n;
      }
      auto x = argument(depth);
      if (!x || *x < 0) return std::nullopt;
      return root == 2 ? std::sqrt(*x) : std::pow(*x, 1.0 / root);
    }
    return std::nullopt;
  }

  std::string_view s_;
  const std::map<char, double>& vars_;
  std::size_t pos_ = 0;
};

}  // namespace

std::optional<CountdownValue> evaluate_countdown(std::string_view text) { return CountdownParser(text).parse(); }

std::optional<double> evaluate_latex(std::string_view text, const std::map<char, double>& vars) {
  return LatexParser(text, vars).parse();
}

}  // namespace r1
