// The decoder-only transformer (Llama/Mistral/Qwen2/Qwen3) as libtorch modules named like Hugging Face, plus loading and saving.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "r1/model/device.h"
#include "r1/model/kv_cache.h"
#include "r1/model/model_config.h"
#include "r1/model/safetensors.h"

namespace r1 {

// y = x W^T (+ b); weight [out, in]. Created uninitialised: weights come from a checkpoint.
// With a LoRA adapter (r1/model/lora.h): y + scaling * B(A(dropout(x))), A [r, in], B [out, r],
// never folded into W. The adapter tensors are not registered parameters: parameters() and the
// saved model are the base's alone.
class LinearImpl : public torch::nn::Module {
 public:
  LinearImpl(int64_t in, int64_t out, bool bias, torch::TensorOptions options);
  torch::Tensor forward(const torch::Tensor& x);
  torch::Tensor weight, bias;
  struct Adapter {
    torch::Tensor A, B;    // [r, in], [out, r]
    double scaling = 0;    // alpha / r, or alpha / sqrt(r) (rsLoRA)
    double dropout = 0;
    bool enabled = true;   // false: the base alone (the KL reference)
  };
  std::optional<Adapter> lora;
};
TORCH_MODULE(Linear);

// Token embedding table; weight [V, model width].
class EmbeddingImpl : public torch::nn::Module {
 public:
  EmbeddingImpl(int64_t vocab, int64_t dim, torch::TensorOptions options);
  torch::Tensor forward(const torch::Tensor& ids);
  torch::Tensor weight;
};
TORCH_MODULE(Embedding);

// RMSNorm as Hugging Face computes it: in float32, cast back, then scaled by weight.
class RMSNormImpl : public torch::nn::Module {
 public:
  RMSNormImpl(int64_t dim, double eps, torch::TensorOptions options);
  torch::Tensor forward(const torch::Tensor& x);
  torch::Tensor weight;
  double eps;
};
TORCH_MODULE(RMSNorm);

// Rotary position embedding tables for given positions.
struct Rotary {
  torch::Tensor cos;         // [N, 1, T, D] in the model dtype: cat(cos, cos)
  torch::Tensor sin_signed;  // [N, 1, T, D]: cat(-sin, sin), rotate_half's sign folded in
};

class AttentionImpl : public torch::nn::Module {
 public:
  AttentionImpl(const TransformerConfig& config, torch::TensorOptions options);
  // x [N, T, width]; mask: which of S keys each query may attend, as built once per forward
  // from allowed [N, 1, T, S] bool (see attention_mask_for in decoder.cpp). With a cache, the T
  // new keys/values are written to it and attention covers its S = length + T slots.
  torch::Tensor forward(const torch::Tensor& x, const Rotary& rope, const torch::Tensor& mask, PrefillCache* cache,
                        int64_t layer);
  // One token per row (x [R, 1, width]) written at cache positions `where` (SlotCache::where);
  // attention over the first `slots` slots of the cache's first R rows, masked by `mask`.
  torch::Tensor forward_step(const torch::Tensor& x, const Rotary& rope, const torch::Tensor& mask, SlotCache& cache,
                             int64_t layer, const torch::Tensor& where, int64_t slots);
  Linear q_proj{nullptr}, k_proj{nullptr}, v_proj{nullptr}, o_proj{nullptr};
  RMSNorm q_norm{nullptr}, k_norm{nullptr};  // Qwen3 only
  int64_t heads, kv_heads, head_dim;

 private:
  struct Projected {
    torch::Tensor q, k, v;  // q [N, H, T, D]; k, v [N, Hkv, T, D]; q and k rotated
  };
  Projected project(const torch::Tensor& x, const Rotary& rope);
  torch::Tensor attend_and_project(const Projected& p, const torch::Tensor& k, const torch::Tensor& v,
                                   const torch::Tensor& mask);  // o_proj of attention: [N, T, width]
};
TORCH_MODULE(Attention);

class MLPImpl : public torch::nn::Module {
 public:
  MLPImpl(const TransformerConfig& config, torch::TensorOptions options);
  torch::Tensor forward(const torch::Tensor& x);  // down(silu(gate(x)) * up(x))
  Linear gate_proj{nullptr}, up_proj{nullptr}, down_proj{nullptr};
};
TORCH_MODULE(MLP);

class DecoderLayerImpl : public torch::nn::Module {
 public:
  DecoderLayerImpl(const TransformerConfig& config, torch::TensorOptions options);
  torch::Tensor forward(const torch::Tensor& x, const Rotary& rope, const torch::Tensor& mask, PrefillCache* cache,
                        int64_t layer);
  torch::Tensor forward_step(const torch::Tensor& x, const Rotary& rope, const torch::Tensor& mask, SlotCache& cache,
                             int64_t layer, const torch::Tensor& where, int64_t slots);
  Attention self_attn{nullptr};
  MLP mlp{nullptr};
  RMSNorm input_layernorm{nullptr}, post_attention_layernorm{nullptr};
};
TORCH_MODULE(DecoderLayer);

// `model.*` in a Hugging Face checkpoint.
class DecoderImpl : public torch::nn::Module {
 public:
  DecoderImpl(const TransformerConfig& config, torch::TensorOptions options);
  Embedding embed_tokens{nullptr};
  torch::nn::ModuleList layers;
  RMSNorm norm{nullptr};
};
TORCH_MODULE(Decoder);

// The causal language model. Parameter names are the checkpoint's tensor names; the one
// exception: with tie_word_embeddings there is no `lm_head` module (the checkpoint's
// lm_head.weight, if present, is ignored) and lm_head_weight() is model.embed_tokens.weight.
class CausalLMImpl : public torch::nn::Module {
 public:
  // Weights are allocated uninitialised with `options` (dtype, device); load_model fills them.
  CausalLMImpl(const TransformerConfig& config, torch::TensorOptions options);

