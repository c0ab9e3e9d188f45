#include "r1/model/lora.h"

#include <ATen/CPUGeneratorImpl.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <regex>
#include <set>

#include "r1/core/error.h"
#include "r1/core/output_file.h"
#include "r1/model/safetensors.h"

namespace r1 {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

constexpr const char* kPrefix = "base_model.model.";  // PEFT's prefix for the wrapped model

// Every linear layer of the model with its module name ("model.layers.0.self_attn.q_proj").
std::vector<std::pair<std::string, std::shared_ptr<LinearImpl>>> linear_layers(CausalLM& model) {
  std::vector<std::pair<std::string, std::shared_ptr<LinearImpl>>> out;
  for (const auto& item : model->named_modules("", /*include_self=*/false)) {
    if (auto linear = std::dynamic_pointer_cast<LinearImpl>(item.value())) out.emplace_back(item.key(), linear);
  }
  return out;
}

std::string kind_of(const std::string& module) { return module.substr(module.rfind('.') + 1); }

std::string shape_str(at::IntArrayRef s) { return fmt::format("[{}]", fmt::join(s.begin(), s.end(), ", ")); }

constexpr const char* kNoLmHead =
    "lm_head cannot carry an adapter here: r1train computes log-probs from its weight directly (the chunked LM "
    "head); adapt the layers' modules";

// Which linear layers `targets` selects: "all-linear" (every one but lm_head), or kinds by name;
// only in the listed layers when `layers` is not empty (PEFT's layers_to_transform).
bool targeted(const std::string& module, const std::vector<std::string>& targets, const std::vector<int>& layers = {}) {
  if (module == "lm_head") return false;
  if (!layers.empty() && std::none_of(layers.begin(), layers.end(), [&](int l) {
        return module.find(fmt::format("layers.{}.", l)) != std::string::npos;
      }))
    return false;
  return std::any_of(targets.begin(), targets.end(),
                     [&](const std::string& t) { return t == "all-linear" || t == kind_of(module); });
}

LinearImpl::Adapter empty_adapter(const LinearImpl& linear, const LoraConfig& cfg) {
  LinearImpl::Adapter a;
  const auto options = linear.weight.options();
  a.A = torch::zeros({cfg.r, linear.weight.size(1)}, options);
  a.B = torch::zeros({linear.weight.size(0), cfg.r}, options);
  a.scaling = lora_scaling(cfg);
  a.dropout = cfg.dropout;
  return a;
}

void check_targets(CausalLM& model, const std::vector<std::string>& targets, const std::string& where) {
  const auto kinds = linear_module_kinds(model);
  for (const auto& t : targets) {
    if (t == "lm_head") throw InputError(fmt::format("{}: {}", where, kNoLmHead));
    if (t != "all-linear" && std::find(kinds.begin(), kinds.end(), t) == kinds.end())
      throw InputError(fmt::format("{}: '{}' is not a linear module of this model; its linear modules are {} "
                                   "(or all-linear)",
                                   where, t, fmt::join(linear_module_kinds(model), ", ")));
  }
}

}  // namespace

std::vector<std::string> linear_module_kinds(CausalLM& model) {
  std::vector<std::string> kinds;
  for (const auto& [name, linear] : linear_layers(model)) {
    const auto kind = kind_of(name);
    if (name != "lm_head" && std::find(kinds.begin(), kinds.end(), kind) == kinds.end()) kinds.push_back(kind);
  }
  return kinds;
}

double lora_scaling(const LoraConfig& cfg) {
  return cfg.use_rslora ? cfg.alpha / std::sqrt(static_cast<double>(cfg.r)) : cfg.alpha / static_cast<double>(cfg.r);
}

void add_lora(CausalLM& model, const LoraConfig& cfg, uint64_t seed) {
  check_targets(model, cfg.target_modules, "lora.target_modules");
  auto generator = at::detail::createCPUGenerator(seed);
  torch::NoGradGuard no_grad;
  for (auto& [name, linear] : linear_layers(model)) {
    if (!targeted(name, cfg.target_modules)) continue;
    auto a = empty_adapter(*linear, cfg);
    const double bound = 1.0 / std::sqrt(static_cast<double>(linear->weight.size(1)));  // Kaiming-uniform, a = sqrt(5)
    auto u = torch::rand({cfg.r, linear->weight.size(1)}, generator, torch::kFloat32);  // [r, in] in [0, 1)
    a.A.copy_(u * (2 * bound) - bound);
    a.A.requires_grad_(true);
    a.B.requires_grad_(true);
    linear->lora = std::move(a);
  }
}

bool has_lora(CausalLM& model) {
  for (const auto& [name, linear] : linear_layers(model))
    if (linear->lora) return true;
  return false;
}

std::vector<std::pair<std::string, torch::Tensor>> lora_tensors(CausalLM& model) {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (const auto& [name, linear] : linear_layers(model)) {
    if (!linear->lora) continue;
    out.emplace_back(kPrefix + name + ".lora_A.weight", linear->lora->A);
    out.emplace_back(kPrefix + name + ".lora_B.weight", linear->lora->B);
  }
  return out;
}

