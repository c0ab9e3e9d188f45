#include "r1/model/model_config.h"

#include <fmt/format.h>

#include <fstream>

#include "r1/core/error.h"

namespace r1 {

using json = nlohmann::json;

const std::vector<std::string>& supported_architectures() {
  static const std::vector<std::string> archs = {"LlamaForCausalLM", "MistralForCausalLM", "Qwen2ForCausalLM",
                                                 "Qwen3ForCausalLM"};
  return archs;
}

namespace {

struct Reader {
  const json& j;
  const std::string& where;

  InputError error(const std::string& key, const std::string& what) const {
    return InputError(fmt::format("{}: {}: {}", where, key, what));
  }
  int64_t integer(const std::string& key, std::optional<int64_t> fallback = std::nullopt) const {
    if (!j.contains(key) || j[key].is_null()) {
      if (fallback) return *fallback;
      throw error(key, "missing; a Hugging Face config.json must set it");
    }
    if (!j[key].is_number_integer()) throw error(key, fmt::format("expected an integer, got {}", j[key].dump()));
    return j[key].get<int64_t>();
  }
  int64_t positive(const std::string& key, std::optional<int64_t> fallback = std::nullopt) const {
    int64_t v = integer(key, fallback);
    if (v <= 0) throw error(key, fmt::format("is {}; must be > 0", v));
    return v;
  }
  double number(const std::string& key, double fallback) const {
    if (!j.contains(key) || j[key].is_null()) return fallback;
    if (!j[key].is_number()) throw error(key, fmt::format("expected a number, got {}", j[key].dump()));
    return j[key].get<double>();
  }
  bool boolean(const std::string& key, bool fallback) const {
    if (!j.contains(key) || j[key].is_null()) return fallback;
    if (!j[key].is_boolean()) throw error(key, fmt::format("expected true or false, got {}", j[key].dump()));
    return j[key].get<bool>();
  }
};

}  // namespace

TransformerConfig TransformerConfig::from_json_file(const std::filesystem::path& path) {
  if (!std::filesystem::exists(path))
    throw InputError(fmt::format("{}: missing; a model directory needs the Hugging Face config.json", path.string()));
  std::ifstream in(path);
  json j;
  try {
    j = json::parse(in);
  } catch (const json::exception& e) {
    throw InputError(fmt::format("{}: malformed JSON: {}", path.string(), e.what()));
  }
  return from_json(j, path.string());
}

TransformerConfig TransformerConfig::from_json(const json& j, const std::string& where) {
  if (!j.is_object()) throw InputError(fmt::format("{}: expected a JSON object", where));
  Reader r{j, where};
  TransformerConfig c;
  c.source = j;
  std::string supported;
  for (const auto& a : supported_architectures()) supported += (supported.empty() ? "" : ", ") + a;
  if (!j.contains("architectures") || !j["architectures"].is_array() || j["architectures"].empty() ||
      !j["architectures"][0].is_string())
    throw r.error("architectures", "missing; expected a list naming one of " + supported);
  c.architecture = j["architectures"][0].get<std::string>();
  const auto& archs = supported_architectures();
  if (std::find(archs.begin(), archs.end(), c.architecture) == archs.end())
    throw r.error("architectures", fmt::format("unsupported architecture '{}'; supported: {}", c.architecture,
                                               supported));
  c.model_type = j.value("model_type", std::string());
  c.vocab_size = r.positive("vocab_size");
  c.hidden_size = r.positive("hidden_size");
  c.intermediate_size = r.positive("intermediate_size");
  c.num_hidden_layers = r.positive("num_hidden_layers");
  c.num_attention_heads = r.positive("num_attention_heads");
  c.num_key_value_heads = r.positive("num_key_value_heads", c.num_attention_heads);
  if (c.num_attention_heads % c.num_key_value_heads != 0)
    throw r.error("num_key_value_heads", fmt::format("{} does not divide num_attention_heads {}",
                                                     c.num_key_value_heads, c.num_attention_heads));
  if (c.hidden_size % c.num_attention_heads != 0 && !(j.contains("head_dim") && !j["head_dim"].is_null()))
    throw r.error("hidden_size", "not a multiple of num_attention_heads and no head_dim is given");
  c.head_dim = r.positive("head_dim", c.hidden_size / c.num_attention_heads);
  if (c.head_dim % 2 != 0) throw r.error("head_dim", fmt::format("is {}; RoPE needs an even head_dim", c.head_dim));
  c.rms_norm_eps = r.number("rms_norm_eps", 1e-6);
  c.rope_theta = r.number("rope_theta", 10000.0);
  c.max_position_embeddings = r.positive("max_position_embeddings", 2048);
  c.tie_word_embeddings = r.boolean("tie_word_embeddings", false);
  const bool qwen2 = c.architecture == "Qwen2ForCausalLM";
  c.attention_bias = qwen2 ? true : r.boolean("attention_bias", false);
  c.qk_norm = c.architecture == "Qwen3ForCausalLM";
  if (j.contains("hidden_act") && j["hidden_act"] != "silu")
    throw r.error("hidden_act", fmt::format("is {}; only silu is supported", j["hidden_act"].dump()));
  if (r.boolean("mlp_bias", false)) throw r.error("mlp_bias", "is true; MLP biases are not supported");
  if (j.contains("rope_scaling") && !j["rope_scaling"].is_null()) {
    const json& s = j["rope_scaling"];
    if (!s.is_object()) throw r.error("rope_scaling", "expected an object");
    std::string type = s.value("rope_type", s.value("type", std::string("default")));
    if (type == "llama3") {
      Reader rs{s, where};
      c.rope_scaling.type = "llama3";
      c.rope_scaling.factor = rs.number("factor", 8.0);
      c.rope_scaling.low_freq_factor = rs.number("low_freq_factor", 1.0);
      c.rope_scaling.high_freq_factor = rs.number("high_freq_factor", 4.0);
      c.rope_scaling.original_max_position_embeddings = rs.positive("original_max_position_embeddings", 8192);
      if (c.rope_scaling.high_freq_factor == c.rope_scaling.low_freq_factor)
        throw r.error("rope_scaling", "high_freq_factor equals low_freq_factor");
    } else if (type != "default") {
      throw r.error("rope_scaling", fmt::format("rope type '{}' is not supported (supported: llama3)", type));
    }
  }
  if (j.contains("bos_token_id") && j["bos_token_id"].is_number_integer())
    c.bos_token_id = j["bos_token_id"].get<int64_t>();
  if (j.contains("eos_token_id")) {
    const json& e = j["eos_token_id"];
    if (e.is_number_integer()) {
      c.eos_token_ids.push_back(e.get<int64_t>());
    } else if (e.is_array()) {
      for (const auto& x : e) {
        if (!x.is_number_integer()) throw r.error("eos_token_id", "expected an integer or a list of integers");
        c.eos_token_ids.push_back(x.get<int64_t>());
      }
    } else if (!e.is_null()) {
      throw r.error("eos_token_id", "expected an integer or a list of integers");
    }
  }
  c.torch_dtype = j.value("torch_dtype", std::string());
  return c;
}

json TransformerConfig::to_json() const {
  json j = source.is_object() ? source : json::object();
  j["architectures"] = {architecture};
  if (!model_type.empty()) j["model_type"] = model_type;
  j["vocab_size"] = vocab_size;
  j["hidden_size"] = hidden_size;
  j["intermediate_size"] = intermediate_size;
  j["num_hidden_layers"] = num_hidden_layers;
  j["num_attention_heads"] = num_attention_heads;
  j["num_key_value_heads"] = num_key_value_heads;
  j["head_dim"] = head_dim;
  j["rms_norm_eps"] = rms_norm_eps;
  j["rope_theta"] = rope_theta;
  j["max_position_embeddings"] = max_position_embeddings;
  j["tie_word_embeddings"] = tie_word_embeddings;
  if (architecture != "Qwen2ForCausalLM") j["attention_bias"] = attention_bias;
  if (!torch_dtype.empty()) j["torch_dtype"] = torch_dtype;
  if (bos_token_id >= 0) j["bos_token_id"] = bos_token_id;
  if (eos_token_ids.size() == 1) j["eos_token_id"] = eos_token_ids[0];
  else if (!eos_token_ids.empty()) j["eos_token_id"] = eos_token_ids;
  if (rope_scaling.type == "llama3") {
    j["rope_scaling"] = {{"rope_type", "llama3"},
                         {"factor", rope_scaling.factor},
                         {"low_freq_factor", rope_scaling.low_freq_factor},
                         {"high_freq_factor", rope_scaling.high_freq_factor},
                         {"original_max_position_embeddings", rope_scaling.original_max_position_embeddings}};
  }
  return j;
}

}  // namespace r1
