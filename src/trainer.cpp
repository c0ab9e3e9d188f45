#include "r1/trainer.h"

#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <cmath>
#include <fstream>
#include <numeric>
#include <sstream>

#include "r1/checkpoint.h"
#include "r1/error.h"
#include "r1/evaluate.h"
#include "r1/log.h"
#include "r1/prompt_template.h"
#include "r1/signals.h"

namespace r1 {

namespace fs = std::filesystem;

namespace {

constexpr int kMaxNonFiniteStreak = 3;

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

std::string hms(double seconds) {
  auto s = static_cast<int64_t>(std::max(0.0, seconds));
  return fmt::format("{:02d}:{:02d}:{:02d}", s / 3600, (s / 60) % 60, s % 60);
}

// A seed for step `step`, refill round `round`: sampling is reproducible per step,
// so a resumed run needs no saved RNG state to continue exactly.
uint64_t step_seed(uint64_t seed, int64_t step, int round) {
  uint64_t x = seed * 0x9E3779B97F4A7C15ULL + static_cast<uint64_t>(step) * 0xBF58476D1CE4E5B9ULL +
               static_cast<uint64_t>(round) * 0x94D049BB133111EBULL;
  x ^= x >> 31;
  x *= 0xD6E8FEB86659FD93ULL;
  x ^= x >> 32;
  return x & 0x7FFFFFFFFFFFFFFFULL;
}

// The settings whose change alters a run's results, as "key: value" lines.
// Logging, checkpointing, step count, device and batching for memory may change on resume.
std::vector<std::string> run_defining_lines(Config c) {
  const Config d;
  c.train.steps = d.train.steps;
  c.train.output_dir = d.train.output_dir;
  c.train.checkpoint_every = d.train.checkpoint_every;
  c.train.keep_last = d.train.keep_last;
  c.train.log_samples_every = d.train.log_samples_every;
  c.train.threads = d.train.threads;
  c.train.micro_batch_size = d.train.micro_batch_size;
  c.train.gradient_checkpointing = d.train.gradient_checkpointing;
  c.rollout.batch_size = d.rollout.batch_size;
  c.model.device = d.model.device;
  c.eval = d.eval;
  auto lines = config_lines(c);
  // The sft: section does not take part in GRPO (dropped, not reset, so that checkpoints which
  // recorded it still resume).
  std::erase_if(lines, [](const std::string& line) { return line.rfind("sft.", 0) == 0; });
  return lines;
}

double mean(const std::vector<double>& v) {
  return v.empty() ? 0.0 : std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
}

}  // namespace

Trainer::Trainer(Config config, ResumeOptions resume)
    : config_(std::move(config)),
      run_dir_(config_.train.output_dir),
      device_(resolve_device(config_.model.device)),
      dataset_(Dataset::load_jsonl(config_.data.train, config_.data)),
      sampler_(dataset_.size(), static_cast<uint64_t>(config_.train.seed), config_.data.shuffle),
      rewards_(config_.rewards),
      checkpoint_(find_resume_checkpoint(run_dir_, resume, "train.output_dir")),
      policy_(load_model(checkpoint_ ? *checkpoint_ : fs::path(config_.model.path), parse_dtype(config_.model.dtype),
                         device_)),
      tokenizer_(Tokenizer::load(checkpoint_ ? *checkpoint_ : fs::path(config_.model.path))) {
  started_ = std::chrono::steady_clock::now();
  const auto& checkpoint = checkpoint_;
  policy_.model->set_gradient_checkpointing(config_.train.gradient_checkpointing);
  if (config_.grpo.beta > 0) {
    reference_ = load_model(config_.model.path, parse_dtype(config_.model.dtype), device_);
    reference_->model->eval();
    for (auto& p : reference_->model->parameters()) p.requires_grad_(false);
  }
  const int64_t total_updates = static_cast<int64_t>(config_.train.steps) * config_.grpo.num_iterations;
  optimizer_ = std::make_unique<Optimizer>(policy_.model->parameters(), config_.optim, total_updates);

  fs::create_directories(run_dir_);
  if (checkpoint) resume_from(*checkpoint, resume.allow_config_change);
  std::ofstream(run_dir_ / "config.yaml") << to_yaml(config_);
  add_log_file(run_dir_ / "train.log");
  const int64_t keep = checkpoint ? start_step_ : -1;
  metrics_log_ = std::make_unique<JsonlLog>(run_dir_ / "metrics.jsonl", keep);
  samples_log_ = std::make_unique<JsonlLog>(run_dir_ / "samples.jsonl", keep);
  if (config_.eval.every > 0) eval_log_ = std::make_unique<JsonlLog>(run_dir_ / "eval.jsonl", keep);
  spdlog::info("model {} ({}, {} on {}), {} prompts in {}, rewards: {}", config_.model.path, policy_.config.architecture,
               config_.model.dtype, device_.str(), dataset_.size(), config_.data.train,
               fmt::join(rewards_.names(), ", "));
  if (checkpoint) spdlog::info("resumed from {} at step {}", checkpoint->string(), start_step_);
}

Trainer::~Trainer() = default;

void Trainer::resume_from(const fs::path& checkpoint, bool allow_config_change) {
  std::ifstream in(checkpoint / "trainer_state.json");
  auto state = nlohmann::json::parse(in, nullptr, false);
  if (state.is_discarded()) throw InputError((checkpoint / "trainer_state.json").string() + ": not valid JSON");
  try {
    check_resume_settings(checkpoint, state.at("run_config").get<std::vector<std::string>>(),
                          run_defining_lines(config_), allow_config_change);
    start_step_ = state.at("step").get<int64_t>();
    updates_done_ = state.at("updates").get<int64_t>();
    total_tokens_ = state.at("num_tokens").get<int64_t>();
    nonfinite_total_ = state.at("nonfinite_skips").get<int64_t>();
    sampler_.restore(DataCursor::from_json(state.at("data_cursor")));
  } catch (const nlohmann::json::exception& e) {
    throw InputError((checkpoint / "trainer_state.json").string() + ": missing or malformed field (" + e.what() + ")");
  }
  optimizer_->load(checkpoint / "optimizer.pt");
}

void Trainer::run() {
  install_stop_handlers();
  const int64_t steps = config_.train.steps;
  // The starting model's score, so that the eval curve starts where training does.
  if (config_.eval.every > 0 && start_step_ == 0) evaluate(0);
  for (int64_t step = start_step_ + 1; step <= steps; ++step) {
    const auto step_start = std::chrono::steady_clock::now();

    RolloutBatch batch = rollout(step);  // sample G completions per prompt and score them
    const double rollout_s = seconds_since(step_start);
    const double reward_s = batch.scores.total.empty() ? 0.0 : reward_seconds_;
    compute_advantages(batch);

    const auto update_start = std::chrono::steady_clock::now();
    UpdateStats stats = update(batch);
    const double update_s = seconds_since(update_start);

    int64_t rollout_tokens = 0;
    for (const auto& c : batch.completions) rollout_tokens += static_cast<int64_t>(c.token_ids.size());
    auto metrics = step_metrics(step, batch, stats, rollout_s - reward_s, reward_s, update_s,
                                seconds_since(step_start), rollout_tokens);
    metrics_log_->write(metrics);
    log_console(step, metrics);
    if (config_.train.log_samples_every > 0 && step % config_.train.log_samples_every == 0) log_samples(step, batch);

    nonfinite_streak_ = stats.skipped_updates == config_.grpo.num_iterations ? nonfinite_streak_ + 1 : 0;
    if (nonfinite_streak_ >= kMaxNonFiniteStreak) {
      auto last = find_latest_checkpoint(run_dir_);
      throw std::runtime_error(fmt::format(
          "stopping: {} steps in a row had a NaN/Inf loss or gradient (try a lower optim.lr or "
          "optim.max_grad_norm); the last good checkpoint is {}",
          nonfinite_streak_, last ? last->string() : std::string("none (no checkpoint was saved yet)")));
    }
    if (config_.eval.every > 0 && step % config_.eval.every == 0) evaluate(step);

    const bool due = config_.train.checkpoint_every > 0 && step % config_.train.checkpoint_every == 0;
    if (due || step == steps || stop_requested()) save(step);
    if (stop_requested() && step < steps) {
      throw Interrupted(fmt::format("stopped at step {} after saving {}; continue with --resume auto", step,
                                    (run_dir_ / "checkpoints" / checkpoint_name(step)).string()));
    }
  }
  spdlog::info("done: {} steps in {}; the final model is in {}", steps, hms(seconds_since(started_)),
               (run_dir_ / "checkpoints" / checkpoint_name(steps)).string());
}

RolloutBatch Trainer::rollout(int64_t step) {
  const auto want = static_cast<std::size_t>(config_.train.prompts_per_step);
  RolloutBatch batch = sample_groups(step, 0, want);
  dropped_groups_ = 0;
  if (!config_.grpo.dynamic_sampling) return batch;
  // DAPO dynamic sampling: groups whose rewards are all equal carry no signal;
  // drop them and sample fresh prompts, up to max_refill_rounds extra rounds.
  auto keep_informative = [&](RolloutBatch& b) {
    auto stds = group_std(torch::tensor(b.scores.total, torch::kFloat64), config_.rollout.group_size);
    std::vector<std::size_t> keep;
    for (int64_t i = 0; i < stds.size(0); ++i) {
      if (stds[i].item<double>() > 0) keep.push_back(static_cast<std::size_t>(i));
    }
    dropped_groups_ += static_cast<int64_t>(b.num_prompts() - keep.size());
    b.keep_groups(keep);
  };
  keep_informative(batch);
  for (int round = 1; round <= config_.grpo.max_refill_rounds && batch.num_prompts() < want; ++round) {
    RolloutBatch more = sample_groups(step, round, want - batch.num_prompts());
    keep_informative(more);
    batch.append(std::move(more));
  }
  return batch;
}

RolloutBatch Trainer::sample_groups(int64_t step, int round, std::size_t num_prompts) {
  RolloutBatch batch;
  batch.group_size = config_.rollout.group_size;
  batch.example_indices = sampler_.next(num_prompts);
  for (std::size_t idx : batch.example_indices) {
    batch.prompt_texts.push_back(apply_template(config_.data.template_, dataset_[idx].prompt));
    batch.prompt_ids.push_back(encode_prompt(*tokenizer_, batch.prompt_texts.back()));
  }
  GenerateOptions options;
  options.group_size = config_.rollout.group_size;
  options.max_new_tokens = config_.rollout.max_new_tokens;
  options.batch_size = config_.rollout.batch_size;
  options.sampling.temperature = config_.rollout.temperature;
  options.sampling.top_p = config_.rollout.top_p;
  options.sampling.top_k = config_.rollout.top_k;
  options.sampling.min_p = config_.rollout.min_p;
  options.sampling.repetition_penalty = config_.rollout.repetition_penalty;
  options.stop = config_.rollout.stop;
  options.seed = step_seed(static_cast<uint64_t>(config_.train.seed), step, round);
  {
    torch::NoGradGuard no_grad;
    policy_.model->eval();
    auto gen = make_generator(options.seed, device_);
    batch.completions = generate(policy_.model, *tokenizer_, batch.prompt_ids, options, gen);
    policy_.model->train();
  }
  const auto reward_start = std::chrono::steady_clock::now();
  std::vector<RewardInput> inputs;
  inputs.reserve(batch.completions.size());
  for (const auto& c : batch.completions) {
    const auto& ex = dataset_[batch.example_indices[c.prompt_index]];
    inputs.push_back({batch.prompt_texts[c.prompt_index], c.text, ex.answer, ex.metadata});
  }
  batch.scores = rewards_.score(inputs);
  batch.rewards = torch::tensor(batch.scores.total, torch::kFloat64).to(torch::kFloat32);
  reward_seconds_ = seconds_since(reward_start);
  return batch;
}

void Trainer::compute_advantages(RolloutBatch& batch) const {
  if (batch.num_completions() == 0) {
    batch.advantages = torch::zeros({0});
    return;
  }
  batch.advantages = r1::compute_advantages(batch.rewards, batch.group_size, config_.grpo.scale_rewards);
}

UpdateStats Trainer::update(const RolloutBatch& batch) {
  UpdateStats stats;
  const int64_t n = static_cast<int64_t>(batch.num_completions());
  if (n == 0) return stats;
  const double temperature = config_.rollout.temperature > 0 ? config_.rollout.temperature : 1.0;
  const int pad = tokenizer_->pad_id().value_or(tokenizer_->eos_ids().empty() ? 0 : tokenizer_->eos_ids().front());

  std::vector<TrainingBatch> micro;
  for (int64_t start = 0; start < n; start += config_.train.micro_batch_size) {
    std::vector<std::size_t> rows;
    for (int64_t r = start; r < std::min(n, start + config_.train.micro_batch_size); ++r) rows.push_back(r);
    micro.push_back(make_training_batch(batch, rows, pad, config_.grpo.mask_truncated_completions, device_));
  }
  LossNormalizer norm{config_.grpo.loss_type, n, 0, static_cast<int64_t>(micro.size()), config_.rollout.max_new_tokens};
  for (const auto& mb : micro) norm.total_tokens += static_cast<int64_t>(mb.completion_mask.sum().item<double>());
  stats.tokens = norm.total_tokens;

  // Frozen log-probs: the reference model's (beta > 0) and, when the batch is
  // reused for several updates, the policy's before the first update.
  std::vector<torch::Tensor> ref_logp(micro.size()), old_logp(micro.size());
  const auto logprob_start = std::chrono::steady_clock::now();
  {
    torch::NoGradGuard no_grad;
    for (std::size_t i = 0; i < micro.size(); ++i) {
      if (reference_) ref_logp[i] = completion_logprobs(reference_->model, micro[i], temperature).logp;
      if (config_.grpo.num_iterations > 1) old_logp[i] = completion_logprobs(policy_.model, micro[i], temperature).logp;
    }
  }
  stats.logprob_s = seconds_since(logprob_start);

  for (int it = 0; it < config_.grpo.num_iterations; ++it) {
    optimizer_->zero_grad();
    double loss = 0, policy = 0, kl = 0, entropy = 0, low = 0, high = 0, tokens = 0;
    bool finite = true;
    for (std::size_t i = 0; i < micro.size(); ++i) {
      auto lp = completion_logprobs(policy_.model, micro[i], temperature);  // [N, T]
      PolicyLossInput in{lp.logp, old_logp[i].defined() ? old_logp[i] : lp.logp.detach(), ref_logp[i],
                         micro[i].advantages, micro[i].completion_mask};
      auto out = policy_loss(in, config_.grpo, norm);
      const double value = out.loss.item<double>();
      if (!std::isfinite(value)) {
        finite = false;
        break;
      }
      out.loss.backward();
      loss += value;
      policy += out.policy_loss;
      kl += out.kl;
      low += out.clipped_low;
      high += out.clipped_high;
      tokens += out.tokens;
      entropy += (lp.entropy * micro[i].completion_mask).sum().item<double>();
    }
    OptimizerStep step;
    if (finite) step = optimizer_->step(updates_done_);
    if (!finite || !step.applied) {
      optimizer_->zero_grad();
      ++stats.skipped_updates;
      ++nonfinite_total_;
      spdlog::warn("update skipped: non-finite {}", finite ? "gradient" : "loss");
    }
    ++updates_done_;
    const double denom = std::max(tokens, 1.0);
    stats.loss = loss;
    stats.policy_loss = policy / denom;
    stats.kl = kl / denom;
    stats.entropy = entropy / denom;
    stats.clip_low = low / denom;
    stats.clip_high = high / denom;
    stats.grad_norm = step.grad_norm;
    stats.lr = step.lr;
  }
  return stats;
}

nlohmann::json Trainer::step_metrics(int64_t step, const RolloutBatch& batch, const UpdateStats& stats,
                                     double rollout_s, double reward_s, double update_s, double step_s,
                                     int64_t rollout_tokens) {
  nlohmann::json m;
  m["step"] = step;
  const auto& total = batch.scores.total;
  m["reward"] = mean(total);
  double std_sum = 0;
  int zero_std = 0;
  const int g = batch.group_size;
  const auto groups = batch.num_prompts();
  if (groups > 0) {
    auto stds = group_std(batch.rewards, g);
    for (std::size_t i = 0; i < groups; ++i) {
      double s = stds[static_cast<int64_t>(i)].item<double>();
      std_sum += s;
      zero_std += s == 0 ? 1 : 0;
    }
  }
  m["reward_std"] = groups ? std_sum / static_cast<double>(groups) : 0.0;
  m["frac_reward_zero_std"] = groups ? static_cast<double>(zero_std) / static_cast<double>(groups) : 0.0;
  for (const auto& name : rewards_.names()) {
    auto it = batch.scores.per_reward.find(name);
    m["rewards/" + name + "/mean"] = it == batch.scores.per_reward.end() ? 0.0 : mean(it->second);
  }
  for (const auto& [name, n] : batch.scores.failures) m["rewards/" + name + "/failures"] = n;
  double len_sum = 0, len_max = 0, clipped = 0;
  int64_t prompt_tokens = 0;
  for (const auto& c : batch.completions) {
    len_sum += static_cast<double>(c.token_ids.size());
    len_max = std::max(len_max, static_cast<double>(c.token_ids.size()));
    clipped += c.finish_reason == "length" ? 1 : 0;
    prompt_tokens += static_cast<int64_t>(batch.prompt_ids[c.prompt_index].size());
  }
  const double count = std::max<double>(1.0, static_cast<double>(batch.num_completions()));
  m["completions/mean_length"] = len_sum / count;
  m["completions/max_length"] = len_max;
  m["completions/clipped_ratio"] = clipped / count;
  m["loss"] = stats.loss;
  m["policy_loss"] = stats.policy_loss;
  m["kl"] = stats.kl;
  m["entropy"] = stats.entropy;
  m["clip_ratio/low_mean"] = stats.clip_low;
  m["clip_ratio/high_mean"] = stats.clip_high;
  m["clip_ratio/region_mean"] = stats.clip_low + stats.clip_high;
  m["grad_norm"] = stats.grad_norm;
  m["lr"] = stats.lr;
  total_tokens_ += prompt_tokens + rollout_tokens;
  m["num_tokens"] = total_tokens_;
  m["nonfinite_skips"] = nonfinite_total_;
  if (config_.grpo.dynamic_sampling) m["dynamic_sampling/dropped_groups"] = dropped_groups_;
  m["epoch"] = sampler_.cursor().epoch;
  m["timing/rollout_s"] = rollout_s;
  m["timing/reward_s"] = reward_s;
  m["timing/logprob_s"] = stats.logprob_s;
  m["timing/update_s"] = update_s;
  m["throughput/update_tokens_per_s"] =
      update_s > 0 ? static_cast<double>(prompt_tokens + rollout_tokens) * config_.grpo.num_iterations / update_s : 0.0;
  m["timing/step_s"] = step_s;
  m["throughput/rollout_tokens_per_s"] = rollout_s > 0 ? static_cast<double>(rollout_tokens) / rollout_s : 0.0;
  return m;
}

void Trainer::log_console(int64_t step, const nlohmann::json& m) const {
  std::string per_reward;
  for (const auto& name : rewards_.names()) {
    per_reward += fmt::format(" {} {:.3f}", name, m["rewards/" + name + "/mean"].get<double>());
  }
  const double elapsed = seconds_since(started_);
  const int64_t done = step - start_step_;
  const double eta = done > 0 ? elapsed / static_cast<double>(done) * static_cast<double>(config_.train.steps - step) : 0;
  spdlog::info("step {}/{} | reward {:.3f} |{} | len {:.0f} | kl {:.4f} | clip {:.3f} | {:.0f} tok/s | {} ETA {}",
               step, config_.train.steps, m["reward"].get<double>(), per_reward,
               m["completions/mean_length"].get<double>(), m["kl"].get<double>(),
               m["clip_ratio/region_mean"].get<double>(), m["throughput/rollout_tokens_per_s"].get<double>(),
               hms(elapsed), hms(eta));
}

void Trainer::log_samples(int64_t step, const RolloutBatch& batch) {
  for (std::size_t i = 0; i < batch.num_completions(); ++i) {
    const auto& c = batch.completions[i];
    nlohmann::json rewards;
    for (const auto& [name, values] : batch.scores.per_reward) rewards[name] = values[i];
    samples_log_->write({{"step", step},
                         {"prompt", batch.prompt_texts[c.prompt_index]},
                         {"answer", dataset_[batch.example_indices[c.prompt_index]].answer},
                         {"sample", c.sample},
                         {"completion", c.text},
                         {"finish_reason", c.finish_reason},
                         {"rewards", rewards},
                         {"reward", batch.scores.total[i]},
                         {"advantage", batch.advantages[static_cast<int64_t>(i)].item<double>()}});
  }
}

void Trainer::evaluate(int64_t step) {
  Dataset eval_data = Dataset::load_jsonl(config_.eval.data, config_.data);
  const EvalOptions options = eval_options(config_);
  torch::NoGradGuard no_grad;
  policy_.model->eval();
  auto report = r1::evaluate(policy_.model, *tokenizer_, eval_data, options);
  policy_.model->train();
  auto j = report.summary.to_json();
  j["step"] = step;
  eval_log_->write(j);
  spdlog::info("eval step {}: pass@1 {:.3f} format {:.3f} mean length {:.0f} ({} problems)", step,
               report.summary.pass_at_1, report.summary.format_rate, report.summary.mean_length,
               report.summary.problems);
}

void Trainer::save(int64_t step) {
  auto dir = save_checkpoint(run_dir_, step, config_.train.keep_last, [&](const fs::path& tmp) {
    save_model(policy_.model, policy_.config, tmp, policy_.dir);
    optimizer_->save(tmp / "optimizer.pt");
    nlohmann::json state = {{"step", step},
                            {"updates", updates_done_},
                            {"num_tokens", total_tokens_},
                            {"nonfinite_skips", nonfinite_total_},
                            {"data_cursor", sampler_.cursor().to_json()},
                            {"seed", config_.train.seed},
                            {"run_config", run_defining_lines(config_)}};
    std::ofstream(tmp / "trainer_state.json") << state.dump(2) << "\n";
  });
  spdlog::info("saved checkpoint {}", dir.string());
}

}  // namespace r1
