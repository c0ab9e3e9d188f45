#include "r1/data/dataset.h"

#include <fmt/format.h>

#include <fstream>
#include <random>

#include "r1/core/error.h"
#include "r1/core/jsonl.h"

namespace r1 {

namespace {

std::string field_list(const nlohmann::json& row) {
  std::string names;
  for (const auto& [k, v] : row.items()) names += (names.empty() ? "" : ", ") + k;
  return names.empty() ? "none" : names;
}

// The value of the first of `names` present in `row`, as text; nullptr-equivalent "" with found=false.
struct Field {
  std::string name;
  std::string text;
};

std::optional<Field> find_field(const nlohmann::json& row, const std::vector<std::string>& names,
                                const std::string& where) {
  for (const auto& name : names) {
    auto it = row.find(name);
    if (it == row.end()) continue;
    if (it->is_string()) return Field{name, it->get<std::string>()};
    if (it->is_number()) return Field{name, it->dump()};
    throw InputError(where + ": field '" + name + "' is " + std::string(it->type_name()) +
                     "; it must be a string or a number");
  }
  return std::nullopt;
}

// Uniform integer in [0, bound) without modulo bias, independent of the standard library's distributions.
uint64_t uniform_below(std::mt19937_64& rng, uint64_t bound) {
  uint64_t limit = UINT64_MAX - UINT64_MAX % bound;
  uint64_t x;
  do x = rng();
  while (x >= limit);
  return x % bound;
}

}  // namespace

std::string parse_gsm8k_answer(const std::string& answer) {
  std::size_t pos = answer.rfind("####");
  if (pos == std::string::npos) return answer;
  std::string out;
  for (char c : answer.substr(pos + 4))
    if (c != ',' && c != '$' && !std::isspace(static_cast<unsigned char>(c))) out += c;
  return out;
}

Dataset Dataset::load_jsonl(const std::filesystem::path& path, const DataConfig& config) {
  std::vector<std::string> prompt_names = {config.prompt_field};
  if (config.prompt_field == "prompt") prompt_names.insert(prompt_names.end(), {"question", "problem"});
  std::vector<std::string> answer_names = {config.answer_field};
  if (config.answer_field == "answer") answer_names.push_back("solution");

  Dataset ds;
  read_jsonl(path, {.role = "the data file; check data.train / the path"}, [&](JsonlRow& line) {
    auto& row = line.value;
    const std::string& where = line.where;
    Example ex;
    // A conversational prompt: a list of {role, content} messages.
    for (const auto& name : prompt_names) {
      auto it = row.find(name);
      if (it == row.end() || !it->is_array()) continue;
      for (std::size_t m = 0; m < it->size(); ++m) {
        const auto& msg = (*it)[m];
        if (!msg.is_object() || !msg.contains("role") || !msg["role"].is_string() || !msg.contains("content"))
          throw InputError(fmt::format("{}: {}[{}] is not a {{\"role\": ..., \"content\": ...}} message", where, name, m));
        if (msg["role"] == "user" && msg["content"].is_string()) ex.prompt = msg["content"].get<std::string>();
      }
      if (it->empty()) throw InputError(where + ": " + name + " is an empty list of messages");
      ex.messages = *it;
      row[name] = ex.prompt;  // read below as the plain prompt (its last user turn)
      break;
    }
    auto prompt = find_field(row, prompt_names, where);
    if (!prompt)
      throw InputError(where + ": no prompt field '" + config.prompt_field + "'; the line has: " + field_list(row) +
                       "; set data.prompt_field");
    auto answer = find_field(row, answer_names, where);
    if (!answer)
      throw InputError(where + ": no answer field '" + config.answer_field + "'; the line has: " + field_list(row) +
                       "; set data.answer_field");
    ex.prompt = std::move(prompt->text);
    ex.answer = parse_gsm8k_answer(answer->text);
    ex.index = ds.examples_.size();
    ex.where = where;
    row.erase(prompt->name);
    row.erase(answer->name);
    ex.metadata = std::move(row);
    ds.examples_.push_back(std::move(ex));
  });
  if (ds.examples_.empty()) throw InputError(path.string() + ": no examples (the file is empty)");
  return ds;
}

nlohmann::json DataCursor::to_json() const { return {{"epoch", epoch}, {"position", position}}; }

DataCursor DataCursor::from_json(const nlohmann::json& j) {
  for (const char* key : {"epoch", "position"}) {
    if (!j.is_object() || !j.contains(key) || !j[key].is_number_unsigned())
      throw InputError(std::string("data cursor: '") + key + "' missing or not a non-negative integer in " + j.dump());
  }
  return {j["epoch"].get<uint64_t>(), j["position"].get<uint64_t>()};
}

DataSampler::DataSampler(std::size_t n, uint64_t seed, bool shuffle) : n_(n), seed_(seed), shuffle_(shuffle) {
  if (n == 0) throw InputError("data sampler: the dataset is empty");
  build_order();
}

void DataSampler::build_order() {
  order_.resize(n_);
  for (std::size_t i = 0; i < n_; ++i) order_[i] = i;
  if (!shuffle_) return;
  std::mt19937_64 rng(seed_ * 0x9E3779B97F4A7C15ULL + cursor_.epoch);
  for (std::size_t i = n_ - 1; i > 0; --i) std::swap(order_[i], order_[uniform_below(rng, i + 1)]);
}

std::vector<std::size_t> DataSampler::next(std::size_t k) {
  std::vector<std::size_t> out;
  out.reserve(k);
  while (out.size() < k) {
    if (cursor_.position >= n_) {
      ++cursor_.epoch;
      cursor_.position = 0;
      build_order();
    }
    out.push_back(order_[cursor_.position++]);
  }
  return out;
}

void DataSampler::restore(const DataCursor& cursor) {
  if (cursor.position > n_)
    throw InputError("data cursor: position " + std::to_string(cursor.position) + " lies beyond the " +
                     std::to_string(n_) + " examples; the checkpoint belongs to another dataset");
  cursor_ = cursor;
  build_order();
}

}  // namespace r1
