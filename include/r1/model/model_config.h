// The decoder's architecture, read from a Hugging Face config.json (Llama, Mistral, Qwen2, Qwen3).
#pragma once

#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>
#include <vector>

namespace r1 {

// rope_scaling of type "llama3" (Llama 3.1+); absent means plain RoPE.
struct RopeScaling {
  std::string type;                        // "" (none) or "llama3"
  double factor = 1.0;
  double low_freq_factor = 1.0;
  double high_freq_factor = 4.0;
  int64_t original_max_position_embeddings = 8192;
};

struct TransformerConfig {
  std::string architecture;                // LlamaForCausalLM | MistralForCausalLM | Qwen2ForCausalLM | Qwen3ForCausalLM
  std::string model_type;                  // llama | mistral | qwen2 | qwen3
  int64_t vocab_size = 0;                  // V
  int64_t hidden_size = 0;                 // model width
  int64_t intermediate_size = 0;           // MLP width
  int64_t num_hidden_layers = 0;
  int64_t num_attention_heads = 0;         // H
  int64_t num_key_value_heads = 0;         // GQA: H is a multiple of this
  int64_t head_dim = 0;                    // D (config head_dim, else hidden_size / H)
  double rms_norm_eps = 1e-6;
  double rope_theta = 10000.0;
  RopeScaling rope_scaling;
  int64_t max_position_embeddings = 2048;
  bool tie_word_embeddings = false;        // lm_head shares model.embed_tokens.weight
  bool attention_bias = false;             // q/k/v projections carry a bias (Qwen2: always)
  bool qk_norm = false;                    // per-head RMSNorm on q and k (Qwen3)
  int64_t bos_token_id = -1;               // -1: none
  std::vector<int64_t> eos_token_ids;      // config's eos_token_id (an int or a list)
  std::string torch_dtype;                 // as stored, e.g. "bfloat16"
  nlohmann::json source;                   // the config.json as read (kept keys are saved back)

  // Reads and checks config.json; InputError naming the file and key on bad input.
  static TransformerConfig from_json_file(const std::filesystem::path& path);
  static TransformerConfig from_json(const nlohmann::json& j, const std::string& where);
  // config.json content: `source` with this struct's fields written over it.
  nlohmann::json to_json() const;
};

// The architectures this build can load, e.g. for error messages.
const std::vector<std::string>& supported_architectures();

}  // namespace r1
