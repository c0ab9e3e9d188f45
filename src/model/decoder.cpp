#include "r1/model/decoder.h"

#include "r1/model/activation_checkpoint.h"

#include <torch/version.h>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <fstream>
#include <set>

#include "r1/core/error.h"
#include "r1/model/torch_features.h"
#include "r1/core/output_file.h"
#include "r1/model/safetensors.h"

namespace r1 {

namespace fs = std::filesystem;
using json = nlohmann::json;

LinearImpl::LinearImpl(int64_t in, int64_t out, bool with_bias, torch::TensorOptions options) {
  weight = register_parameter("weight", torch::empty({out, in}, options));
  if (with_bias) bias = register_parameter("bias", torch::empty({out}, options));
}

torch::Tensor LinearImpl::forward(const torch::Tensor& x) {
  auto y = torch::linear(x, weight, bias);  // [..., out]
  if (!lora || !lora->enabled) return y;
  auto h = lora->dropout > 0 && is_training() ? torch::dropout(x, lora->dropout, /*train=*/true) : x;
  return y + torch::linear(torch::linear(h, lora->A), lora->B) * lora->scaling;  // [..., r] then [..., out]
}

EmbeddingImpl::EmbeddingImpl(int64_t vocab, int64_t dim, torch::TensorOptions options) {
  weight = register_parameter("weight", torch::empty({vocab, dim}, options));
}

torch::Tensor EmbeddingImpl::forward(const torch::Tensor& ids) { return torch::embedding(weight, ids); }

RMSNormImpl::RMSNormImpl(int64_t dim, double eps_, torch::TensorOptions options) : eps(eps_) {
  weight = register_parameter("weight", torch::empty({dim}, options));
}

torch::Tensor RMSNormImpl::forward(const torch::Tensor& x) {
  auto h = x.to(torch::kFloat32);
  auto variance = h.pow(2).mean(-1, /*keepdim=*/true);
  h = h * torch::rsqrt(variance + eps);
  return weight * h.to(x.scalar_type());
}

namespace {

// x * cos + rotate_half(x) * sin, where rotate_half(x) = cat(-x2, x1): the halves swapped by
// roll, with the sign folded into rope.sin_signed = cat(-sin1, sin2) (exact: negation is exact).
torch::Tensor apply_rotary(const torch::Tensor& x, const Rotary& rope) {
  return x * rope.cos + torch::roll(x, x.size(-1) / 2, -1) * rope.sin_signed;
}

// The mask as attend() consumes it: SDPA takes the boolean `allowed` [N, 1, T, S]; the math
// fallback adds 0 / -inf [N, 1, 1, T, S] (built once per forward, shared by every layer).
torch::Tensor attention_mask_for(const torch::Tensor& allowed, torch::Dtype dtype) {
#if R1_HAS_SDPA
  return allowed;
#else
  return torch::zeros(allowed.sizes(), allowed.options().dtype(dtype))
      .masked_fill(allowed.logical_not(), -std::numeric_limits<double>::infinity())
      .unsqueeze(1);
#endif
}

// Causal attention over T positions from position 0, with no padding to mask: SDPA is asked for
// is_causal with no mask tensor (so that it may pick a flash kernel), attend() sees an undefined
// mask; the math fallback adds the 0 / -inf triangle [1, 1, 1, T, T].
torch::Tensor causal_only_mask(int64_t T, torch::Dtype dtype, torch::Device device) {
#if R1_HAS_SDPA
  (void)T, (void)dtype, (void)device;
  return {};
#else
  auto allowed = torch::ones({T, T}, torch::TensorOptions().dtype(torch::kBool).device(device)).tril();  // [T, T]
  return attention_mask_for(allowed.view({1, 1, T, T}), dtype);
#endif
}

// q [N, H, T, D]; k, v [N, Hkv, S, D]; mask from attention_mask_for, or undefined for plain causal
// attention with S == T (causal_only_mask). Returns [N, H, T, D].
torch::Tensor attend(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                     const torch::Tensor& mask, double scale) {
  const int64_t N = q.size(0), H = q.size(1), T = q.size(2), D = q.size(3);
  const int64_t Hkv = k.size(1), S = k.size(2), rep = H / Hkv;
#if R1_HAS_SDPA
  const bool causal = !mask.defined();
  const auto attn_mask = causal ? c10::optional<torch::Tensor>() : c10::optional<torch::Tensor>(mask);
#endif
#if R1_HAS_SDPA_GQA
  (void)N, (void)T, (void)D, (void)S;
  return at::scaled_dot_product_attention(q, k, v, attn_mask, 0.0, causal, scale, /*enable_gqa=*/rep > 1);
#elif R1_HAS_SDPA
  (void)T;
  auto ke = k.unsqueeze(2).expand({N, Hkv, rep, S, D}).reshape({N, H, S, D});  // [N, H, S, D]
  auto ve = v.unsqueeze(2).expand({N, Hkv, rep, S, D}).reshape({N, H, S, D});  // [N, H, S, D]
  return at::scaled_dot_product_attention(q, ke, ve, attn_mask, 0.0, causal, scale);
#else
  // The exact math of scaled_dot_product_attention; the query heads of one KV head share
  // its keys without copying them.
  auto qg = q.reshape({N, Hkv, rep * T, D});
  auto scores = torch::matmul(qg, k.transpose(-1, -2)) * scale;  // [N, Hkv, rep*T, S]
  scores = scores.view({N, Hkv, rep, T, S}) + mask;
  auto probs = torch::softmax(scores, -1, torch::kFloat32).to(q.scalar_type());
  return torch::matmul(probs.view({N, Hkv, rep * T, S}), v).view({N, H, T, D});
#endif
}

}  // namespace

AttentionImpl::AttentionImpl(const TransformerConfig& c, torch::TensorOptions options)
    : heads(c.num_attention_heads), kv_heads(c.num_key_value_heads), head_dim(c.head_dim) {
  q_proj = register_module("q_proj", Linear(c.hidden_size, heads * head_dim, c.attention_bias, options));
  k_proj = register_module("k_proj", Linear(c.hidden_size, kv_heads * head_dim, c.attention_bias, options));
  v_proj = register_module("v_proj", Linear(c.hidden_size, kv_heads * head_dim, c.attention_bias, options));
  o_proj = register_module("o_proj", Linear(heads * head_dim, c.hidden_size, false, options));
  if (c.qk_norm) {
    q_norm = register_module("q_norm", RMSNorm(head_dim, c.rms_norm_eps, options));
    k_norm = register_module("k_norm", RMSNorm(head_dim, c.rms_norm_eps, options));
  }
}

AttentionImpl::Projected AttentionImpl::project(const torch::Tensor& x, const Rotary& rope) {
  const int64_t N = x.size(0), T = x.size(1);
  auto q = q_proj(x).view({N, T, heads, head_dim});                    // [N, T, H, D]
  auto k = k_proj(x).view({N, T, kv_heads, head_dim});                 // [N, T, Hkv, D]
  auto v = v_proj(x).view({N, T, kv_heads, head_dim}).transpose(1, 2);  // [N, Hkv, T, D]
  if (q_norm) {
    q = q_norm(q);
    k = k_norm(k);
  }
  q = q.transpose(1, 2);  // [N, H, T, D]
  k = k.transpose(1, 2);  // [N, Hkv, T, D]
  return {apply_rotary(q, rope), apply_rotary(k, rope), v};
}

torch::Tensor AttentionImpl::attend_and_project(const Projected& p, const torch::Tensor& k, const torch::Tensor& v,
                                                const torch::Tensor& mask) {
  const int64_t N = p.q.size(0), T = p.q.size(2);
  auto out = attend(p.q, k, v, mask, 1.0 / std::sqrt(static_cast<double>(head_dim)));  // [N, H, T, D]
  return o_proj(out.transpose(1, 2).reshape({N, T, heads * head_dim}));
}

torch::Tensor AttentionImpl::forward(const torch::Tensor& x, const Rotary& rope, const torch::Tensor& mask,
                                     PrefillCache* cache, int64_t layer) {
  auto p = project(x, rope);
  if (!cache) return attend_and_project(p, p.k, p.v, mask);
  cache->write(layer, p.k, p.v);
  const int64_t slots = cache->length() + x.size(1);
  return attend_and_project(p, cache->keys(layer, slots), cache->values(layer, slots), mask);  // keys [N, Hkv, S, D]
}

torch::Tensor AttentionImpl::forward_step(const torch::Tensor& x, const Rotary& rope, const torch::Tensor& mask,
                                          SlotCache& cache, int64_t layer, const torch::Tensor& where, int64_t slots) {
  auto p = project(x, rope);  // T = 1
  cache.write_at(layer, p.k, p.v, where);
  const int64_t R = x.size(0);
  return attend_and_project(p, cache.row_keys(layer, R, slots), cache.row_values(layer, R, slots), mask);
}

MLPImpl::MLPImpl(const TransformerConfig& c, torch::TensorOptions options) {
  gate_proj = register_module("gate_proj", Linear(c.hidden_size, c.intermediate_size, false, options));
  up_proj = register_module("up_proj", Linear(c.hidden_size, c.intermediate_size, false, options));
  down_proj = register_module("down_proj", Linear(c.intermediate_size, c.hidden_size, false, options));
}

torch::Tensor MLPImpl::forward(const torch::Tensor& x) {
  return down_proj(torch::silu(gate_proj(x)) * up_proj(x));
}

DecoderLayerImpl::DecoderLayerImpl(const TransformerConfig& c, torch::TensorOptions options) {
  self_attn = register_module("self_attn", Attention(c, options));
  mlp = register_module("mlp", MLP(c, options));
  input_layernorm = register_module("input_layernorm", RMSNorm(c.hidden_size, c.rms_norm_eps, options));
  post_attention_layernorm =
      register_module("post_attention_layernorm", RMSNorm(c.hidden_size, c.rms_norm_eps, options));
}

torch::Tensor DecoderLayerImpl::forward(const torch::Tensor& x, const Rotary& rope, const torch::Tensor& mask,
                                        PrefillCache* cache, int64_t layer) {
  auto h = x + self_attn(input_layernorm(x), rope, mask, cache, layer);
  return h + mlp(post_attention_layernorm(h));
}

torch::Tensor DecoderLayerImpl::forward_step(const torch::Tensor& x, const Rotary& rope, const torch::Tensor& mask,
                                             SlotCache& cache, int64_t layer, const torch::Tensor& where, int64_t slots) {
  auto h = x + self_attn->forward_step(input_layernorm(x), rope, mask, cache, layer, where, slots);
  return h + mlp(post_attention_layernorm(h));
}

DecoderImpl::DecoderImpl(const TransformerConfig& c, torch::TensorOptions options) {
  embed_tokens = register_module("embed_tokens", Embedding(c.vocab_size, c.hidden_size, options));
  layers = register_module("layers", torch::nn::ModuleList());
  for (int64_t i = 0; i < c.num_hidden_layers; ++i) layers->push_back(DecoderLayer(c, options));
  norm = register_module("norm", RMSNorm(c.hidden_size, c.rms_norm_eps, options));
}

torch::Tensor rope_inv_freq(const TransformerConfig& c) {
  const double dim = static_cast<double>(c.head_dim);
  auto exponents = torch::arange(0, c.head_dim, 2, torch::kInt64).to(torch::kFloat32) / dim;
  auto inv_freq = 1.0 / torch::pow(torch::scalar_tensor(c.rope_theta, torch::kFloat32), exponents);
  if (c.rope_scaling.type != "llama3") return inv_freq;
  const auto& s = c.rope_scaling;
  const double old_len = static_cast<double>(s.original_max_position_embeddings);
  const double low_freq_wavelen = old_len / s.low_freq_factor;
  const double high_freq_wavelen = old_len / s.high_freq_factor;
  auto wavelen = 2 * M_PI / inv_freq;
  // Long wavelengths are divided by the factor, short ones kept, the band between interpolated.
  auto scaled = torch::where(wavelen > low_freq_wavelen, inv_freq / s.factor, inv_freq);
  auto smooth = (old_len / wavelen - s.low_freq_factor) / (s.high_freq_factor - s.low_freq_factor);
  auto smoothed = (1 - smooth) * scaled / s.factor + smooth * scaled;
  auto medium = (wavelen >= high_freq_wavelen).logical_and(wavelen <= low_freq_wavelen);
  return torch::where(medium, smoothed, scaled);
}

CausalLMImpl::CausalLMImpl(const TransformerConfig& config, torch::TensorOptions options)
    : config_(config), options_(options), inv_freq_(rope_inv_freq(config).to(options.device())) {
  // Weights: embeddings (and an untied head), per layer q/k/v/o and the three MLP matrices. In
  // long double: a config.json with absurd sizes must give a number to report, not an overflow.
  const long double h = config.hidden_size, q = config.num_attention_heads * config.head_dim,
                    kv = config.num_key_value_heads * config.head_dim;
  const long double params = config.vocab_size * h * (config.tie_word_embeddings ? 1 : 2) +
                             config.num_hidden_layers * (2 * h * q + 2 * h * kv + 3 * h * config.intermediate_size);
  const long double bytes = params * static_cast<long double>(c10::elementSize(options.dtype().toScalarType()));
  check_fits_memory(bytes > 1.8e19L ? UINT64_MAX : static_cast<uint64_t>(bytes), options.device(),
                    fmt::format("config.json (hidden_size {}, intermediate_size {}, num_hidden_layers {}, vocab_size "
                                "{}): the weights",
                                config.hidden_size, config.intermediate_size, config.num_hidden_layers,
                                config.vocab_size),
                    "check config.json, or use a smaller dtype");
  model = register_module("model", Decoder(config, options));
  if (!config.tie_word_embeddings)
    lm_head = register_module("lm_head", Linear(config.hidden_size, config.vocab_size, false, options));
}

torch::Tensor CausalLMImpl::lm_head_weight() {
  return lm_head ? lm_head->weight : model->embed_tokens->weight;
}

Rotary CausalLMImpl::rotary(const torch::Tensor& positions) const {
  auto inv = inv_freq_.to(positions.device());
  auto freqs = positions.to(torch::kFloat32).unsqueeze(-1) * inv;  // [N, T, D/2]
  auto sin = freqs.sin();                                           // [N, T, D/2]
  const auto dtype = options_.dtype().toScalarType();
  return {torch::cat({freqs, freqs}, -1).cos().to(dtype).unsqueeze(1),
          torch::cat({-sin, sin}, -1).to(dtype).unsqueeze(1)};
}

Rotary CausalLMImpl::rope_table(int64_t n) const {
  auto positions = torch::arange(n, torch::TensorOptions().dtype(torch::kInt64).device(options_.device()));
  Rotary r = rotary(positions.unsqueeze(0));  // [1, 1, n, D]
  return {r.cos[0][0], r.sin_signed[0][0]};   // [n, D]
}

torch::Tensor CausalLMImpl::forward_step(const torch::Tensor& tokens, const torch::Tensor& start,
                                         const torch::Tensor& slot, const Rotary& table, SlotCache& cache,
                                         int64_t slots) {
  const int64_t R = tokens.size(0), D = config_.head_dim;
  auto position = slot - start;                                                          // [R]
  Rotary rope{table.cos.index_select(0, position).view({R, 1, 1, D}),
              table.sin_signed.index_select(0, position).view({R, 1, 1, D})};           // [R, 1, 1, D]
  auto c = torch::arange(slots, slot.options()).unsqueeze(0);                             // [1, S]
  auto allowed = (c >= start.unsqueeze(1)).logical_and(c <= slot.unsqueeze(1));          // [R, S]
  const auto mask = attention_mask_for(allowed.view({R, 1, 1, slots}), options_.dtype().toScalarType());
  auto x = model->embed_tokens(tokens.view({R, 1}));                                      // [R, 1, width]
  const auto where = cache.where(slot);                                                   // [R * Hkv]
  int64_t i = 0;
  for (const auto& layer : *model->layers)
    x = layer->as<DecoderLayerImpl>()->forward_step(x, rope, mask, cache, i++, where, slots);
  return model->norm(x).view({R, -1});                                                    // [R, width]
}

torch::Tensor CausalLMImpl::run_layers(torch::Tensor x, const Rotary& rope, const torch::Tensor& allowed,
                                       PrefillCache* cache) {
  const auto dtype = options_.dtype().toScalarType();
  const auto mask = allowed.defined() ? attention_mask_for(allowed, dtype) : causal_only_mask(x.size(1), dtype, x.device());
  int64_t i = 0;
  for (const auto& layer : *model->layers) {
    auto* block = layer->as<DecoderLayerImpl>();
    if (gradient_checkpointing_ && cache == nullptr) {
      // Captured by value: backward runs after this call has returned.
      x = checkpointed([rope, mask, block](const torch::Tensor& in) {
        return block->forward(in, rope, mask, nullptr, 0);
      }, x);
    } else {
      x = block->forward(x, rope, mask, cache, i);
    }
    ++i;
  }
  return model->norm(x);
}

torch::Tensor CausalLMImpl::hidden_states(const torch::Tensor& input_ids, const torch::Tensor& attention_mask) {
  const int64_t T = input_ids.size(1);
  if (!attention_mask.defined()) {  // every row starts at position 0: plain causal attention, no mask tensor
    auto positions = torch::arange(T, torch::TensorOptions().dtype(torch::kInt64).device(input_ids.device()));  // [T]
    return run_layers(model->embed_tokens(input_ids), rotary(positions.unsqueeze(0)), torch::Tensor(), nullptr);
  }
  auto mask = attention_mask.to(torch::kInt64);                 // [N, T]
  auto positions = (mask.cumsum(1) - 1).clamp_min(0);           // [N, T]
  auto bool_opts = torch::TensorOptions().dtype(torch::kBool).device(input_ids.device());
  auto causal = torch::ones({T, T}, bool_opts).tril();          // [T, T]
  auto diagonal = torch::eye(T, bool_opts);                     // padding queries see themselves: no empty rows
  auto allowed = causal.unsqueeze(0).logical_and(mask.to(torch::kBool).unsqueeze(1)).logical_or(diagonal);
  return run_layers(model->embed_tokens(input_ids), rotary(positions), allowed.unsqueeze(1), nullptr);
}

torch::Tensor CausalLMImpl::logits(const torch::Tensor& input_ids, const torch::Tensor& attention_mask) {
  return torch::linear(hidden_states(input_ids, attention_mask), lm_head_weight());
}

namespace {

// Refuses a cache of `rows` x `capacity` slots that would not fit in the device's memory.
void check_cache_fits(const TransformerConfig& config, torch::TensorOptions options, int64_t rows, int64_t capacity) {
  // [layers] x K and V of [rows, kv heads, capacity, head dim].
  const long double bytes = 2.0L * config.num_hidden_layers * rows * config.num_key_value_heads * capacity *
                            config.head_dim * c10::elementSize(options.dtype().toScalarType());
  check_fits_memory(bytes > 1.8e19L ? UINT64_MAX : static_cast<uint64_t>(bytes), options.device(),
                    fmt::format("the KV cache of {} rows x {} positions", rows, capacity),
                    "lower rollout.batch_size (rows decoded together) or rollout.max_new_tokens");
}

}  // namespace

PrefillCache CausalLMImpl::make_prefill_cache(int64_t rows, int64_t capacity) const {
  check_cache_fits(config_, options_, rows, capacity);
  return PrefillCache(config_, rows, capacity, options_);
}

SlotCache CausalLMImpl::make_slot_cache(int64_t rows, int64_t capacity) const {
  check_cache_fits(config_, options_, rows, capacity);
  return SlotCache(config_, rows, capacity, options_);
}

torch::Tensor CausalLMImpl::forward_cached(const torch::Tensor& input_ids, const torch::Tensor& attention_mask,
                                           PrefillCache& cache) {
  const int64_t T = input_ids.size(1), L = cache.length();
  TORCH_CHECK(input_ids.size(0) == cache.rows(), "forward_cached: batch rows differ from the cache rows");
  auto mask = attention_mask.to(torch::kInt64);                                              // [N, T]
  auto positions = cache.next_position().unsqueeze(1) + (mask.cumsum(1) - 1).clamp_min(0);  // [N, T]
  auto device = input_ids.device();
  auto slots = torch::arange(L + T, torch::TensorOptions().dtype(torch::kInt64).device(device));  // [S]
  auto query_slots = slots.narrow(0, L, T).unsqueeze(1);                                         // [T, 1]
  auto causal = slots.unsqueeze(0) <= query_slots;                                               // [T, S]
  auto valid = torch::cat({cache.valid(L), mask.to(torch::kBool)}, 1);                          // [N, S]
  auto allowed = causal.unsqueeze(0).logical_and(valid.unsqueeze(1)).logical_or(slots.unsqueeze(0) == query_slots);
  auto h = run_layers(model->embed_tokens(input_ids), rotary(positions), allowed.unsqueeze(1), &cache);
  cache.advance(mask);
  return h;
}

const std::vector<std::string>& tokenizer_file_names() {
  static const std::vector<std::string> names = {"tokenizer.json",          "tokenizer.model",
                                                 "tokenizer_config.json",   "special_tokens_map.json",
                                                 "vocab.json",              "merges.txt",
                                                 "added_tokens.json"};
  return names;
}

namespace {

std::string shape_str(at::IntArrayRef s) { return fmt::format("[{}]", fmt::join(s.begin(), s.end(), ", ")); }

bool is_ignored_checkpoint_tensor(const std::string& name, const TransformerConfig& config) {
  // Tied models may still store lm_head.weight; older checkpoints store RoPE tables.
  if (config.tie_word_embeddings && name == "lm_head.weight") return true;
  return name.ends_with("rotary_emb.inv_freq");
}

}  // namespace

void check_weights(CausalLM& model, const SafetensorsSet& weights, const fs::path& dir) {
  const TransformerConfig& config = model->config();
  auto params = model->named_parameters(/*recurse=*/true);
  for (const auto& name : weights.names()) {
    if (!params.contains(name) && !is_ignored_checkpoint_tensor(name, config))
      throw InputError(fmt::format("{}: unexpected tensor '{}' for {} (is config.json from the same model?)",
                                   weights.file_of(name).path().string(), name, config.architecture));
  }
  for (const auto& item : params) {
    const std::string& name = item.key();
    const torch::Tensor& param = item.value();
    if (!weights.contains(name))
      throw InputError(fmt::format("{}: tensor '{}' is missing from the weights (expected shape {})", dir.string(),
                                   name, shape_str(param.sizes())));
    const SafetensorsFile& file = weights.file_of(name);
    const SafetensorsEntry& entry = weights.entry(name);
    if (entry.shape != param.sizes().vec())
      throw InputError(fmt::format("{}: tensor '{}' has shape {}; the config expects {}", file.path().string(), name,
                                   shape_str(entry.shape), shape_str(param.sizes())));
    if (entry.dtype != "F32" && entry.dtype != "BF16" && entry.dtype != "F16" && entry.dtype != "F64")
      throw InputError(fmt::format("{}: tensor '{}' has dtype {}; expected a floating-point type (F32, BF16, F16)",
                                   file.path().string(), name, entry.dtype));
  }
}

LoadedModel load_model(const fs::path& dir, torch::Dtype dtype, torch::Device device) {
  if (!fs::is_directory(dir))
    throw InputError(fmt::format("{}: model directory not found", dir.string()));
  TransformerConfig config = TransformerConfig::from_json_file(dir / "config.json");
  SafetensorsSet weights = SafetensorsSet::open(dir);
  CausalLM model(config, torch::TensorOptions().dtype(dtype).device(device));
  check_weights(model, weights, dir);
  torch::NoGradGuard no_grad;
  for (auto& item : model->named_parameters(/*recurse=*/true)) {
    const SafetensorsFile& file = weights.file_of(item.key());
    const SafetensorsEntry& entry = weights.entry(item.key());
    item.value().copy_(file.view(entry));
    file.release(entry);
  }
  return LoadedModel{model, config, dir};
}

void save_model(CausalLM& model, const TransformerConfig& config, const fs::path& out_dir,
                const fs::path& tokenizer_source_dir, uint64_t max_shard_bytes) {
  std::vector<std::pair<std::string, torch::Tensor>> tensors;
  for (const auto& item : model->named_parameters(/*recurse=*/true)) tensors.emplace_back(item.key(), item.value().detach());
  save_model_tensors(tensors, config, out_dir, tokenizer_source_dir, max_shard_bytes);
}

void save_model_tensors(const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                        const TransformerConfig& config, const fs::path& out_dir, const fs::path& tokenizer_source_dir,
                        uint64_t max_shard_bytes) {
  fs::create_directories(out_dir);
  const torch::Dtype dtype = tensors.empty() ? torch::kFloat32 : tensors.back().second.scalar_type();
  // A directory saved into before may hold weights of another layout (one file, or more or
  // fewer shards): remove them so that no stale shard is left beside the new weights.
  for (const auto& entry : fs::directory_iterator(out_dir)) {
    const std::string name = entry.path().filename().string();
    const bool shard = name.rfind("model-", 0) == 0 && name.find("-of-") != std::string::npos &&
                       name.size() > 12 && name.compare(name.size() - 12, 12, ".safetensors") == 0;
    if (shard || name == "model.safetensors" || name == "model.safetensors.index.json") fs::remove(entry.path());
  }
  write_safetensors_sharded(out_dir, tensors, max_shard_bytes);
  TransformerConfig saved = config;
  saved.torch_dtype = dtype_name(dtype);
  write_file(out_dir / "config.json", saved.to_json().dump(2) + "\n");
  const fs::path gen_source = tokenizer_source_dir / "generation_config.json";
  if (!tokenizer_source_dir.empty() && fs::exists(gen_source) &&
      fs::absolute(gen_source) != fs::absolute(out_dir / "generation_config.json")) {
    fs::copy_file(gen_source, out_dir / "generation_config.json", fs::copy_options::overwrite_existing);
  } else if (!fs::exists(out_dir / "generation_config.json")) {
    json gen = {{"_from_model_config", true}};
    if (config.bos_token_id >= 0) gen["bos_token_id"] = config.bos_token_id;
    if (config.eos_token_ids.size() == 1) gen["eos_token_id"] = config.eos_token_ids[0];
    else if (!config.eos_token_ids.empty()) gen["eos_token_id"] = config.eos_token_ids;
    write_file(out_dir / "generation_config.json", gen.dump(2) + "\n");
  }
  copy_tokenizer_files(tokenizer_source_dir, out_dir);
}

void copy_tokenizer_files(const fs::path& source_dir, const fs::path& out_dir) {
  if (source_dir.empty()) return;
  for (const auto& name : tokenizer_file_names()) {
    const fs::path src = source_dir / name;
    if (fs::exists(src) && fs::absolute(src) != fs::absolute(out_dir / name))
      fs::copy_file(src, out_dir / name, fs::copy_options::overwrite_existing);
  }
}

}  // namespace r1