std::vector<torch::Tensor> lora_parameters(CausalLM& model) {
  std::vector<torch::Tensor> out;
  for (const auto& [name, t] : lora_tensors(model)) out.push_back(t);
  return out;
}

namespace {
void set_lora_enabled(CausalLM& model, bool enabled) {
  for (auto& [name, linear] : linear_layers(model))
    if (linear->lora) linear->lora->enabled = enabled;
}
}  // namespace

LoraBypass::LoraBypass(CausalLM& model) : model_(model) { set_lora_enabled(model_, false); }
LoraBypass::~LoraBypass() { set_lora_enabled(model_, true); }

void save_adapter(CausalLM& model, const LoraConfig& cfg, const fs::path& dir, const std::string& base_model) {
  fs::create_directories(dir);
  std::vector<std::string> kinds;  // what is adapted, as module kinds (PEFT saves the resolved set)
  std::vector<std::pair<std::string, torch::Tensor>> tensors;
  std::set<int> layers;  // which layers carry adapters (PEFT's layers_to_transform when not all)
  for (const auto& [name, linear] : linear_layers(model)) {
    if (!linear->lora) continue;
    if (std::find(kinds.begin(), kinds.end(), kind_of(name)) == kinds.end()) kinds.push_back(kind_of(name));
    if (int l = 0; std::sscanf(name.c_str(), "model.layers.%d.", &l) == 1) layers.insert(l);
    tensors.emplace_back(kPrefix + name + ".lora_A.weight", linear->lora->A.detach().to(torch::kFloat32).cpu());
    tensors.emplace_back(kPrefix + name + ".lora_B.weight", linear->lora->B.detach().to(torch::kFloat32).cpu());
  }
  json config = {{"peft_type", "LORA"},
                 {"task_type", "CAUSAL_LM"},
                 {"base_model_name_or_path", base_model},
                 {"r", cfg.r},
                 {"lora_alpha", cfg.alpha},
                 {"lora_dropout", cfg.dropout},
                 {"target_modules", kinds},
                 {"use_rslora", cfg.use_rslora},
                 {"bias", "none"},
                 {"fan_in_fan_out", false},
                 {"inference_mode", true},
                 {"init_lora_weights", true},
                 {"modules_to_save", nullptr},
                 {"layers_to_transform", static_cast<int64_t>(layers.size()) == model->config().num_hidden_layers
                                             ? json(nullptr)
                                             : json(std::vector<int>(layers.begin(), layers.end()))},
                 {"use_dora", false},
                 {"revision", nullptr}};
  write_file(dir / "adapter_config.json", config.dump(2) + "\n");
  write_safetensors(dir / "adapter_model.safetensors", tensors);
}

