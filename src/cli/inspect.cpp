
#include <chrono>
#include <iostream>
#include <memory>

#include "r1/cli/commands.h"
#include "r1/core/error.h"
#include "r1/core/hub.h"
#include "r1/core/strings.h"
#include "r1/model/decoder.h"
#include "r1/model/lora.h"
#include "r1/model/safetensors.h"
#include "r1/rl/grpo.h"
#include "r1/rl/batch.h"
#include "r1/train/optimizer.h"
#include "r1/tokenizer/tokenizer.h"

namespace r1::cli {

namespace {

namespace fs = std::filesystem;

struct InspectArgs {
  std::string model;
  std::string adapter;  // a LoRA adapter directory (PEFT layout), checked against the model
  bool benchmark = false;
  int benchmark_update_rows = 0;  // hidden: time GRPO updates of this many rows
  std::string device = "cpu";     // hidden, for benchmark_update
  Dtype dtype = Dtype::BFloat16;
  int tokens = 128;
};

std::string with_commas(uint64_t n) {
  std::string s = std::to_string(n);
  for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3) s.insert(static_cast<size_t>(i), ",");
  return s;
}

double peak_rss_mib() { return static_cast<double>(peak_memory_bytes(torch::kCPU)) / 1048576.0; }

std::string tokenizer_description(const fs::path& dir) {
  try {
    auto tok = Tokenizer::load(dir);
    return fmt::format("{}, vocab {}", tok->kind(), tok->vocab_size());
  } catch (const InputError& e) {
    std::string present;
    for (const auto& name : tokenizer_file_names())
      if (fs::exists(dir / name)) present += (present.empty() ? "" : ", ") + name;
    return fmt::format("not loadable ({}); files present: {}", e.what(), present.empty() ? "none" : present);
  }
}

// Loads the model for real and times a prefill (forward_cached) and a few decode steps of the
// rollout engine's static-shape step (forward_step), one row.
int benchmark(const InspectArgs& args) {
  const auto t0 = std::chrono::steady_clock::now();
  auto loaded = load_model(args.model, resolve_dtype(args.dtype, torch::kCPU), torch::kCPU);
  const double load_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double rss_after_load = peak_rss_mib();
  torch::NoGradGuard no_grad;
  auto& m = loaded.model;
  const int64_t T = args.tokens, decode_steps = 16, capacity = T + decode_steps;
  auto ids = torch::randint(0, loaded.config.vocab_size, {1, T}, torch::kInt64);
  auto prefill = m->make_prefill_cache(1, capacity);
  const auto t1 = std::chrono::steady_clock::now();
  auto h = m->forward_cached(ids, torch::ones_like(ids), prefill);
  auto next = torch::linear(h.select(1, T - 1), m->lm_head_weight()).argmax(-1);  // [1]
  const double prefill_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();
  auto cache = m->make_slot_cache(1, capacity);
  const auto row = torch::zeros({1}, torch::kInt64);
  cache.copy_rows_from(prefill, row, row, T);
  const Rotary table = m->rope_table(capacity);
  auto start = torch::zeros({1}, torch::kInt64), slot = torch::full({1}, T, torch::kInt64);
  const auto t2 = std::chrono::steady_clock::now();
  for (int64_t i = 0; i < decode_steps; ++i) {
    auto hs = m->forward_step(next, start, slot, table, cache, T + i + 1);  // [1, width]
    next = torch::linear(hs, m->lm_head_weight()).argmax(-1);
    slot.add_(1);
  }
  const double decode_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t2).count();
  uint64_t params = 0;
  for (const auto& p : m->parameters()) params += static_cast<uint64_t>(p.numel());
  const double model_mib = static_cast<double>(params * torch::elementSize(resolve_dtype(args.dtype, torch::kCPU))) / (1 << 20);
  nlohmann::json j = {{"load_s", load_s},
                      {"model_mib", model_mib},
                      {"peak_rss_after_load_mib", rss_after_load},
                      {"peak_rss_mib", peak_rss_mib()},
                      {"prefill_tokens", T},
                      {"prefill_tokens_per_s", static_cast<double>(T) / prefill_s},
                      {"decode_tokens_per_s", static_cast<double>(decode_steps) / decode_s},
                      {"threads", torch::get_num_threads()}};
  std::cout << j.dump() << "\n";
  return kExitOk;
}

// Times r1train's GRPO update (chunked log-probs of the completion positions only, the dapo loss,
// backward, one-sync gradient norm, foreach AdamW) on `rows` random 16-token prompts with
// `tokens`-token completions: what scripts/bench_update.py's eager PyTorch step does.
int benchmark_update(const InspectArgs& args) {
  const torch::Device device = resolve_device(args.device);
  const torch::Dtype dtype = resolve_dtype(args.dtype, device, "--dtype");
  auto loaded = load_model(args.model, dtype, device);
  auto& m = loaded.model;
  m->train();
  const int64_t N = args.benchmark_update_rows, P = 16, T = args.tokens, V = loaded.config.vocab_size;
  torch::manual_seed(0);
  auto ids = torch::randint(3, V, {N, P + T}, torch::kInt64);  // [N, P+T]
  TrainingBatch batch{ids.to(device), torch::ones({N, P + T}, torch::kInt64).to(device),
                      ids.narrow(1, P, T).contiguous().to(device), torch::ones({N, T}).to(device),
                      torch::zeros({N, T}).to(device), torch::randn({N}).to(device), P};
  OptimConfig optim;
  optim.lr = 1e-6;
  Optimizer optimizer(m->parameters(), optim, 1000);
  GrpoConfig grpo;
  grpo.beta = 0;
  const LossNormalizer norm{LossType::Dapo, N, N * T, 1, T};
  auto update = [&](int64_t i) {
    optimizer.zero_grad();
    auto lp = completion_logprobs(m, batch, 1.0, /*with_entropy=*/false);  // [N, T]
    auto out = policy_loss({lp.logp, lp.logp.detach(), torch::Tensor(), batch.advantages, batch.completion_mask},
                           grpo, norm);
    out.loss.backward();
    optimizer.step(i);
  };
  update(0);  // warm-up
  if (device.is_cuda()) torch::cuda::synchronize();
  const int repeats = 3;
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 1; i <= repeats; ++i) update(i);
  if (device.is_cuda()) torch::cuda::synchronize();
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / repeats;
  std::cout << nlohmann::json{{"rows", N}, {"tokens", T}, {"seconds", s},
                              {"tokens_per_s", static_cast<double>(N * T) / s}, {"peak_rss_mib", peak_rss_mib()}}
                   .dump()
            << "\n";
  return kExitOk;
}

