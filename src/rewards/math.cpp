#include <cmath>
#include <cstdlib>

#include "r1/rewards/math_verify.h"
#include "factories.h"

namespace r1 {

namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// "$1,234.50." -> "1234.50"
std::string clean_number(std::string_view raw) {
  std::string s;
  for (char c : raw)
    if (c != ',' && c != '$') s += c;
  while (!s.empty() && s.back() == '.') s.pop_back();
  return s;
}

// The number starting at or after `from` (sign, $, digits with commas, decimals); npos when none.
struct NumberSpan {
  std::size_t begin = std::string::npos, end = std::string::npos;
};

NumberSpan next_number(std::string_view text, std::size_t from) {
  for (std::size_t i = from; i < text.size(); ++i) {
    if (!is_digit(text[i])) continue;
    std::size_t b = i;
    while (b > from && (text[b - 1] == '$' || text[b - 1] == '-')) --b;
    std::size_t e = i;
    while (e < text.size() && (is_digit(text[e]) || ((text[e] == ',' || text[e] == '.') && e + 1 < text.size() &&
                                                     is_digit(text[e + 1]))))
      ++e;
    return {b, e};
  }
  return {};
}

std::optional<std::string> last_number(std::string_view text) {
  std::optional<std::string> out;
  for (NumberSpan n = next_number(text, 0); n.begin != std::string::npos; n = next_number(text, n.end))
    out = clean_number(text.substr(n.begin, n.end - n.begin));
  return out;
}

std::optional<std::string> after_hashes(std::string_view text) {
  std::size_t pos = text.rfind("####");
  if (pos == std::string::npos) return std::nullopt;
  std::size_t i = pos + 4;
  while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) ++i;
  NumberSpan n = next_number(text, i);
  if (n.begin != i) return std::nullopt;
  return clean_number(text.substr(n.begin, n.end - n.begin));
}

bool numbers_equal(const std::string& a, const std::string& b) {
  if (a == b) return true;
  char* end_a = nullptr;
  char* end_b = nullptr;
  double x = std::strtod(a.c_str(), &end_a);
  double y = std::strtod(b.c_str(), &end_b);
  if (a.empty() || b.empty() || *end_a != '\0' || *end_b != '\0') return false;
  return std::abs(x - y) <= 1e-6 * std::max({1.0, std::abs(x), std::abs(y)});
}

}  // namespace

std::optional<std::string> extract_gsm8k_answer(const std::string& completion, bool strict) {
  if (auto hashed = after_hashes(completion)) return hashed;
  if (strict) return std::nullopt;
  if (auto tag = answer_tag(completion)) {
    if (auto n = last_number(*tag)) return n;
  }
  return last_number(completion);
}

bool gsm8k_answers_equal(const std::string& predicted, const std::string& reference) {
  std::string ref = after_hashes(reference).value_or(clean_number(trim(reference)));
  return numbers_equal(clean_number(trim(predicted)), ref);
}

std::unique_ptr<RewardFunction> make_math_reward(const RewardConfig&) {
  return std::make_unique<PerCompletionReward>("math", [](const RewardInput& in) {
    auto predicted = extract_math_answer(in.completion);
    return predicted && math_answers_equal(*predicted, in.answer) ? 1.0 : 0.0;
  });
}

std::unique_ptr<RewardFunction> make_gsm8k_reward(const RewardConfig& config) {
  bool strict = parse_option<Gsm8kMode>(config.mode) == Gsm8kMode::Strict;
  return std::make_unique<PerCompletionReward>("gsm8k", [strict](const RewardInput& in) {
    auto predicted = extract_gsm8k_answer(in.completion, strict);
    return predicted && gsm8k_answers_equal(*predicted, in.answer) ? 1.0 : 0.0;
  });
}

}  // namespace r1
