// LoRA adapters on a CausalLM's linear layers (unmerged low-rank path), in PEFT's file layout, and merging them.
#pragma once

#include <torch/torch.h>

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "r1/core/config.h"
#include "r1/model/decoder.h"

namespace r1 {

// The kinds of linear module the model has ("q_proj", "k_proj", ...; lm_head excluded, as PEFT's
// all-linear excludes the output layer), in first-seen order.
std::vector<std::string> linear_module_kinds(CausalLM& model);

// scaling = alpha / r, or alpha / sqrt(r) with use_rslora.
double lora_scaling(const LoraConfig& cfg);

// Adds a fresh adapter to every linear layer whose kind is in cfg.target_modules ("all-linear":
// every one but lm_head), as PEFT initialises them: A ~ U(-1/sqrt(in), 1/sqrt(in)) (Kaiming-uniform
// with a = sqrt(5)), drawn from a generator seeded with `seed`, and B = 0, so that the adapted
// model starts as the base exactly. InputError for a kind the model lacks, listing the model's.
void add_lora(CausalLM& model, const LoraConfig& cfg, uint64_t seed);

bool has_lora(CausalLM& model);
// The adapters' tensors under PEFT's names, in module order:
// base_model.model.<module>.lora_A.weight [r, in] and base_model.model.<module>.lora_B.weight [out, r].
std::vector<std::pair<std::string, torch::Tensor>> lora_tensors(CausalLM& model);
// The A and B of every adapter (what LoRA training optimises), in the order of lora_tensors.
std::vector<torch::Tensor> lora_parameters(CausalLM& model);
// While it lives, every adapter of `model` is bypassed: the model is its base (the KL reference
// with LoRA). The adapters are on again when it ends, an exception included.
class LoraBypass {
 public:
  explicit LoraBypass(CausalLM& model);
  ~LoraBypass();
  LoraBypass(const LoraBypass&) = delete;
  LoraBypass& operator=(const LoraBypass&) = delete;

 private:
  CausalLM& model_;
};

// Writes `dir`/adapter_config.json (peft_type LORA, task_type CAUSAL_LM, r, lora_alpha,
// lora_dropout, target_modules, use_rslora, bias none, base_model_name_or_path) and
// `dir`/adapter_model.safetensors (lora_tensors, float32).
void save_adapter(CausalLM& model, const LoraConfig& cfg, const std::filesystem::path& dir,
                  const std::string& base_model);

// Reads an adapter directory in PEFT's layout into `model` (adapters created from its
// adapter_config.json, tensors converted to the model's dtype). Returns the settings read.
// InputError naming the file for: missing files, settings r1train does not support (bias other
// than none, DoRA, per-layer rank/alpha patterns), a tensor for a module the model lacks, a
// missing tensor, or a shape that differs (the tensor and both shapes: the adapter was made for
// another base).
LoraConfig load_adapter(CausalLM& model, const std::filesystem::path& dir);

// The model's named parameters with each adapted weight replaced by W + scaling * B A (float32
// arithmetic, W's dtype): what merge_lora would make, leaving the model as it is.
std::vector<std::pair<std::string, torch::Tensor>> merged_tensors(CausalLM& model);

// Folds every adapter into its weight, W + scaling * B A computed in float32 and stored in W's
// dtype, and removes the adapters: a plain model.
void merge_lora(CausalLM& model);

}  // namespace r1
