// The KL reference of GRPO's beta term: what the per-token KL penalty pulls the policy toward.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <optional>

#include "r1/core/config.h"
#include "r1/model/decoder.h"
#include "r1/rl/batch.h"

namespace r1 {

// One of three, fixed by the config:
//  - none: grpo.beta == 0; logprobs() returns an undefined tensor.
//  - a frozen copy of model.path's weights, loaded once; with grpo.ref_sync_every it moves toward
//    the policy (ref = alpha policy + (1 - alpha) ref, TR-DPO / TRL's SyncRefModelCallback), and
//    once moved it travels with each checkpoint (checkpoints/step-N/reference/) and resumes from
//    the newest one.
//  - with LoRA (lora.r > 0), the policy itself with its adapters bypassed: no second copy.
class KlReference {
 public:
  // `checkpoint`: the checkpoint this run resumes from, if any (its reference/ wins when present).
  KlReference(const Config& config, const std::optional<std::filesystem::path>& checkpoint, CausalLM& policy,
              torch::Device device);

  bool active() const { return beta_ > 0; }
  // [N, T] log-probs of `batch`'s completions under the reference (no gradient); undefined when
  // inactive.
  torch::Tensor logprobs(const TrainingBatch& batch, double temperature);
  // After step `step`'s updates: the refresh, when grpo.ref_sync_every says it is due.
  void after_step(int64_t step);
  // What checkpoint `step` must hold besides the policy: the reference's weights once they have been
  // refreshed (no longer model.path's), nullptr otherwise.
  CausalLM* weights_to_save(int64_t step);

 private:
  double beta_;
  int ref_sync_every_;
  double mixup_alpha_;
  CausalLM& policy_;
  std::optional<LoadedModel> copy_;  // the frozen copy; empty with LoRA or when inactive
};

}  // namespace r1
