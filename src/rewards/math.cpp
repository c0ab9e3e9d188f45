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

// The number right after the last "####" (GSM8K's answer line), if any.
std::optional<std::string> after_hashes(std::string_view text) {
  std::size_t pos = text.rfind("####");
  if (pos == std::string::npos) return std::nullopt;
  std::size_t i = pos + 4;
  while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) ++i;
  std::size_t b = i;
  if (i < text.size() && (text[i] == '$' || text[i] == '-')) ++i;
  if (i < text.size() && text[i] == '-') ++i;
  if (i >= text.size() || !is_digit(text[i])) return std::nullopt;
  std::size_t e = i;
  while (e < text.size() && (is_digit(text[e]) || ((text[e] == ',' || text[e] == '.') && e + 1 < text.size() &&
                                                   is_digit(text[e + 1]))))
    ++e;
  return clean_number(text.substr(b, e - b));
}

bool numbers_equal(const std::string& a, const std::string& b) {
  if (a == b) return true;
  char* end_a = nullptr;
  char* end_b = nullptr;
  double x = std::strtod(a.c_str(), &end_a);
  double y = std::strtod(b.c_str(), &end_b);
  if (a.empty() || b.empty() || *end_a != '\0' || *end_b != '\0') return false;
  // Integers exactly; decimals to 1e-9 relative (an answer of 1450001 is not 1450000).
  return std::abs(x - y) <= 1e-9 * std::max({std::abs(x), std::abs(y)}) || std::abs(x - y) < 1e-9;
}

// The math reward: 1 when the extracted answer equals the reference; a check that runs out of its
// budget scores 0 and counts as a failure (rewards/math/failures).
class MathReward : public RewardFunction {
 public:
  explicit MathReward(const RewardConfig& config) : extract_(config.extract), options_(math_options(config)) {}
  std::string name() const override { return "math"; }
  int failures() const override { return failures_; }
  std::vector<double> score(const std::vector<RewardInput>& batch) override {
    std::vector<double> out;
    out.reserve(batch.size());
    for (const auto& in : batch) {
      auto predicted = extract_math_answer(in.completion, extract_);
      if (!predicted) {
        out.push_back(0.0);
        continue;
      }
      MathCheck check = check_math_answer(*predicted, in.answer, options_);
      if (check.over_budget) ++failures_;
      out.push_back(check.equal ? 1.0 : 0.0);
    }
    return out;
  }

 private:
  MathExtract extract_;
  MathCompareOptions options_;
  int failures_ = 0;
};

}  // namespace

MathCompareOptions math_options(const RewardConfig& config) {
  MathCompareOptions options;
  options.float_rounding = config.float_rounding;
  options.percent = config.percent;
  return options;
}

std::optional<std::string> extract_gsm8k_answer(const std::string& completion, bool strict) {
  if (auto hashed = after_hashes(completion)) return hashed;
  if (strict) return std::nullopt;
  if (auto tag = answer_tag(completion)) {
    if (auto n = last_standalone_number(*tag)) return clean_number(*n);
  }
  if (auto n = last_standalone_number(completion)) return clean_number(*n);
  return std::nullopt;
}

bool gsm8k_answers_equal(const std::string& predicted, const std::string& reference) {
  std::string ref = after_hashes(reference).value_or(clean_number(trim(reference)));
  return numbers_equal(clean_number(trim(predicted)), ref);
}

std::unique_ptr<RewardFunction> make_math_reward(const RewardConfig& config) {
  return std::make_unique<MathReward>(config);
}

std::unique_ptr<RewardFunction> make_gsm8k_reward(const RewardConfig& config) {
  bool strict = parse_option<Gsm8kMode>(config.mode) == Gsm8kMode::Strict;
  return std::make_unique<PerCompletionReward>("gsm8k", [strict](const RewardInput& in) {
    auto predicted = extract_gsm8k_answer(in.completion, strict);
    return predicted && gsm8k_answers_equal(*predicted, in.answer) ? 1.0 : 0.0;
  });
}

}  // namespace r1
