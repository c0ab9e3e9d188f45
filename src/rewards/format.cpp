#include <array>

#include "factories.h"

namespace r1 {

namespace {

bool prompt_opens_think(const std::string& prompt, const FormatTags& tags) {
  std::string p = trim(prompt);
  return p.size() >= tags.think_open.size() &&
         p.compare(p.size() - tags.think_open.size(), tags.think_open.size(), tags.think_open) == 0;
}

// The completion as if the think block were opened inside it.
std::string with_think_open(const std::string& prompt, const std::string& completion, const FormatTags& tags) {
  return prompt_opens_think(prompt, tags) ? tags.think_open + completion : completion;
}

std::size_t count(const std::string& text, const std::string& tag) {
  std::size_t n = 0;
  for (std::size_t pos = text.find(tag); pos != std::string::npos; pos = text.find(tag, pos + tag.size())) ++n;
  return n;
}

bool only_space(const std::string& text, std::size_t from, std::size_t to) {
  return std::all_of(text.begin() + static_cast<std::ptrdiff_t>(from), text.begin() + static_cast<std::ptrdiff_t>(to),
                     [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; });
}

}  // namespace

double format_score(const std::string& prompt, const std::string& completion, bool strict, const FormatTags& tags) {
  std::string text = with_think_open(prompt, completion, tags);
  std::size_t think = text.find(tags.think_open);
  if (think == std::string::npos) return 0;
  std::size_t think_end = text.find(tags.think_close, think + tags.think_open.size());
  if (think_end == std::string::npos) return 0;
  std::size_t answer = text.find(tags.answer_open, think_end + tags.think_close.size());
  if (answer == std::string::npos) return 0;
  std::size_t content = answer + tags.answer_open.size();
  std::size_t answer_end = text.find(tags.answer_close, content);
  if (answer_end == std::string::npos || trim(std::string_view(text).substr(content, answer_end - content)).empty())
    return 0;
  if (!strict) return 1;
  for (const auto* tag : {&tags.think_open, &tags.think_close, &tags.answer_open, &tags.answer_close}) {
    if (count(text, *tag) != 1) return 0;
  }
  bool shape = only_space(text, 0, think) &&
               only_space(text, think_end + tags.think_close.size(), answer) &&
               only_space(text, answer_end + tags.answer_close.size(), text.size());
  return shape ? 1 : 0;
}

double tag_count_score(const std::string& prompt, const std::string& completion, const FormatTags& tags) {
  std::string text = with_think_open(prompt, completion, tags);
  const std::array<const std::string*, 4> order = {&tags.think_open, &tags.think_close, &tags.answer_open,
                                                   &tags.answer_close};
  double score = 0;
  std::size_t previous = 0;
  bool have_previous = false;
  for (const auto* tag : order) {
    std::size_t pos = text.find(*tag);
    bool once = pos != std::string::npos && count(text, *tag) == 1;
    bool placed = once && (!have_previous || pos >= previous);
    if (placed) score += 0.25;
    if (once) {
      previous = pos + tag->size();
      have_previous = true;
    }
  }
  return score;
}

std::unique_ptr<RewardFunction> make_format_reward(const RewardConfig& config) {
  bool strict = parse_option<FormatMode>(config.mode) != FormatMode::Lenient;
  return std::make_unique<PerCompletionReward>(
      "format", [strict](const RewardInput& in) { return format_score(in.prompt, in.completion, strict); });
}

std::unique_ptr<RewardFunction> make_tag_count_reward(const RewardConfig&) {
  return std::make_unique<PerCompletionReward>(
      "tag_count", [](const RewardInput& in) { return tag_count_score(in.prompt, in.completion); });
}

}  // namespace r1
