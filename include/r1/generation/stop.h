// When a completion ends: end token ids, stop strings (checked on a tail window, not the whole text) and length.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "r1/core/options.h"

namespace r1 {

// Turns token ids into text (special tokens skipped); used for stop strings and Completion::text.
using TextDecoder = std::function<std::string(const std::vector<int>&)>;

class StopChecker {
 public:
  StopChecker(const TextDecoder& decode, std::set<int> end_ids, std::vector<std::string> stop_strings);

  // After the last id of `ids` was appended: Stop when it is an end id or the text now contains a stop
  // string, Length at `max_tokens`, else nothing. A stop string found now must overlap the text the
  // last token added (it was not there a token earlier), so only a tail of the ids is decoded: the
  // shortest one that holds the longest stop string plus a margin before the last token's text, so
  // that a partial character or a stripped leading space at the tail's start cannot hide a match. A
  // step costs O(longest stop string), not O(completion length).
  std::optional<FinishReason> finish_reason(const std::vector<int>& ids, int64_t max_tokens) const;

 private:
  bool ends_with_stop_string(const std::vector<int>& ids) const;

  const TextDecoder& decode_;
  std::set<int> end_ids_;
  std::vector<std::string> stop_strings_;
  std::size_t longest_stop_ = 0;  // bytes
};

}  // namespace r1
