// The rollout engine's device side: per-slot decode state in fixed-shape tensors, one decode step, CUDA graphs.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <map>
#include <memory>
#include <vector>

#include "r1/generation/sampler.h"
#include "r1/model/decoder.h"

namespace r1 {

// What the host learns from one step: one small copy of [rows, 3] float64 per step.
struct StepResult {
  const double* data = nullptr;  // row r: token id, log-prob, 1 when the log-prob is NaN/Inf (NaN/Inf logits)
  int64_t rows = 0;
  int64_t token(int64_t r) const { return static_cast<int64_t>(data[r * 3]); }
  float logprob(int64_t r) const { return static_cast<float>(data[r * 3 + 1]); }
  bool nonfinite(int64_t r) const { return data[r * 3 + 2] != 0; }
};

// A new occupant of a slot, prefilled by DecodeSlots::fill.
struct SlotFill {
  int64_t slot = 0;
  const std::vector<int>* prompt = nullptr;  // non-empty
  int64_t budget = 0;                        // completion tokens at most
  SampleStream stream;
};

// `capacity_rows` slots of `capacity` cache positions each, decoded together one token per
// step. Everything a step reads or writes lives on the device at a fixed address: the token each
// slot feeds next, its first cache slot (`start`: prompts are left-aligned to a common prefill
// width), the slot the token goes to, tokens generated, budget, a finished flag (end id or
// budget: the slot stops advancing), its sampling stream and, with a repetition penalty, the
// tokens it has seen. A step over the first `rows` slots attends `slots` cache positions: on CUDA
// always the capacity, captured once per row count as a CUDA graph and replayed; on the CPU
// eagerly, over the positions in use. Slots past those the host assigned are computed and
// ignored (static shapes); the host reads one [rows, 3] copy per step, non-blocking into
// pinned memory on CUDA.
class DecodeSlots {
 public:
  // `forcing`: steps may feed tokens the host chose (set_forced) instead of the sampled ones, for
  // tool answers in multi-turn rollouts.
  DecodeSlots(CausalLM& model, int64_t capacity_rows, int64_t capacity, const SamplingOptions& sampling,
              const std::vector<int>& end_ids, bool forcing = false);
  ~DecodeSlots();

  // Prefills prompt[:-1] of each fill once per distinct prompt (consecutive fills with the same
  // prompt pointer share it), copies it into the fills' slots, and resets their state: the
  // first step feeds the prompt's last token and samples the completion's first.
  void fill(const std::vector<SlotFill>& fills);
  // Moves slots `from` (ascending order not required) to slots [0, from.size()).
  void compact(const std::vector<int64_t>& from);

  // Forcing only. For the next launch, slot r emits forced[r] (>= 0) instead of sampling: it is
  // still fed and advanced like a sampled token, never ends the slot as an end id, and its log-prob
  // reads 0. forced.size() is the launch's row count.
  void set_forced(const std::vector<int64_t>& forced);
  // Forcing only. Stops `slot` advancing (as a finished one) while its tool call runs.
  void pause(int64_t slot);
  // Forcing only. Restarts `slot`: the next step feeds `token` at cache position `position`, with
  // `generated` tokens already counted against the budget.
  void resume(int64_t slot, int64_t token, int64_t position, int64_t generated);

  // Launches one step over slots [0, rows) attending `slots` cache positions (ignored on CUDA,
  // where it is the capacity). Returns the step's result, which stays readable until the
  // second launch after this one (wait() first on CUDA).
  void launch(int64_t rows, int64_t slots);
  // The result of the oldest launched step not yet waited for (blocks until it is on the host).
  StepResult wait();

 private:
  void step_eager(int64_t rows, int64_t slots);  // writes out_ rows [0, rows)

  CausalLM& model_;
  int64_t capacity_rows_, capacity_;
  SamplingOptions sampling_;
  torch::Device device_;
  SlotCache cache_;
  Rotary rope_;                  // [capacity, D]
  torch::Tensor enders_;         // [E] int64
  torch::Tensor tokens_, start_, slot_, generated_, budget_;  // [R] int64
  torch::Tensor finished_;       // [R] bool
  torch::Tensor streams_;        // [R, 2] int64
  torch::Tensor seen_;           // [R, V] bool (repetition penalty only)
  torch::Tensor forced_;         // [R] int64, -1 = sample (forcing only)
  torch::Tensor out_;            // [R, 3] float64 on the device
  torch::Tensor logits_;         // [R, V] in the model's dtype: the LM head's output, reused every step
  std::vector<torch::Tensor> host_;  // 2 x [R, 3] float64 (pinned on CUDA)
  std::vector<int64_t> host_rows_;   // rows of each launched, not yet waited step (ring of 2)
  int launched_ = 0, waited_ = 0;
  bool graphs_ = false;
  struct Cuda;                   // CUDA graphs and events (R1_WITH_CUDA only)
  std::unique_ptr<Cuda> cuda_;
};

}  // namespace r1
