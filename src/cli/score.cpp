#include <fmt/format.h>
#include <chrono>
#include <fstream>
#include <iostream>
#include <memory>

#include "r1/cli/commands.h"
#include "r1/core/error.h"
#include "r1/core/hub.h"
#include "r1/core/output_file.h"
#include "r1/core/jsonl.h"
#include "r1/rewards/reward_set.h"
#include "r1/tokenizer/tokenizer.h"

namespace r1::cli {

namespace {

struct ScoreOptions {
  std::string rewards;      // NAME[:W][,NAME[:W]...]
  std::string input;
  std::string output;       // empty: stdout
  RewardConfig base;        // reward-specific keys shared by every listed reward
  std::string model;        // a model directory whose tokenizer counts completion tokens (overlong, cosine)
  int max_new_tokens = 0;   // the limit the completions were sampled under (overlong, cosine); 0 = unknown
  bool bench = false;       // time each reward alone instead of writing results
};

std::vector<RewardConfig> parse_reward_list(const ScoreOptions& o) {
  std::vector<RewardConfig> out;
  std::size_t start = 0;
  while (start <= o.rewards.size()) {
    std::size_t end = o.rewards.find(',', start);
    if (end == std::string::npos) end = o.rewards.size();
    std::string item = o.rewards.substr(start, end - start);
    start = end + 1;
    if (item.empty()) throw InputError("--reward: empty entry in '" + o.rewards + "'; use NAME[:WEIGHT],...");
    RewardConfig c = o.base;
    std::size_t colon = item.find(':');
    const std::string name = item.substr(0, colon);
    c.name = require_option<RewardKind>(name, "--reward " + name);
    if (colon != std::string::npos) {
      std::string w = item.substr(colon + 1);
      char* stop = nullptr;
      c.weight = std::strtod(w.c_str(), &stop);
      if (w.empty() || *stop != '\0') throw InputError("--reward: weight '" + w + "' of " + name + " is not a number");
    }
    out.push_back(c);
  }
  return out;
}

// One input line: the JSON object (kept whole for the output and as metadata) and its text fields.
struct Row {
  nlohmann::json json;
  std::string prompt, completion, answer;
  int64_t completion_tokens = -1;  // its completion_tokens field, else counted with --model; -1 = unknown
};

std::string text_field(const nlohmann::json& row, const char* key, const std::string& where, bool required) {
  auto it = row.find(key);
  if (it == row.end()) {
    if (!required) return "";
    std::string names;
    for (const auto& [k, v] : row.items()) names += (names.empty() ? "" : ", ") + k;
    throw InputError(where + ": no '" + key + "' field; the line has: " + (names.empty() ? "none" : names));
  }
  if (it->is_string()) return it->get<std::string>();
  if (it->is_number()) return it->dump();
  throw InputError(where + ": '" + key + "' is " + it->type_name() + "; expected a string");
}

std::vector<Row> read_rows(const std::string& path, const Tokenizer* tokenizer) {
  std::vector<Row> rows;
  read_jsonl(path, {.role = "the input file"}, [&](JsonlRow& line) {
    Row r;
    r.json = std::move(line.value);
    r.completion = text_field(r.json, "completion", line.where, true);
    r.answer = text_field(r.json, "answer", line.where, true);
    r.prompt = text_field(r.json, "prompt", line.where, false);
    if (auto it = r.json.find("completion_tokens"); it != r.json.end()) {
      if (!it->is_number_integer() || it->get<int64_t>() < 0)
        throw InputError(line.where + ": 'completion_tokens' is " + it->dump() + "; expected a count >= 0");
      r.completion_tokens = it->get<int64_t>();
    } else if (tokenizer) {
      r.completion_tokens = static_cast<int64_t>(tokenizer->encode(r.completion).size());
    }
    rows.push_back(std::move(r));
  });
  if (rows.empty()) throw InputError(path + ": no lines to score");
  return rows;
}

std::vector<RewardInput> inputs_of(const std::vector<Row>& rows, std::size_t begin, std::size_t end, int max_new_tokens) {
  std::vector<RewardInput> batch;
  batch.reserve(end - begin);
  for (std::size_t i = begin; i < end; ++i)
    batch.push_back({rows[i].prompt, rows[i].completion, rows[i].answer, rows[i].json, rows[i].completion_tokens, max_new_tokens});
  return batch;
}

int bench(const std::vector<RewardConfig>& configs, const std::vector<Row>& rows, int max_new_tokens) {
  auto batch = inputs_of(rows, 0, rows.size(), max_new_tokens);
  std::cout << fmt::format("{:<12} {:>12} {:>10} {:>16} {:>12}\n", "reward", "completions", "seconds", "completions/s",
                           "slowest ms");
  for (const auto& c : configs) {
    auto fn = make_reward(c);
    auto t0 = std::chrono::steady_clock::now();
    auto scores = fn->score(batch);
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    double mean = 0;
    for (double x : scores) mean += x / static_cast<double>(scores.size());
    // The slowest single completion, scored one at a time in a second pass.
    double slowest = 0;
    for (const auto& in : batch) {
      auto t1 = std::chrono::steady_clock::now();
      fn->score({in});
      slowest = std::max(slowest, std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t1).count());
    }
    std::cout << fmt::format("{:<12} {:>12} {:>10.3f} {:>16.0f} {:>12.3f}   (mean reward {:.3f})\n", option_name(c.name),
                             scores.size(), s, static_cast<double>(scores.size()) / std::max(s, 1e-9), slowest, mean);
  }
  return kExitOk;
}

int score(const ScoreOptions& o) {
  auto configs = parse_reward_list(o);
  RewardSet set(configs);  // checks every reward (e.g. the command program) before reading input
  const auto tokenizer = o.model.empty() ? nullptr : Tokenizer::load(resolve_model_dir(o.model));
  auto rows = read_rows(o.input, tokenizer.get());
  if (o.bench) return bench(configs, rows, o.max_new_tokens);
  OutputFile out = o.output.empty() ? OutputFile::standard_output() : OutputFile(o.output);
  auto names = set.names();
  constexpr std::size_t kChunk = 1024;
  for (std::size_t begin = 0; begin < rows.size(); begin += kChunk) {
    std::size_t end = std::min(rows.size(), begin + kChunk);
    RewardScores s = set.score(inputs_of(rows, begin, end, o.max_new_tokens));
    for (std::size_t i = begin; i < end; ++i) {
      nlohmann::json row = rows[i].json;
      nlohmann::json per = nlohmann::json::object();
      for (const auto& name : names) per[name] = s.per_reward.at(name)[i - begin];
      row["rewards"] = per;
      row["reward"] = s.total[i - begin];
      out.write(row.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
    }
  }
  out.close();
  return kExitOk;
}

}  // namespace

void add_score_command(CLI::App& app, Action& action) {
  auto* sub = app.add_subcommand("score", "Score completions (JSONL with completion, answer, ...) with rewards");
  auto o = std::make_shared<ScoreOptions>();
  sub->add_option("--reward,-r", o->rewards, "NAME[:WEIGHT][,NAME[:WEIGHT]...]: " + option_list<RewardKind>(", "))
      ->required();
  sub->add_option("--input,-i", o->input, "JSONL: completion, answer, and what the reward needs (prompt, numbers, target)")
      ->required();
  sub->add_option("--output,-o", o->output, "Where to write the scored lines (default stdout)");
  sub->add_option("--mode", o->base.mode,
                  "format: " + option_list<FormatMode>("|") + "; gsm8k: " + option_list<Gsm8kMode>("|") +
                      "; cosine (its verifier): " + option_list<EvalTask>("|"));
  add_choice_option(sub, "--extract", o->base.extract, "math, cosine: where the final answer is (default tagged)");
  sub->add_option("--float-rounding", o->base.float_rounding, "math, cosine: decimal places numbers are compared at")
      ->check(CLI::Range(0, 15))
      ->capture_default_str();
  add_choice_option(sub, "--percent", o->base.percent, "math, cosine: what 50\\% equals (default both)");
  sub->add_option("--pattern", o->base.pattern, "regex: the pattern (PCRE2) a completion must match");
  sub->add_option("--command", o->base.command, "command: the reward program and its arguments");
  sub->add_option("--timeout", o->base.timeout_s, "command: seconds to wait for one score")
      ->check(above(0))
      ->capture_default_str();
  add_choice_option(sub, "--on-error", o->base.on_error, "command: what a failing program scores (default error)");
  sub->add_option("--default-score", o->base.default_score, "command: score used on failure with --on-error default");
  sub->add_option("--format-score", o->base.format_score, "countdown: score of a well-formed wrong answer")
      ->capture_default_str();
  sub->add_option("--buffer", o->base.buffer, "overlong: tokens before the limit where the penalty ramps up");
  sub->add_option("--penalty", o->base.penalty, "overlong: the penalty at the limit")->capture_default_str();
  sub->add_option("--max-len", o->base.max_len, "overlong, cosine: the length limit in tokens (default --max-new-tokens)");
  sub->add_option("--ngram", o->base.ngram, "repetition: words per n-gram")->capture_default_str();
  sub->add_option("--max-penalty", o->base.max_penalty, "repetition: the score of an all-repeating completion (<= 0)")
      ->capture_default_str();
  sub->add_option("--max-new-tokens", o->max_new_tokens, "overlong, cosine: the limit the completions were sampled under")
      ->check(CLI::NonNegativeNumber);
  sub->add_option("--model", o->model,
                  "overlong, cosine: a model directory whose tokenizer counts each completion's tokens (lines without "
                  "a completion_tokens field)");
  sub->add_flag("--bench", o->bench, "")->group("");  // hidden: time each reward, print completions/s
  sub->callback([&action, o] { action = [o] { return score(*o); }; });
}

}  // namespace r1::cli