LoraConfig load_adapter(CausalLM& model, const fs::path& dir) {
  const fs::path config_file = dir / "adapter_config.json", weights_file = dir / "adapter_model.safetensors";
  for (const auto& f : {config_file, weights_file}) {
    if (!fs::is_regular_file(f))
      throw InputError(fmt::format("{}: not found; an adapter directory holds adapter_config.json and "
                                   "adapter_model.safetensors (PEFT's layout)",
                                   f.string()));
  }
  std::ifstream in(config_file);
  const json j = json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) throw InputError(config_file.string() + ": not valid JSON");
  const auto text = [&](const char* key, const std::string& fallback) {
    return j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : fallback;
  };
  const auto unsupported = [&](const std::string& what) {
    throw InputError(fmt::format("{}: {}; r1train loads plain LoRA adapters (bias none, no DoRA, one rank and "
                                 "alpha for every layer)",
                                 config_file.string(), what));
  };
  if (text("peft_type", "LORA") != "LORA") unsupported("peft_type is " + text("peft_type", ""));
  if (text("bias", "none") != "none") unsupported("bias is " + text("bias", ""));
  if (j.value("use_dora", false)) unsupported("use_dora is true");
  for (const char* key : {"rank_pattern", "alpha_pattern"})
    if (j.contains(key) && j[key].is_object() && !j[key].empty()) unsupported(fmt::format("{} is set", key));
  std::vector<int> only_layers;  // PEFT's layers_to_transform: a layer index or a list of them
  if (j.contains("layers_to_transform") && j["layers_to_transform"].is_number_integer())
    only_layers.push_back(j["layers_to_transform"].get<int>());
  else if (j.contains("layers_to_transform") && j["layers_to_transform"].is_array())
    for (const auto& l : j["layers_to_transform"]) only_layers.push_back(l.get<int>());
  if (!j.contains("r") || !j["r"].is_number_integer() || j["r"].get<int>() <= 0)
    throw InputError(config_file.string() + ": 'r' must be a whole number > 0");
  LoraConfig cfg;
  cfg.r = j["r"].get<int>();
  cfg.alpha = j.contains("lora_alpha") && j["lora_alpha"].is_number() ? j["lora_alpha"].get<double>() : 8.0;  // PEFT's default
  cfg.dropout = j.contains("lora_dropout") && j["lora_dropout"].is_number() ? j["lora_dropout"].get<double>() : 0.0;
  cfg.use_rslora = j.value("use_rslora", false);
  std::optional<std::regex> pattern;  // PEFT: a string is a regex over the whole module name
  if (j.contains("target_modules") && j["target_modules"].is_array()) {
    cfg.target_modules = j["target_modules"].get<std::vector<std::string>>();
  } else if (j.contains("target_modules") && j["target_modules"].is_string() &&
             j["target_modules"].get<std::string>() != "all-linear") {
    pattern.emplace(j["target_modules"].get<std::string>());
    cfg.target_modules.clear();
  } else {
    cfg.target_modules = {"all-linear"};
  }

  const SafetensorsFile file = SafetensorsFile::open(weights_file);
  auto layers = linear_layers(model);
  std::map<std::string, std::shared_ptr<LinearImpl>> by_name(layers.begin(), layers.end());
  // Every tensor names a linear layer of this model, as lora_A or lora_B.
  for (const auto& e : file.entries()) {
    std::string module = e.name;
    if (module.starts_with(kPrefix)) module = module.substr(std::string(kPrefix).size());
    std::string which;
    for (const char* suffix : {".lora_A.weight", ".lora_B.weight", ".lora_A.default.weight", ".lora_B.default.weight"}) {
      if (module.ends_with(suffix)) {
        which = std::string(suffix).substr(1, 6);
        module = module.substr(0, module.size() - std::string(suffix).size());
        break;
      }
    }
    if (module == "lm_head") throw InputError(fmt::format("{}: tensor '{}': {}", weights_file.string(), e.name, kNoLmHead));
    auto it = by_name.find(module);
    if (which.empty() || it == by_name.end())
      throw InputError(fmt::format("{}: tensor '{}' is not a LoRA weight of a linear module of this model (is the "
                                   "adapter for another base model?)",
                                   weights_file.string(), e.name));
    LinearImpl& linear = *it->second;
    if (!linear.lora) linear.lora = empty_adapter(linear, cfg);
    auto& target = which == "lora_A" ? linear.lora->A : linear.lora->B;
    if (e.shape != target.sizes().vec())
      throw InputError(fmt::format("{}: tensor '{}' has shape {}; this model with r = {} needs {} (the adapter was "
                                   "made for another base model, or adapter_config.json's r is wrong)",
                                   weights_file.string(), e.name, shape_str(e.shape), cfg.r,
                                   shape_str(target.sizes())));
    torch::NoGradGuard no_grad;
    target.copy_(file.view(e));
  }
  // ... and every targeted layer got both of its tensors.
  for (const auto& [name, linear] : layers) {
    const bool wanted = pattern ? std::regex_match(name, *pattern) : targeted(name, cfg.target_modules, only_layers);
    if (wanted && !linear->lora)
      throw InputError(fmt::format("{}: no tensors for module '{}', which adapter_config.json targets",
                                   weights_file.string(), name));
    if (!linear->lora) continue;
    for (const char* which : {"lora_A", "lora_B"}) {
      const auto name_a = fmt::format("{}{}.{}.weight", kPrefix, name, which);
      if (!file.find(name_a) && !file.find(fmt::format("{}{}.{}.default.weight", kPrefix, name, which)))
        throw InputError(fmt::format("{}: tensor '{}' is missing", weights_file.string(), name_a));
    }
    linear->lora->A.requires_grad_(true);
    linear->lora->B.requires_grad_(true);
  }
  if (pattern) cfg.target_modules = linear_module_kinds(model);
  return cfg;
}

namespace {

// W + scaling * B A for one adapted layer, in float32 and then W's dtype: [out, in].
torch::Tensor merged_weight(const LinearImpl& linear) {
  const auto& a = *linear.lora;
  auto delta = torch::matmul(a.B.detach().to(torch::kFloat32), a.A.detach().to(torch::kFloat32)) * a.scaling;
  return (linear.weight.detach().to(torch::kFloat32) + delta).to(linear.weight.scalar_type());
}

}  // namespace

std::vector<std::pair<std::string, torch::Tensor>> merged_tensors(CausalLM& model) {
  torch::NoGradGuard no_grad;
  std::map<std::string, torch::Tensor> merged;
  for (const auto& [name, linear] : linear_layers(model))
    if (linear->lora) merged[name + ".weight"] = merged_weight(*linear);
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (const auto& item : model->named_parameters(/*recurse=*/true)) {
    auto it = merged.find(item.key());
    out.emplace_back(item.key(), it != merged.end() ? it->second : item.value().detach());
  }
  return out;
}

void merge_lora(CausalLM& model) {
  torch::NoGradGuard no_grad;
  for (auto& [name, linear] : linear_layers(model)) {
    if (!linear->lora) continue;
    linear->weight.copy_(merged_weight(*linear));
    linear->lora.reset();
  }
}

}  // namespace r1
