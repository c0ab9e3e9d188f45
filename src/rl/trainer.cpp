#include "r1/rl/trainer.h"

#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <array>
#include <cmath>

#include "r1/core/error.h"
#include "r1/core/signals.h"
#include "r1/core/stopwatch.h"
#include "r1/core/strings.h"
#include "r1/data/prompt_template.h"
#include "r1/eval/evaluate.h"
#include "r1/model/lora.h"
#include "r1/train/checkpoint.h"

namespace r1 {

namespace {

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

}  // namespace

Trainer::Trainer(Config config, ResumeOptions resume, Communicator* comm)
    : config_(std::move(config)),
      comm_(comm ? *comm : solo_),
      run_(config_, ConfigUse::Train, resume, /*writer=*/comm_.is_main()),
      device_(resolve_device(config_.model.device)),
      dataset_(Dataset::load_jsonl(config_.data.train, config_.data)),
      sampler_(dataset_.size(), static_cast<uint64_t>(config_.train.seed), config_.data.shuffle),
      rewards_(config_.rewards),
      tools_(config_.tools.empty() ? nullptr : std::make_shared<ToolBox>(config_.tools, config_.sandbox)),
      policy_(load_model(run_.model_source(), resolve_dtype(config_.model.dtype, device_), device_)),
      tokenizer_(Tokenizer::load(run_.model_source())),
      prompts_(std::make_shared<const PromptRenderer>(config_.data, config_.model.path)),
      reference_(config_, run_.checkpoint(), policy_.model, device_) {
  started_ = std::chrono::steady_clock::now();
  const int64_t context = policy_.config.max_position_embeddings;
  check_dataset_fits_context(dataset_, *prompts_, *tokenizer_, config_.rollout.max_new_tokens, context,
                             "rollout.max_new_tokens");
  if (config_.eval.every > 0) {
    eval_data_ = Dataset::load_jsonl(config_.eval.data, config_.data);  // read once, for every eval
    check_dataset_fits_context(*eval_data_, *prompts_, *tokenizer_, config_.rollout.max_new_tokens,
                               context, "rollout.max_new_tokens");
  }
  policy_.model->set_gradient_checkpointing(config_.train.gradient_checkpointing);
  trainable_ = config_.lora.r > 0 ? attach_lora() : policy_.model->parameters();
  const int64_t total_updates = static_cast<int64_t>(config_.train.steps) * config_.grpo.num_iterations;
  optimizer_ = std::make_unique<Optimizer>(trainable_, config_.optim, total_updates, &comm_,
                                           config_.dist.shard_optimizer);
  log_memory_estimate();

  const auto& checkpoint = run_.checkpoint();
  if (checkpoint) {
    state_ = TrainerState::from_json(run_.resume_state(), *checkpoint / "trainer_state.json");
    sampler_.restore(state_.data_cursor);
    optimizer_->load(*checkpoint);
    start_step_ = state_.step;
  }
  if (tools_) {
    tool_answer_ = tool_answer_renderer(prompts_);  // a template without a tool role is refused here
    if (tool_answer_) spdlog::info("tools: answers go back as the chat template's tool turn");
    std::vector<std::string> names;
    for (const auto& t : tools_->tools()) names.push_back(t.name);
    spdlog::info("tools: {} (at most {} calls per completion)", fmt::join(names, ", "), config_.rollout.max_turns);
    for (const auto& g : tools_->guarantees()) spdlog::info("sandbox: {}", g);
  }
  std::vector<std::string> logs = {"metrics.jsonl", "samples.jsonl"};
  if (config_.eval.every > 0) logs.push_back("eval.jsonl");
  if (comm_.is_main()) run_.open(checkpoint ? start_step_ : -1, logs);
  if (comm_.distributed())
    spdlog::info("rank {} of {}: {} of the {} prompts of each step", comm_.rank(), comm_.size(),
                 rank_share(static_cast<std::size_t>(config_.train.prompts_per_step), comm_.rank(), comm_.size()).second -
                     rank_share(static_cast<std::size_t>(config_.train.prompts_per_step), comm_.rank(), comm_.size()).first,
                 config_.train.prompts_per_step);
  spdlog::info("model {} ({}, {} on {}), {} prompts in {}, rewards: {}", config_.model.path, policy_.config.architecture,
               dtype_name(policy_.model->options().dtype().toScalarType()), device_.str(), dataset_.size(),
               config_.data.train, fmt::join(rewards_.names(), ", "));
  if (checkpoint) spdlog::info("resumed from {} at step {}", checkpoint->string(), start_step_);
}

Trainer::~Trainer() = default;

void Trainer::run() {
  install_stop_handlers();
  const StopRequestScope stop_scope;  // a later run in this process starts with no request pending
  if (stop_requested())
    throw Interrupted(fmt::format("stopped before step {} began; nothing new to save", start_step_ + 1));
  const int64_t steps = config_.train.steps;
  // The starting model's score, so that the eval curve starts where training does.
  if (config_.eval.every > 0 && start_step_ == 0) evaluate(0);
  try {
    for (int64_t step = start_step_ + 1; step <= steps; ++step) {
      const auto step_start = std::chrono::steady_clock::now();

      RolloutBatch batch = rollout(step);  // sample G completions per prompt and score them
      assign_advantages(batch);

      const auto update_start = std::chrono::steady_clock::now();
      UpdateStats stats = update(batch);
      reference_.after_step(step);  // grpo.ref_sync_every: the KL reference moves toward the policy
      stats.peak_memory_gib = peak_memory_gib();

      StepTimings timings{batch.stats.generate_s, batch.stats.reward_s, seconds_since(update_start),
                          seconds_since(step_start)};
      int64_t step_tokens = 0;  // prompt + completion tokens of this step
      for (const auto& g : batch.groups)
        for (const auto& s : g.samples)
          step_tokens += static_cast<int64_t>(g.prompt_ids.size() + s.completion.token_ids.size());
      state_.step = step;
      state_.num_tokens += step_tokens;
      state_.data_cursor = sampler_.cursor();
      if (comm_.is_main()) {  // the other ranks hold the same batch and statistics
        auto metrics = step_metrics(step, batch, stats, timings, step_tokens);
        run_.log("metrics.jsonl").write(metrics);
        log_console(step, metrics);
        if (config_.train.log_samples_every > 0 && step % config_.train.log_samples_every == 0)
          log_samples(step, batch);
      }

      nonfinite_.record(stats.skipped_updates == config_.grpo.num_iterations);
      if (config_.eval.every > 0 && step % config_.eval.every == 0) evaluate(step);

      const bool due = config_.train.checkpoint_every > 0 && step % config_.train.checkpoint_every == 0;
      const bool stopping = any_rank_stopping();
      if (due || step == steps || stopping) {
        save(step);
        comm_.barrier();  // the checkpoint is complete before any rank goes on or exits
      }
      if (stopping && step < steps) {
        throw Interrupted(fmt::format("stopped at step {} after saving {}; continue with --resume auto", step,
                                      (run_.path() / "checkpoints" / checkpoint_name(step)).string()));
      }
    }
  } catch (const WriteError& e) {
    throw run_.with_last_checkpoint(e);
  }
  spdlog::info("done: {} steps in {}; the final model is in {}", steps, human_duration(seconds_since(started_)),
               (run_.path() / "checkpoints" / checkpoint_name(steps)).string());
}

RolloutBatch Trainer::rollout(int64_t step) {
  const auto want = static_cast<std::size_t>(config_.train.prompts_per_step);
  RolloutBatch batch = sample_groups(step, 0, want);
  if (!config_.grpo.dynamic_sampling) return batch;
  // DAPO dynamic sampling: groups whose rewards are all equal carry no signal;
  // drop them and sample fresh prompts, up to max_refill_rounds extra rounds.
  auto keep_informative = [](RolloutBatch& b) {
    const auto before = b.groups.size();
    std::erase_if(b.groups, [](const PromptGroup& g) {
      return std::all_of(g.samples.begin(), g.samples.end(),
                         [&](const Sample& s) { return s.reward == g.samples.front().reward; });
    });
    b.stats.dropped_groups += static_cast<int64_t>(before - b.groups.size());
  };
  keep_informative(batch);
  for (int round = 1; round <= config_.grpo.max_refill_rounds && batch.groups.size() < want; ++round) {
    RolloutBatch more = sample_groups(step, round, want - batch.groups.size());
    keep_informative(more);
    batch.append(std::move(more));
  }
  return batch;
}

RolloutBatch Trainer::sample_groups(int64_t step, int round, std::size_t num_prompts) {
  RolloutBatch batch;
  std::vector<std::vector<int>> prompt_ids;
  // Every rank draws the same prompts and takes its contiguous share of them.
  const auto indices = sampler_.next(num_prompts);
  const auto [first, last] = rank_share(indices.size(), comm_.rank(), comm_.size());
  for (std::size_t k = first; k < last; ++k) {
    const std::size_t idx = indices[k];
    PromptGroup g;
    g.example_index = idx;
    g.prompt_text = prompts_->render(dataset_[idx]);
    g.prompt_ids = encode_prompt(*tokenizer_, g.prompt_text);
    prompt_ids.push_back(g.prompt_ids);
    batch.groups.push_back(std::move(g));
  }
  GenerateOptions options = rollout_generate_options(config_.rollout);
  options.seed = step_seed(static_cast<uint64_t>(config_.train.seed), step, round);
  std::vector<std::string> prompt_texts;
  if (tools_) {
    for (const auto& g : batch.groups) prompt_texts.push_back(g.prompt_text);
    options.tools = tools_.get();
    options.prompt_texts = &prompt_texts;
    options.render_answer = tool_answer_;
  }
  options.first_prompt_index = static_cast<int64_t>(first);  // sampling streams follow the global position
  GenerateStats generate_stats;
  options.stats = &generate_stats;
  const auto generate_start = std::chrono::steady_clock::now();
  {
    torch::NoGradGuard no_grad;
    policy_.model->eval();
    for (auto& c : generate(policy_.model, *tokenizer_, prompt_ids, options))
      batch.groups[static_cast<std::size_t>(c.prompt_index)].samples.push_back({std::move(c), {}, 0, 0});
    policy_.model->train();
  }
  batch.stats.generate_s = seconds_since(generate_start);
  batch.stats.decode_row_steps = generate_stats.row_steps;
  batch.stats.decode_tokens = generate_stats.tokens;

  const auto reward_start = std::chrono::steady_clock::now();
  std::vector<RewardInput> inputs;
  inputs.reserve(batch.num_completions());
  for (const auto& g : batch.groups) {
    const auto& ex = dataset_[g.example_index];
    for (const auto& s : g.samples)
      inputs.push_back({g.prompt_text, s.completion.text, ex.answer, ex.metadata,
                        s.completion.model_tokens(), config_.rollout.max_new_tokens});  // length rewards: the model's tokens
  }
  RewardScores scores = rewards_.score(inputs);
  const auto names = rewards_.names();
  std::size_t i = 0;
  for (auto& g : batch.groups) {
    for (auto& s : g.samples) {
      for (const auto& name : names) s.scores.push_back(scores.per_reward.at(name)[i]);
      s.reward = scores.total[i++];
    }
  }
  batch.stats.reward_failures = scores.failures;
  batch.stats.reward_s = seconds_since(reward_start);
  return exchange(std::move(batch));
}

RolloutBatch Trainer::exchange(RolloutBatch&& mine) {
  if (!comm_.distributed()) return std::move(mine);
  const auto bytes = nlohmann::json::to_cbor(rollout_to_json(mine));
  RolloutBatch all;
  for (const auto& part : comm_.all_gather(std::string(bytes.begin(), bytes.end()))) {
    RolloutBatch b = rollout_from_json(nlohmann::json::from_cbor(part));
    for (auto& g : b.groups) all.groups.push_back(std::move(g));
    all.stats.add_rank(b.stats);
  }
  return all;
}

RolloutBatch Trainer::own_share(const RolloutBatch& batch) const {
  if (!comm_.distributed()) return batch;
  RolloutBatch mine;
  const auto [first, last] = rank_share(batch.groups.size(), comm_.rank(), comm_.size());
  mine.groups.assign(batch.groups.begin() + static_cast<std::ptrdiff_t>(first),
                     batch.groups.begin() + static_cast<std::ptrdiff_t>(last));
  return mine;
}

double Trainer::peak_memory_gib() {
  auto peak = torch::full({1}, static_cast<double>(peak_memory_bytes(device_)) / static_cast<double>(int64_t{1} << 30),
                          torch::TensorOptions().dtype(torch::kFloat64).device(device_));
  comm_.all_reduce_max(peak);
  return peak.item<double>();
}

bool Trainer::any_rank_stopping() {
  if (!comm_.distributed()) return stop_requested();
  auto flag = torch::full({1}, stop_requested() ? 1.0 : 0.0, torch::TensorOptions().dtype(torch::kFloat64).device(device_));
  comm_.all_reduce_max(flag);
  return flag.item<double>() > 0;
}

void Trainer::assign_advantages(RolloutBatch& batch) const {
  if (batch.num_completions() == 0) return;
  if (config_.grpo.reward_aggregation == RewardAggregation::NormalizeThenSum) {
    const auto weights = rewards_.weights();
    std::vector<double> scores;  // [B*G, K] prompt-major
    for (const auto& g : batch.groups)
      for (const auto& s : g.samples) scores.insert(scores.end(), s.scores.begin(), s.scores.end());
    auto table = torch::tensor(scores, torch::kFloat64).view({-1, static_cast<int64_t>(weights.size())});
    batch.set_advantages(normalize_then_sum_advantages(table, weights, config_.rollout.group_size));
    return;
  }
  batch.set_advantages(
      compute_advantages(batch.rewards(), config_.rollout.group_size, config_.grpo.scale_rewards,
                             config_.grpo.advantage));
}

std::vector<TrainingBatch> Trainer::micro_batches(const RolloutBatch& batch) const {
  auto rows = sample_refs(batch);
  // Rows of similar length share a micro-batch, so little of it is padding. Not where the loss is
  // normalised per micro-batch (bnpo): there the grouping is part of the objective.
  if (!loss_kind(config_.grpo.loss_type).split_is_part_of_the_loss) {
    std::stable_sort(rows.begin(), rows.end(), [](const SampleRef& a, const SampleRef& b) {
      return a.group->prompt_ids.size() + a.sample->completion.token_ids.size() <
             b.group->prompt_ids.size() + b.sample->completion.token_ids.size();
    });
  }
  std::vector<TrainingBatch> micro;
  for (const auto& [start, end] : micro_batch_ranges(rows.size(), static_cast<std::size_t>(config_.train.micro_batch_size))) {
    std::vector<SampleRef> part(rows.begin() + static_cast<std::ptrdiff_t>(start),
                                rows.begin() + static_cast<std::ptrdiff_t>(end));
    micro.push_back(
        make_training_batch(part, tokenizer_->padding_id(), config_.grpo.mask_truncated_completions, device_,
                            config_.grpo.mask_void_turns));
  }
  return micro;
}

Trainer::FrozenLogProbs Trainer::frozen_logprobs(const std::vector<TrainingBatch>& micro) {
  const double temperature = config_.rollout.temperature > 0 ? config_.rollout.temperature : 1.0;
  FrozenLogProbs frozen{std::vector<torch::Tensor>(micro.size()), std::vector<torch::Tensor>(micro.size())};
  torch::NoGradGuard no_grad;
  for (std::size_t i = 0; i < micro.size(); ++i) {
    frozen.reference[i] = reference_.logprobs(micro[i], temperature);
    if (config_.grpo.num_iterations > 1)
      frozen.old_policy[i] = completion_logprobs(policy_.model, micro[i], temperature, false).logp;
  }
  return frozen;
}

// One iteration's loss and diagnostics, summed over micro-batches and ranks. On the device they are
// one stacked tensor, read once; fields() is the one list of them, for stacking and reading back.
template <class T>
struct LossSums {
  T loss{}, policy{}, kl{}, entropy{}, clip_low{}, clip_high{}, clip_dual{}, policy_tokens{}, tokens{}, corrected{},
      mismatch_kl{}, mismatch_ratio{};
  auto fields() {
    return std::array{&loss,      &policy,        &kl,     &entropy,   &clip_low,    &clip_high,
                      &clip_dual, &policy_tokens, &tokens, &corrected, &mismatch_kl, &mismatch_ratio};
  }
};

struct Trainer::IterationSums : LossSums<double> {
  double mismatch_max_abs = 0;  // a max over micro-batches and ranks, not a sum
};

Trainer::IterationSums Trainer::policy_iteration(const std::vector<TrainingBatch>& micro, const FrozenLogProbs& frozen,
                                                 const LossNormalizer& norm) {
  const double temperature = config_.rollout.temperature > 0 ? config_.rollout.temperature : 1.0;
  const auto options = torch::TensorOptions().dtype(torch::kFloat64).device(device_);
  IterationSums result;
  auto sums = torch::zeros({static_cast<int64_t>(result.fields().size())}, options);  // one entry per field
  auto max_abs = torch::zeros({1}, options);                                          // [1]
  for (std::size_t i = 0; i < micro.size(); ++i) {
    auto lp = completion_logprobs(policy_.model, micro[i], temperature);  // [N, T]
    const auto old = frozen.old_policy[i].defined() ? frozen.old_policy[i] : lp.logp.detach();  // pi_train of the rollout
    PolicyLossInput in{lp.logp,  old, frozen.reference[i], micro[i].advantages, micro[i].completion_mask, lp.entropy,
                       micro[i].sampler_logp};
    auto out = policy_loss(in, config_.grpo, norm);
    out.loss.backward();
    optimizer_->accumulate_gradients();  // bf16/fp16 models: the micro-batches summed in float32
    const auto mismatch = rollout_mismatch(old, micro[i].sampler_logp, micro[i].completion_mask);
    LossSums<torch::Tensor> part{out.loss.detach(), out.policy_loss, out.kl,
                                 (lp.entropy.detach() * micro[i].completion_mask).sum(),  // a diagnostic: no graph kept
                                 out.clipped_low, out.clipped_high, out.clipped_dual, out.policy_tokens, out.tokens,
                                 out.corrected, mismatch.kl, mismatch.ratio};
    std::vector<torch::Tensor> values;
    for (auto* f : part.fields()) values.push_back(f->to(torch::kFloat64));
    sums += torch::stack(values);
    max_abs = torch::maximum(max_abs, mismatch.max_abs.to(torch::kFloat64).reshape({1}));
  }
  comm_.all_reduce_sum(sums);  // every rank's share of the step's objective and diagnostics
  comm_.all_reduce_max(max_abs);
  auto host = sums.cpu();
  const double* v = host.data_ptr<double>();
  for (auto* f : result.fields()) *f = *v++;
  result.mismatch_max_abs = max_abs.item<double>();
  return result;
}

UpdateStats Trainer::update(const RolloutBatch& batch) {
  UpdateStats stats;
  const auto n = static_cast<int64_t>(batch.num_completions());
  if (n == 0) return stats;
  // This rank trains its share of the groups; the loss is normalised by the whole batch's counts.
  const auto micro = micro_batches(own_share(batch));
  int64_t all_micro = 0;  // micro-batches over all ranks (bnpo averages over them)
  for (int r = 0; r < comm_.size(); ++r) {
    const auto [first, last] = rank_share(batch.groups.size(), r, comm_.size());
    std::size_t rows = 0;
    for (auto g = first; g < last; ++g) rows += batch.groups[g].samples.size();
    all_micro += static_cast<int64_t>(
        micro_batch_ranges(rows, static_cast<std::size_t>(config_.train.micro_batch_size)).size());
  }
  LossNormalizer norm{config_.grpo.loss_type, n, 0, all_micro, config_.rollout.max_new_tokens};
  for (const auto& g : batch.groups)  // counted on the host: no device sync per micro-batch
    for (const auto& s : g.samples)
      if (counts_in_loss(s.completion, config_.grpo.mask_truncated_completions, config_.grpo.mask_void_turns))
        norm.total_tokens += s.completion.model_tokens();  // tool tokens are not the model's: not in the loss
  stats.tokens = norm.total_tokens;

  const auto logprob_start = std::chrono::steady_clock::now();
  const FrozenLogProbs frozen = frozen_logprobs(micro);
  stats.logprob_s = seconds_since(logprob_start);

  for (int it = 0; it < config_.grpo.num_iterations; ++it) {
    // LoRA dropout draws from torch's global generator: seeded per update, so a resumed run
    // draws what the uninterrupted one does.
    if (config_.lora.dropout > 0) torch::manual_seed(step_seed(static_cast<uint64_t>(config_.train.seed), state_.updates, 7));
    optimizer_->zero_grad();
    const IterationSums sums = policy_iteration(micro, frozen, norm);
    if (comm_.distributed())  // each rank's gradient is its share of the sum
      comm_.all_reduce_gradients(optimizer_->gradients());
    const bool finite = std::isfinite(sums.loss);
    OptimizerStep step;
    if (finite) step = optimizer_->step(state_.updates);
    if (!finite || !step.applied) {
      optimizer_->zero_grad();
      ++stats.skipped_updates;
      ++state_.nonfinite_skips;
      spdlog::warn("update skipped: non-finite {}", finite ? "gradient" : "loss");
    }
    ++state_.updates;
    const double denom = std::max(sums.tokens, 1.0);
    stats.loss = sums.loss;
    stats.policy_loss = sums.policy / denom;
    stats.kl = sums.kl / denom;
    stats.entropy = sums.entropy / denom;
    stats.clip_low = sums.clip_low / denom;
    stats.clip_high = sums.clip_high / denom;
    stats.clip_dual = sums.clip_dual / denom;
    stats.entropy_kept = sums.policy_tokens / denom;
    stats.corrected = sums.corrected / denom;
    stats.mismatch_kl = sums.mismatch_kl / denom;
    stats.mismatch_ratio = sums.tokens > 0 ? sums.mismatch_ratio / sums.tokens : 1.0;
    stats.mismatch_max_abs = sums.mismatch_max_abs;
    stats.grad_norm = step.grad_norm;
    stats.lr = step.lr;
  }
  return stats;
}

std::vector<torch::Tensor> Trainer::attach_lora() {
  // The base is frozen in its dtype (no gradients, no optimizer state, never written to).
  for (auto& p : policy_.model->parameters()) p.requires_grad_(false);
  const auto& checkpoint = run_.checkpoint();
  const std::string adapter = checkpoint ? checkpoint->string() : config_.lora.adapter_path;
  if (adapter.empty()) {
    add_lora(policy_.model, config_.lora, static_cast<uint64_t>(config_.train.seed));
  } else {
    const LoraConfig read = load_adapter(policy_.model, adapter);
    if (read.r != config_.lora.r || read.alpha != config_.lora.alpha || read.use_rslora != config_.lora.use_rslora)
      throw InputError(fmt::format("{}/adapter_config.json: r {}, lora_alpha {}, use_rslora {}; the config says "
                                   "lora.r {}, lora.alpha {}, lora.use_rslora {}: set them to the adapter's",
                                   adapter, read.r, read.alpha, read.use_rslora, config_.lora.r, config_.lora.alpha,
                                   config_.lora.use_rslora));
    if (!checkpoint) spdlog::info("starting from the adapter in {}", adapter);
  }
  auto params = lora_parameters(policy_.model);
  int64_t trained = 0, total = 0;
  for (const auto& p : params) trained += p.numel();
  for (const auto& p : policy_.model->parameters()) total += p.numel();
  spdlog::info("LoRA r {} alpha {} on {}: {} trained parameters ({:.2f}% of the base's {})", config_.lora.r,
               config_.lora.alpha, fmt::join(config_.lora.target_modules, ", "), trained,
               100.0 * static_cast<double>(trained) / static_cast<double>(std::max<int64_t>(total, 1)), total);
  return params;
}

void Trainer::evaluate(int64_t step) {
  EvalOptions options = eval_options(config_, prompts_, tools_);  // the template and tools loaded once, at start-up
  // Each rank evaluates its share of the problems; rank 0 summarises all of them.
  std::size_t problems = eval_data_->size();
  if (options.max_problems > 0) problems = std::min(problems, static_cast<std::size_t>(options.max_problems));
  std::tie(options.first, options.last) = rank_share(problems, comm_.rank(), comm_.size());
  EvalReport report;
  {
    torch::NoGradGuard no_grad;
    policy_.model->eval();
    report = r1::evaluate(policy_.model, *tokenizer_, *eval_data_, options);
    policy_.model->train();
  }
  if (comm_.distributed()) {
    auto mine = nlohmann::json::array();
    for (const auto& p : report.problems) mine.push_back(to_json(p));
    const auto bytes = nlohmann::json::to_cbor(mine);
    report.problems.clear();
    for (const auto& part : comm_.all_gather(std::string(bytes.begin(), bytes.end())))
      for (const auto& p : nlohmann::json::from_cbor(part)) report.problems.push_back(problem_from_json(p));
    report.summary = summarize(report.problems, options.generate);
  }
  if (!comm_.is_main()) return;
  auto j = report.summary.to_json();
  j["step"] = step;
  run_.log("eval.jsonl").write(j);
  spdlog::info("eval step {}: pass@1 {:.3f} format {:.3f} mean length {:.0f} ({} problems)", step,
               report.summary.pass_at_1, report.summary.format_rate, report.summary.mean_length,
               report.summary.problems);
}

void Trainer::save(int64_t step) {
  if (!comm_.is_main()) {  // rank 0 writes the checkpoint; a sharded optimizer sends it this rank's part
    optimizer_->save_shard();
    return;
  }
  state_.step = step;
  state_.data_cursor = sampler_.cursor();
  state_.seed = config_.train.seed;
  auto dir = run_.save(step, policy_.model, policy_.config, *optimizer_, state_.to_json(),
                       reference_.weights_to_save(step));
  spdlog::info("saved checkpoint {}", dir.string());
}

}  // namespace r1
