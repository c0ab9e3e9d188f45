
#include <cctype>

#include "r1/core/error.h"
#include "r1/core/regex.h"
#include "r1/rewards/math_verify.h"
#include "factories.h"

namespace r1 {

namespace {

// Collapses runs of whitespace to one space and trims.
std::string squeeze(std::string_view s) {
  std::string out;
  bool space = false;
  for (char c : s) {
    if (std::isspace(static_cast<unsigned char>(c))) {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

// The final answer of a free-form completion: its <answer> block, else its last \boxed, else all of it.
std::string final_text(const std::string& completion) {
  if (auto tag = answer_tag(completion)) return *tag;
  if (auto boxed = last_boxed(completion)) return *boxed;
  return completion;
}

bool is_choice_letter(char c) { return c >= 'A' && c <= 'J'; }
bool is_word_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_'; }

// A standalone letter A-J at i (no letters or digits either side).
bool standalone(std::string_view s, std::size_t i) {
  return is_choice_letter(s[i]) && (i == 0 || !is_word_char(s[i - 1])) &&
         (i + 1 == s.size() || !is_word_char(s[i + 1]));
}

class RegexReward : public RewardFunction {
 public:
  explicit RegexReward(const std::string& pattern) : regex_(pattern, Regex::Encoding::Bytes, "regex reward") {}

  std::string name() const override { return "regex"; }
  std::vector<double> score(const std::vector<RewardInput>& batch) override {
    std::vector<double> out;
    out.reserve(batch.size());
    for (const auto& in : batch) out.push_back(regex_.search(in.completion) ? 1.0 : 0.0);
    return out;
  }

 private:
  Regex regex_;
};

}  // namespace

std::optional<char> extract_choice(const std::string& text) {
  std::string s = squeeze(final_text(text));
  if (s.empty()) return std::nullopt;
  // "C", "(C)", "C.", "C)": the whole answer is the letter.
  std::string bare;
  for (char c : s)
    if (c != '(' && c != ')' && c != '.' && c != ' ' && c != '\\' && c != '{' && c != '}') bare += c;
  if (bare.size() == 1 && is_choice_letter(bare[0])) return bare[0];
  std::size_t paren = std::string::npos;
  for (std::size_t i = 0; i + 2 < s.size(); ++i)
    if (s[i] == '(' && is_choice_letter(s[i + 1]) && s[i + 2] == ')') paren = i + 1;
  if (paren != std::string::npos) return s[paren];
  std::string lower = s;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  for (std::string_view cue : {"answer is", "answer:"}) {
    std::size_t pos = lower.rfind(cue);
    if (pos == std::string::npos) continue;
    for (std::size_t i = pos + cue.size(); i < s.size(); ++i) {
      if (standalone(s, i)) return s[i];
      if (std::isalnum(static_cast<unsigned char>(s[i]))) break;
    }
  }
  for (std::size_t i = s.size(); i-- > 0;)
    if (standalone(s, i)) return s[i];
  return std::nullopt;
}

std::optional<std::string> extract_exact_answer(const std::string& completion) {
  std::string s = squeeze(final_text(completion));
  if (s.empty()) return std::nullopt;
  return s;
}

bool exact_answers_equal(const std::string& predicted, const std::string& reference) {
  return squeeze(predicted) == squeeze(reference);
}

std::unique_ptr<RewardFunction> make_exact_reward(const RewardConfig&) {
  return std::make_unique<PerCompletionReward>("exact", [](const RewardInput& in) {
    auto predicted = extract_exact_answer(in.completion);
    return predicted && exact_answers_equal(*predicted, in.answer) ? 1.0 : 0.0;
  });
}

std::unique_ptr<RewardFunction> make_choice_reward(const RewardConfig&) {
  return std::make_unique<PerCompletionReward>("choice", [](const RewardInput& in) {
    auto predicted = extract_choice(in.completion);
    auto reference = extract_choice(in.answer);
    return predicted && reference && *predicted == *reference ? 1.0 : 0.0;
  });
}

std::unique_ptr<RewardFunction> make_regex_reward(const RewardConfig& config) {
  if (config.pattern.empty()) throw InputError("regex reward: no pattern; set pattern: REGEX on the reward");
  return std::make_unique<RegexReward>(config.pattern);
}

}  // namespace r1
