#include "r1/rl/reference.h"

#include <spdlog/spdlog.h>

#include "r1/model/device.h"
#include "r1/model/lora.h"

namespace r1 {

KlReference::KlReference(const Config& config, const std::optional<std::filesystem::path>& checkpoint,
                         CausalLM& policy, torch::Device device)
    : beta_(config.grpo.beta),
      ref_sync_every_(config.grpo.ref_sync_every),
      mixup_alpha_(config.grpo.ref_mixup_alpha),
      policy_(policy) {
  if (beta_ <= 0 || config.lora.r > 0) return;
  // A refreshed reference (grpo.ref_sync_every) is saved in the checkpoint and resumes from there.
  std::filesystem::path source = config.model.path;
  if (checkpoint && std::filesystem::exists(*checkpoint / "reference" / "config.json")) source = *checkpoint / "reference";
  copy_ = load_model(source, resolve_dtype(config.model.dtype, device), device);
  if (source != config.model.path) spdlog::info("KL reference resumed from {} (refreshed during the run)", source.string());
  copy_->model->eval();
  for (auto& p : copy_->model->parameters()) p.requires_grad_(false);
}

torch::Tensor KlReference::logprobs(const TrainingBatch& batch, double temperature) {
  if (!active()) return {};
  torch::NoGradGuard no_grad;
  if (copy_) return completion_logprobs(copy_->model, batch, temperature, /*with_entropy=*/false).logp;
  LoraBypass base(policy_);
  return completion_logprobs(policy_, batch, temperature, /*with_entropy=*/false).logp;
}

void KlReference::after_step(int64_t step) {
  if (!copy_ || ref_sync_every_ <= 0 || step % ref_sync_every_ != 0) return;
  torch::NoGradGuard no_grad;
  auto policy = policy_->named_parameters();
  for (auto& item : copy_->model->named_parameters())
    item.value().mul_(1.0 - mixup_alpha_).add_(policy[item.key()], mixup_alpha_);
}

CausalLM* KlReference::weights_to_save(int64_t step) {
  const bool refreshed = copy_ && ref_sync_every_ > 0 && step >= ref_sync_every_;
  return refreshed ? &copy_->model : nullptr;
}

}  // namespace r1
