// Training and evaluation prompts: JSONL loading with configurable fields, and seeded, resumable sampling.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "r1/core/config.h"

namespace r1 {

struct Example {
  std::string prompt;         // the raw question (apply_template makes the model's input); for a
                              // message list, its last user turn
  nlohmann::json messages;    // the prompt as TRL's conversational format ([{role, content}, ...]);
                              // null for a plain string prompt
  std::string answer;         // the reference; a GSM8K "... #### N" solution becomes "N"
  nlohmann::json metadata;    // every other field of the line (e.g. countdown numbers, target)
  std::size_t index = 0;      // 0-based position in the file
  std::string where;          // "FILE:LINE", for messages
};

class Dataset {
 public:
  // Reads one JSON object per line (blank lines skipped). The prompt comes from
  // config.prompt_field (a string, a number, or a list of {role, content} messages), the answer from config.answer_field; with the default names the fields
  // question/problem and solution are accepted too. Numbers are accepted as answers. InputError
  // (file:line) on malformed JSON, a missing field (naming the fields the line has) or no examples.
  static Dataset load_jsonl(const std::filesystem::path& path, const DataConfig& config);

  std::size_t size() const { return examples_.size(); }
  const Example& operator[](std::size_t i) const { return examples_.at(i); }

 private:
  std::vector<Example> examples_;
};

// "... #### 1,234" -> "1234": the final answer of a GSM8K solution; the text unchanged when it has no "####".
std::string parse_gsm8k_answer(const std::string& answer);

// Where a sampler is: epoch and position within that epoch's order.
struct DataCursor {
  uint64_t epoch = 0;
  uint64_t position = 0;
  nlohmann::json to_json() const;
  static DataCursor from_json(const nlohmann::json& j);  // InputError when fields are missing or not integers
};

// Deterministic epoch orders over n examples: epoch e is a permutation seeded by (seed, e), or
// 0..n-1 when shuffle is false; the same on every platform (own Fisher-Yates on mt19937_64).
class DataSampler {
 public:
  DataSampler(std::size_t n, uint64_t seed, bool shuffle);
  // The next k indices, continuing into the next epoch when this one runs out.
  std::vector<std::size_t> next(std::size_t k);
  DataCursor cursor() const { return cursor_; }
  void restore(const DataCursor& cursor);  // InputError when the position lies beyond the epoch

 private:
  void build_order();

  std::size_t n_;
  uint64_t seed_;
  bool shuffle_;
  DataCursor cursor_;
  std::vector<std::size_t> order_;  // this epoch's permutation
};

}  // namespace r1
