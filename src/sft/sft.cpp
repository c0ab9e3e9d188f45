#include "r1/sft/sft.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <cmath>
#include <fstream>

#include "r1/core/error.h"
#include "r1/core/jsonl.h"
#include "r1/core/log.h"
#include "r1/core/signals.h"
#include "r1/data/dataset.h"
#include "r1/model/init.h"
#include "r1/model/logprobs.h"
#include "r1/train/checkpoint.h"
#include "r1/train/nonfinite.h"
#include "r1/train/optimizer.h"
#include "r1/train/run_directory.h"

namespace r1 {

namespace fs = std::filesystem;
using torch::indexing::Slice;

namespace {

const std::string& string_field(const nlohmann::json& row, const std::string& field, const std::string& where) {
  if (!row.contains(field)) {
    std::string fields;
    for (const auto& [key, value] : row.items()) fields += (fields.empty() ? "" : ", ") + key;
    throw InputError(fmt::format("{}: no field '{}' (the line has: {}); set sft.text_field, or sft.prompt_field "
                                 "and sft.completion_field",
                                 where, field, fields.empty() ? "nothing" : fields));
  }
  if (!row[field].is_string()) throw InputError(fmt::format("{}: field '{}' is not a string", where, field));
  return row[field].get_ref<const std::string&>();
}

OptimConfig sft_optim(const Config& config) {
  OptimConfig o = config.optim;
  o.lr = config.sft.lr;
  o.weight_decay = config.sft.weight_decay;
  o.warmup_steps = config.sft.warmup_steps;
  o.schedule = config.sft.schedule;
  return o;
}

// Where a resumed SFT run stands, from its checkpoint's trainer_state.json.
struct SftState {
  int64_t step = 0;
  int64_t num_tokens = 0;
  DataCursor cursor;
};

SftState read_sft_state(const nlohmann::json& state, const fs::path& file) {
  for (const char* key : {"step", "num_tokens"}) {
    if (!state.contains(key) || !state[key].is_number_integer() || state[key].get<int64_t>() < 0)
      throw InputError(fmt::format("{}: '{}' is missing or not a non-negative integer", file.string(), key));
  }
  if (!state.contains("data_cursor")) throw InputError(file.string() + ": 'data_cursor' is missing");
  try {
    return {state["step"].get<int64_t>(), state["num_tokens"].get<int64_t>(), DataCursor::from_json(state["data_cursor"])};
  } catch (const InputError& e) {
    throw InputError(file.string() + ": " + e.what());
  }
}

struct SftModel {
  CausalLM model{nullptr};
  TransformerConfig config;
};

// The model to train: a resumed run's checkpoint, else model.path's weights, or fresh weights drawn
// from sft.seed with sft.init: random.
SftModel load_or_init(const Config& config, const std::optional<fs::path>& checkpoint, torch::Dtype dtype,
                      torch::Device device) {
  const fs::path dir = config.model.path;
  if (!checkpoint && config.sft.init == SftInit::Random) {
    auto arch = TransformerConfig::from_json_file(dir / "config.json");
    return {init_model(arch, static_cast<uint64_t>(config.sft.seed), dtype, device), arch};
  }
  auto loaded = load_model(checkpoint.value_or(dir), dtype, device);
  return {loaded.model, loaded.config};
}

}  // namespace

std::vector<SftExample> load_sft_corpus(const fs::path& path, const SftConfig& cfg, const Tokenizer& tokenizer) {
  const auto eos = tokenizer.eos_ids();
  if (cfg.add_eos && eos.empty())
    throw InputError(path.string() + ": the tokenizer has no eos token to append; set sft.add_eos: false");
  std::vector<SftExample> out;
  read_jsonl(path, {.role = "the SFT corpus (sft.data)"}, [&](JsonlRow& line) {
    const auto& row = line.value;
    const std::string& where = line.where;
    SftExample ex;
    const bool has_text = row.contains(cfg.text_field);
    if (cfg.completion_only_loss || !has_text) {
      const std::string& prompt = string_field(row, cfg.prompt_field, where);
      const std::string& completion = string_field(row, cfg.completion_field, where);
      ex.ids = tokenizer.encode(prompt, /*add_special_tokens=*/true);
      if (cfg.completion_only_loss) ex.loss_start = std::max<std::size_t>(1, ex.ids.size());
      auto tail = tokenizer.encode(completion);
      ex.ids.insert(ex.ids.end(), tail.begin(), tail.end());
    } else {
      ex.ids = tokenizer.encode(string_field(row, cfg.text_field, where), /*add_special_tokens=*/true);
    }
    if (cfg.add_eos) ex.ids.push_back(eos.front());
    if (ex.ids.size() > static_cast<std::size_t>(cfg.max_length)) ex.ids.resize(static_cast<std::size_t>(cfg.max_length));
    if (ex.ids.size() < 2 || ex.loss_start >= ex.ids.size()) return;  // nothing to learn from
    out.push_back(std::move(ex));
  });
  if (out.empty())
    throw InputError(path.string() + ": no usable examples (each needs at least one trained token after the first)");
  return out;
}

SftBatch make_sft_batch(const std::vector<const SftExample*>& examples, int pad_id, torch::Device device) {
  const auto n = static_cast<int64_t>(examples.size());
  int64_t t = 0;
  for (const auto* ex : examples) t = std::max<int64_t>(t, static_cast<int64_t>(ex->ids.size()));
  auto ids = torch::full({n, t}, pad_id, torch::kLong);        // [N, T]
  auto mask = torch::zeros({n, t}, torch::kLong);              // [N, T]
  auto loss_mask = torch::zeros({n, t - 1}, torch::kFloat32);  // [N, T-1]
  auto ids_a = ids.accessor<int64_t, 2>();
  auto mask_a = mask.accessor<int64_t, 2>();
  auto loss_a = loss_mask.accessor<float, 2>();
  for (int64_t i = 0; i < n; ++i) {
    const auto& ex = *examples[static_cast<std::size_t>(i)];
    for (std::size_t j = 0; j < ex.ids.size(); ++j) {
      ids_a[i][static_cast<int64_t>(j)] = ex.ids[j];
      mask_a[i][static_cast<int64_t>(j)] = 1;
      // Target j-1 is token j, predicted from tokens 0..j-1.
      if (j >= ex.loss_start) loss_a[i][static_cast<int64_t>(j) - 1] = 1.0f;
    }
  }
  SftBatch b;
  b.input_ids = ids.to(device);
  b.attention_mask = mask.to(device);
  b.targets = b.input_ids.index({Slice(), Slice(1, torch::indexing::None)});  // [N, T-1]
  b.loss_mask = loss_mask.to(device);
  return b;
}

torch::Tensor sft_target_logprobs(CausalLM& model, const SftBatch& batch) {
  // Examples start at position 0 and are right-padded: causal attention needs no mask.
  auto hidden = model->hidden_states(batch.input_ids, torch::Tensor());  // [N, T, D]
  auto context = hidden.index({Slice(), Slice(torch::indexing::None, -1)});   // [N, T-1, D]
  return chunked_token_logprobs(context, model->lm_head_weight(), batch.targets, 1.0, /*with_entropy=*/false).logp;  // [N, T-1]
}

SftResult run_sft(const Config& config, const ResumeOptions& resume) {
  const SftConfig& cfg = config.sft;
  RunDirectory run(config, ConfigUse::Sft, resume);
  NonFiniteStreak nonfinite(run.path(), "sft.lr");
  const torch::Device device = resolve_device(config.model.device);
  const torch::Dtype dtype = resolve_dtype(config.model.dtype, device);
  const auto& checkpoint = run.checkpoint();
  SftState start;
  if (checkpoint) start = read_sft_state(run.resume_state(), *checkpoint / "trainer_state.json");
  auto tokenizer = Tokenizer::load(run.model_source());
  auto [model, arch] = load_or_init(config, checkpoint, dtype, device);
  if (tokenizer->vocab_size() > arch.vocab_size)
    throw InputError(fmt::format("{}: the tokenizer has {} tokens but config.json's vocab_size is {}",
                                 run.model_source().string(), tokenizer->vocab_size(), arch.vocab_size));
  const auto corpus = load_sft_corpus(cfg.data, cfg, *tokenizer);
  const int pad_id = tokenizer->padding_id();
  run.open(checkpoint ? start.step : -1, {"metrics.jsonl"});

  const int64_t total_examples = static_cast<int64_t>(corpus.size()) * cfg.epochs;
  const int64_t total_steps = (total_examples + cfg.batch_size - 1) / cfg.batch_size;
  model->train();
  std::vector<torch::Tensor> params;
  for (auto& p : model->parameters()) params.push_back(p);
  int64_t num_params = 0;
  for (const auto& p : params) num_params += p.numel();
  Optimizer optimizer(params, sft_optim(config), total_steps);
  DataSampler sampler(corpus.size(), static_cast<uint64_t>(cfg.seed), /*shuffle=*/true);
  if (checkpoint) {
    optimizer.load(*checkpoint);
    sampler.restore(start.cursor);
    spdlog::info("sft: resumed from {} at step {}", checkpoint->string(), start.step);
  }
  spdlog::info("sft: {} examples x {} epochs = {} steps of {} on {} ({} parameters, {}{})", corpus.size(), cfg.epochs,
               total_steps, cfg.batch_size, device.str(), num_params, dtype_name(dtype),
               cfg.init == SftInit::Random ? ", random init" : "");

  int64_t num_tokens = start.num_tokens;  // tokens seen, padding excluded, over the whole run
  auto save = [&](int64_t step) {
    return run.save(step, model, arch, optimizer,
                    {{"step", step},
                     {"total_steps", total_steps},
                     {"num_tokens", num_tokens},
                     {"data_cursor", sampler.cursor().to_json()}});
  };

  install_stop_handlers();
  const StopRequestScope stop_scope;  // a later run in this process starts with no request pending
  if (stop_requested()) throw Interrupted("sft: stopped before the first step; nothing new to save");
  const auto started = std::chrono::steady_clock::now();
  SftResult result;
  fs::path last_saved = checkpoint.value_or(fs::path());
  result.steps = start.step;
  for (int64_t step = start.step + 1; step <= total_steps; ++step) {
    const auto step_start = std::chrono::steady_clock::now();
    const int64_t remaining = total_examples - (step - 1) * cfg.batch_size;
    auto indices = sampler.next(static_cast<std::size_t>(std::min<int64_t>(cfg.batch_size, remaining)));
    double step_tokens = 0;
    for (auto i : indices) step_tokens += static_cast<double>(corpus[i].ids.size() - corpus[i].loss_start);
    optimizer.zero_grad();
    double loss_sum = 0;
    for (std::size_t start = 0; start < indices.size(); start += static_cast<std::size_t>(cfg.micro_batch_size)) {
      std::vector<const SftExample*> rows;
      for (std::size_t k = start; k < std::min(indices.size(), start + cfg.micro_batch_size); ++k)
        rows.push_back(&corpus[indices[k]]);
      auto batch = make_sft_batch(rows, pad_id, device);
      auto logp = sft_target_logprobs(model, batch);                        // [N, T-1]
      auto loss = -(logp.to(torch::kFloat32) * batch.loss_mask).sum() / step_tokens;  // this micro-batch's share
      loss.backward();
      optimizer.accumulate_gradients();  // bf16/fp16 models: the micro-batches summed in float32
      loss_sum += loss.item<double>();
      num_tokens += batch.attention_mask.sum().item<int64_t>();
    }
    const bool finite = std::isfinite(loss_sum);
    OptimizerStep opt;
    if (finite) opt = optimizer.step(step - 1);
    if (!finite || !opt.applied) {
      optimizer.zero_grad();
      spdlog::warn("sft: step {}: non-finite {}, update skipped", step, finite ? "gradient" : "loss");
    }
    const double step_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - step_start).count();
    run.log("metrics.jsonl").write({{"step", step},
                   {"epoch", sampler.cursor().epoch},
                   {"loss", loss_sum},
                   {"lr", opt.lr},
                   {"grad_norm", opt.grad_norm},
                   {"tokens", static_cast<int64_t>(step_tokens)},
                   {"num_tokens", num_tokens},
                   {"timing/step_s", step_s},
                   {"throughput/tokens_per_s", step_tokens / std::max(step_s, 1e-9)}});
    nonfinite.record(!finite || !opt.applied);
    if (step % cfg.log_every == 0 || step == 1 || step == total_steps) {
      double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
      spdlog::info("sft step {}/{}  loss {:.4f}  lr {:.2e}  grad_norm {:.3f}  {:.0f} tok/s  {:.0f}s", step,
                   total_steps, loss_sum, opt.lr, opt.grad_norm, step_tokens / std::max(step_s, 1e-9), elapsed);
    }
    result.steps = step;
    result.final_loss = loss_sum;
    const bool stopping = stop_requested();
    if (step == total_steps || stopping || (cfg.save_every > 0 && step % cfg.save_every == 0)) last_saved = save(step);
    if (stopping) throw Interrupted(fmt::format("sft: stopped by a signal; saved {}", last_saved.string()));
  }
  result.checkpoint = last_saved;
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  spdlog::info("sft: done in {:.0f}s; model saved to {}", result.seconds, result.checkpoint.string());
  return result;
}

}  // namespace r1