  // Training path: full sequences, autograd. input_ids [N, T] int64, attention_mask [N, T]
  // (1 token, 0 padding; either side). Positions are cumsum(mask) - 1 as in Hugging Face.
  // An undefined attention_mask means no row has padding before its tokens (right padding is
  // harmless: it comes after every position it could change): positions 0..T-1 and plain causal
  // attention without a mask tensor (SDPA's is_causal, free to pick a flash kernel).
  // Returns the final-normed hidden states [N, T, width]; padding positions hold garbage.
  torch::Tensor hidden_states(const torch::Tensor& input_ids, const torch::Tensor& attention_mask);
  torch::Tensor lm_head_weight();  // [V, width] (model.embed_tokens.weight when tied)
  // hidden_states then the lm_head: [N, T, V] in the model dtype.
  torch::Tensor logits(const torch::Tensor& input_ids, const torch::Tensor& attention_mask);

  // Inference path: runs T new tokens per row (input_ids, attention_mask [N, T]; prefill
  // with left-padded prompts, then T = 1 per decode step) against `cache`, which covers the
  // same N rows, and appends them to it. Returns final-normed hidden states [N, T, width].
  torch::Tensor forward_cached(const torch::Tensor& input_ids, const torch::Tensor& attention_mask, PrefillCache& cache);
  // Caches for this model, N rows of S slots in the model's dtype and device (refused, naming the
  // settings to lower, when they would not fit in memory): for forward_cached and forward_step.
  PrefillCache make_prefill_cache(int64_t rows, int64_t capacity) const;
  SlotCache make_slot_cache(int64_t rows, int64_t capacity) const;

  // Static-shape decode step, the rollout engine's inner loop: no host sync and shapes fixed by
  // (R, slots), so that on CUDA it can be captured once as a graph and replayed. tokens, start,
  // slot [R] int64 on the device: row r feeds tokens[r] at cache slot slot[r] with RoPE position
  // slot[r] - start[r] and attends its slots [start[r], slot[r]] among the first `slots` slots of
  // the cache's first R rows. `table` is rope_table(n) for n above every position. Returns the
  // final-normed hidden states [R, width].
  torch::Tensor forward_step(const torch::Tensor& tokens, const torch::Tensor& start, const torch::Tensor& slot,
                             const Rotary& table, SlotCache& cache, int64_t slots);
  // cos and sin_signed of RoPE positions [0, n): [n, D] each, on the model's device, the same
  // values rotary() computes for those positions (built once per rollout, not per step).
  Rotary rope_table(int64_t n) const;

  const TransformerConfig& config() const { return config_; }
  torch::TensorOptions options() const { return options_; }
  // Training forward recomputes each layer's activations in backward instead of keeping them.
  void set_gradient_checkpointing(bool on) { gradient_checkpointing_ = on; }

  Decoder model{nullptr};
  Linear lm_head{nullptr};  // null when tied

 private:
  torch::Tensor run_layers(torch::Tensor x, const Rotary& rope, const torch::Tensor& allowed, PrefillCache* cache);
  Rotary rotary(const torch::Tensor& positions) const;  // positions [N, T] int64

  TransformerConfig config_;
  torch::TensorOptions options_;
  bool gradient_checkpointing_ = false;
  torch::Tensor inv_freq_;  // [D/2] float32 on the model's device (not a parameter: recomputed from the config)
};
TORCH_MODULE(CausalLM);

// RoPE inverse frequencies [D/2] float32, including llama3 scaling, as transformers computes them.
torch::Tensor rope_inv_freq(const TransformerConfig& config);

struct LoadedModel {
  CausalLM model;
  TransformerConfig config;
  std::filesystem::path dir;
};

// Reads config.json and the safetensors weights (memory-mapped, each tensor converted to
// `dtype` and copied once to `device`). InputError naming the file and tensor when the
// directory lacks files, a file is corrupt, or a tensor is missing, unexpected or mis-shaped.
LoadedModel load_model(const std::filesystem::path& dir, torch::Dtype dtype, torch::Device device);

// Checks that `weights` holds exactly the tensors `model` needs, with the right shapes and a
// floating-point dtype (tied lm_head.weight and rotary inv_freq tables are ignored).
// InputError naming the file, the tensor, and the expected and found shapes.
void check_weights(CausalLM& model, const SafetensorsSet& weights, const std::filesystem::path& dir);

// Writes an HF directory: model.safetensors (or shards above `max_shard_bytes` with the
// index json), config.json, generation_config.json, and the tokenizer files found in
// `tokenizer_source_dir` (tokenizer.json, tokenizer.model, tokenizer_config.json,
// special_tokens_map.json, vocab.json, merges.txt).
void save_model(CausalLM& model, const TransformerConfig& config, const std::filesystem::path& out_dir,
                const std::filesystem::path& tokenizer_source_dir, uint64_t max_shard_bytes = 5'000'000'000ull);

// save_model for given named tensors (a merged LoRA model's, say) in place of the model's own.
void save_model_tensors(const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                        const TransformerConfig& config, const std::filesystem::path& out_dir,
                        const std::filesystem::path& tokenizer_source_dir,
                        uint64_t max_shard_bytes = 5'000'000'000ull);

// Copies the tokenizer files (tokenizer_file_names) present in `source_dir` into `out_dir`.
void copy_tokenizer_files(const std::filesystem::path& source_dir, const std::filesystem::path& out_dir);

// The tokenizer files save_model copies, in that order.
const std::vector<std::string>& tokenizer_file_names();

}  // namespace r1