int inspect(const InspectArgs& args) {
  const fs::path dir = args.model;
  if (!fs::is_directory(dir)) throw InputError(fmt::format("{}: model directory not found", dir.string()));
  if (args.benchmark) return benchmark(args);
  if (args.benchmark_update_rows > 0) return benchmark_update(args);
  TransformerConfig config = TransformerConfig::from_json_file(dir / "config.json");
  SafetensorsSet weights = SafetensorsSet::open(dir);
  // Weights are allocated, never written: untouched pages cost no memory.
  CausalLM model(config, torch::TensorOptions().dtype(torch::kFloat32));
  check_weights(model, weights, dir);
  uint64_t params = 0;
  for (const auto& p : model->parameters()) params += static_cast<uint64_t>(p.numel());
  std::map<std::string, uint64_t> stored;  // dtype -> tensors
  for (const auto& name : weights.names()) ++stored[weights.entry(name).dtype];
  std::string dtypes;
  for (const auto& [d, n] : stored) dtypes += fmt::format("{}{} ({} tensors)", dtypes.empty() ? "" : ", ", d, n);
  uint64_t disk = 0;
  for (const auto& f : weights.files()) disk += fs::file_size(f.path());
  const auto& c = config;
  std::cout << fmt::format("model:         {}\n", dir.string())
            << fmt::format("architecture:  {} ({})\n", c.architecture, c.model_type.empty() ? "?" : c.model_type)
            << fmt::format("parameters:    {} ({}){}\n", with_commas(params),
                           human_bytes(params * 2) + " in bf16",
                           c.tie_word_embeddings ? "; lm_head tied to embed_tokens" : "")
            << fmt::format("dtype:         {} stored; config torch_dtype {}\n", dtypes,
                           c.torch_dtype.empty() ? "unset" : c.torch_dtype)
            << fmt::format("layers:        {} x (hidden {}, intermediate {}, heads {} q / {} kv, head_dim {})\n",
                           c.num_hidden_layers, c.hidden_size, c.intermediate_size, c.num_attention_heads,
                           c.num_key_value_heads, c.head_dim)
            << fmt::format("attention:     q/k/v bias {}, q/k norm {}, rope_theta {}{}\n",
                           c.attention_bias ? "yes" : "no", c.qk_norm ? "yes" : "no", c.rope_theta,
                           c.rope_scaling.type.empty() ? "" : fmt::format(", rope_scaling llama3 (factor {})",
                                                                          c.rope_scaling.factor))
            << fmt::format("vocab:         {}; context {}\n", c.vocab_size, c.max_position_embeddings)
            << fmt::format("tokenizer:     {}\n", tokenizer_description(dir))
            << fmt::format("size on disk:  {} in {} file{}\n", human_bytes(disk), weights.files().size(),
                           weights.files().size() == 1 ? "" : "s");
  if (!args.adapter.empty()) {
    const LoraConfig lora = load_adapter(model, args.adapter);  // names and shapes checked against the model
    uint64_t trained = 0;
    for (const auto& t : lora_parameters(model)) trained += static_cast<uint64_t>(t.numel());
    std::cout << fmt::format("adapter:       {}: LoRA r {}, alpha {} (scaling {:g}{}), on {}; {} parameters ({:.2f}% "
                             "of the base)\n",
                             args.adapter, lora.r, lora.alpha, lora_scaling(lora), lora.use_rslora ? ", rsLoRA" : "",
                             fmt::join(lora.target_modules, ", "), with_commas(trained),
                             100.0 * static_cast<double>(trained) / static_cast<double>(std::max<uint64_t>(params, 1)));
  }
  return kExitOk;
}

}  // namespace

void add_inspect_command(CLI::App& app, Action& action) {
  auto* sub = app.add_subcommand("inspect", "Describe a Hugging Face model directory: architecture, parameters, "
                                            "dtype, shapes, tokenizer, size");
  auto args = std::make_shared<InspectArgs>();
  sub->add_option("--model,-m", args->model, "Model directory (config.json, *.safetensors)")->required();
  sub->add_option("--adapter", args->adapter, "LoRA adapter directory (PEFT layout): described and checked against "
                                               "the model");
  // Hidden: used by scripts/bench_model.sh.
  sub->add_flag("--benchmark", args->benchmark, "")->group("");
  sub->add_option("--benchmark-update-rows", args->benchmark_update_rows, "")->group("")->check(at_least(1));
  sub->add_option("--device", args->device, "")->group("");
  add_choice_option(sub, "--dtype", args->dtype, "")->group("");
  sub->add_option("--tokens", args->tokens, "")->group("")->check(at_least(1));
  sub->callback([&action, args] {
    action = [args] {
      args->model = resolve_model_dir(args->model);  // a hub id: its snapshot in the local cache
      return inspect(*args);
    };
  });
}

}  // namespace r1::cli
