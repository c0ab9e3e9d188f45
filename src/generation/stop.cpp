#include "r1/generation/stop.h"

#include <algorithm>

namespace r1 {

namespace {
// Bytes kept before a possible match: a tail that starts mid-character decodes to a few U+FFFD
// (3 bytes each), and SentencePiece drops the leading space of the first piece.
constexpr std::size_t kTailMargin = 16;
}  // namespace

StopChecker::StopChecker(const TextDecoder& decode, std::set<int> end_ids, std::vector<std::string> stop_strings)
    : decode_(decode), end_ids_(std::move(end_ids)), stop_strings_(std::move(stop_strings)) {
  for (const auto& s : stop_strings_) longest_stop_ = std::max(longest_stop_, s.size());
}

std::optional<FinishReason> StopChecker::finish_reason(const std::vector<int>& ids, int64_t max_tokens) const {
  if (end_ids_.count(ids.back())) return FinishReason::Stop;
  if (!stop_strings_.empty() && ends_with_stop_string(ids)) return FinishReason::Stop;
  if (static_cast<int64_t>(ids.size()) >= max_tokens) return FinishReason::Length;
  return std::nullopt;
}

bool StopChecker::ends_with_stop_string(const std::vector<int>& ids) const {
  const std::size_t last_bytes = decode_({ids.back()}).size();
  const std::size_t need = last_bytes + longest_stop_ + kTailMargin;
  std::string tail;
  // Double the window until its text is long enough (or it is the whole completion).
  for (std::size_t window = std::min<std::size_t>(ids.size(), longest_stop_ + 2);; window *= 2) {
    window = std::min(window, ids.size());
    tail = decode_(std::vector<int>(ids.end() - static_cast<std::ptrdiff_t>(window), ids.end()));
    if (tail.size() >= need || window == ids.size()) break;
  }
  for (const auto& s : stop_strings_)
    if (tail.find(s) != std::string::npos) return true;
  return false;
}

}  // namespace r1
