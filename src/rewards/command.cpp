#include <chrono>
#include <cmath>
#include <cstdlib>
#include <memory>

#include <spdlog/spdlog.h>

#include "factories.h"
#include "r1/core/error.h"
#include "r1/core/process.h"
#include "r1/core/strings.h"

namespace r1 {

namespace {

class CommandReward : public RewardFunction {
 public:
  explicit CommandReward(const RewardConfig& config) : config_(config) {
    auto argv = split_command(config.command, "command reward");
    if (argv.empty()) throw InputError("command reward: empty command; set command: PROGRAM [ARGS...]");
    argv[0] = resolve_program(argv[0], config.command, "command reward");
    process_ = std::make_unique<LineProcess>(std::move(argv), "command reward");
  }

  std::string name() const override { return "command"; }
  int failures() const override { return failures_; }

  std::vector<double> score(const std::vector<RewardInput>& batch) override {
    std::vector<double> scores(batch.size(), config_.default_score);
    if (batch.empty()) return scores;
    std::string input;
    for (const auto& in : batch) {
      nlohmann::json line = {{"prompt", in.prompt}, {"completion", in.completion}, {"answer", in.answer},
                             {"metadata", in.metadata.is_null() ? nlohmann::json::object() : in.metadata}};
      input += line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      input += '\n';
    }
    std::size_t received = 0;
    const auto end = process_->exchange(input, batch.size(), timeout(), [&](std::string text) {
      const std::string line = trim(text);
      char* stop = nullptr;
      double value = std::strtod(line.c_str(), &stop);
      if (line.empty() || *stop != '\0' || !std::isfinite(value)) {
        fail_one(scores, received, "answered '" + line.substr(0, 80) + "', not a number");
      } else {
        scores[received] = value;
      }
      ++received;
    });
    switch (end) {
      case ExchangeEnd::Answered: break;
      case ExchangeEnd::Timeout:
        fail_rest(scores, received, fmt::format("no score within timeout_s = {} s", config_.timeout_s));
        break;
      case ExchangeEnd::StoppedReading:
        fail_rest(scores, received, "the program stopped reading its input (" + process_->exit_reason() + ")");
        break;
      case ExchangeEnd::Exited:
        fail_rest(scores, received, "the program exited before answering (" + process_->exit_reason() + ")");
        break;
    }
    return scores;
  }

 private:
  std::chrono::milliseconds timeout() const {
    return std::chrono::milliseconds(static_cast<long long>(std::ceil(config_.timeout_s * 1000)));
  }

  [[noreturn]] void raise(const std::string& what) {
    process_->stop();
    throw std::runtime_error("command reward '" + config_.command + "': " + what +
                             "; fix the program, or set on_error: default to score such completions default_score");
  }

  void fail_one(std::vector<double>& scores, std::size_t i, const std::string& what) {
    if (config_.on_error != OnError::Default) raise(fmt::format("completion {} of the batch: {}", i, what));
    spdlog::warn("command reward '{}': completion {} of the batch: {}; scored {}", config_.command, i, what,
                 config_.default_score);
    scores[i] = config_.default_score;
    ++failures_;
  }

  // The program cannot answer the rest of the batch: stop it (restarted on the next batch).
  void fail_rest(std::vector<double>& scores, std::size_t from, const std::string& what) {
    if (config_.on_error != OnError::Default) raise(what);
    spdlog::warn("command reward '{}': {}; {} completions scored {}", config_.command, what, scores.size() - from,
                 config_.default_score);
    for (std::size_t i = from; i < scores.size(); ++i) scores[i] = config_.default_score;
    failures_ += static_cast<int>(scores.size() - from);
    process_->stop();
  }

  RewardConfig config_;
  std::unique_ptr<LineProcess> process_;
  int failures_ = 0;
};

}  // namespace

std::unique_ptr<RewardFunction> make_command_reward(const RewardConfig& config) {
  return std::make_unique<CommandReward>(config);
}

}  // namespace r1
