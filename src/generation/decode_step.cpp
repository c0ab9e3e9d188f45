#include "r1/generation/decode_step.h"

#include <fmt/format.h>

#include "r1/model/device.h"
#include "r1/model/torch_features.h"

#if R1_WITH_CUDA
#include <ATen/cuda/CUDAEvent.h>
#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDAFunctions.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#endif

namespace r1 {

namespace {

// Host values as an int64 tensor on `device`; to CUDA through pinned memory without blocking
// (a pageable copy would synchronise the host with the device).
torch::Tensor to_device(const std::vector<int64_t>& values, torch::Device device) {
  auto t = torch::tensor(values, torch::kInt64);
  if (!device.is_cuda()) return t;
  return t.pin_memory().to(device, /*non_blocking=*/true);
}

}  // namespace

struct DecodeSlots::Cuda {
#if R1_WITH_CUDA
  std::map<int64_t, std::unique_ptr<at::cuda::CUDAGraph>> graphs;  // per row count
  std::map<int64_t, int> eager_steps;                              // per row count, before capture
  at::cuda::CUDAEvent done[2];                                     // one per host buffer
#endif
};

DecodeSlots::DecodeSlots(CausalLM& model, int64_t capacity_rows, int64_t capacity, const SamplingOptions& sampling,
                         const std::vector<int>& end_ids, bool forcing)
    : model_(model), capacity_rows_(capacity_rows), capacity_(capacity), sampling_(sampling),
      device_(model->options().device()), cuda_(std::make_unique<Cuda>()) {
  const int64_t R = capacity_rows;
  cache_ = model->make_slot_cache(R, capacity);
  rope_ = model->rope_table(capacity);
  auto i64 = torch::TensorOptions().dtype(torch::kInt64).device(device_);
  enders_ = to_device(std::vector<int64_t>(end_ids.begin(), end_ids.end()), device_);
  tokens_ = torch::zeros({R}, i64);
  start_ = torch::zeros({R}, i64);
  slot_ = torch::zeros({R}, i64);
  generated_ = torch::zeros({R}, i64);
  budget_ = torch::zeros({R}, i64);
  finished_ = torch::ones({R}, i64.dtype(torch::kBool));  // empty slots count as finished
  streams_ = torch::zeros({R, 2}, i64);
  if (forcing) forced_ = torch::full({R}, -1, i64);
  if (sampling.repetition_penalty != 1.0) seen_ = torch::zeros({R, model->config().vocab_size}, i64.dtype(torch::kBool));
  out_ = torch::zeros({R, 3}, i64.dtype(torch::kFloat64));
  logits_ = torch::empty({R, model->config().vocab_size}, model->options());
  auto host = torch::TensorOptions().dtype(torch::kFloat64).pinned_memory(device_.is_cuda());
  host_ = {torch::zeros({R, 3}, host), torch::zeros({R, 3}, host)};
  host_rows_ = {0, 0};
#if R1_WITH_CUDA
  graphs_ = device_.is_cuda();
#endif
}

DecodeSlots::~DecodeSlots() = default;

void DecodeSlots::fill(const std::vector<SlotFill>& fills) {
  if (fills.empty()) return;
  // Distinct prompts (consecutive fills of one prompt share its prefill) and the prefill width.
  std::vector<const std::vector<int>*> unique;
  std::vector<int64_t> from, to;
  int64_t width = 0;
  for (const auto& f : fills) {
    if (unique.empty() || unique.back() != f.prompt) unique.push_back(f.prompt);
    from.push_back(static_cast<int64_t>(unique.size()) - 1);
    to.push_back(f.slot);
    width = std::max<int64_t>(width, static_cast<int64_t>(f.prompt->size()) - 1);
  }
  const int64_t U = static_cast<int64_t>(unique.size()), k = static_cast<int64_t>(fills.size());
  auto to_index = to_device(to, device_);  // [k]
  if (width > 0) {
    // prompt[:-1], left-padded to `width`: the last prompt token is fed by the first step.
    std::vector<int64_t> ids(static_cast<std::size_t>(U * width), 0), mask(ids.size(), 0);  // [U, width]
    for (int64_t u = 0; u < U; ++u) {
      const auto& p = *unique[static_cast<std::size_t>(u)];
      const int64_t len = static_cast<int64_t>(p.size()) - 1;
      for (int64_t j = 0; j < len; ++j) {
        ids[static_cast<std::size_t>(u * width + width - len + j)] = p[static_cast<std::size_t>(j)];
        mask[static_cast<std::size_t>(u * width + width - len + j)] = 1;
      }
    }
    PrefillCache prefill = model_->make_prefill_cache(U, width);
    model_->forward_cached(to_device(ids, device_).view({U, width}), to_device(mask, device_).view({U, width}), prefill);
    cache_.copy_rows_from(prefill, to_device(from, device_), to_index, width);
  }
  std::vector<int64_t> last(k), start(k), budget(k), streams(2 * k), seen_rows, seen_ids;
  for (int64_t i = 0; i < k; ++i) {
    const auto& f = fills[static_cast<std::size_t>(i)];
    const int64_t len = static_cast<int64_t>(f.prompt->size());
    last[i] = f.prompt->back();
    start[i] = width - (len - 1);
    budget[i] = f.budget;
    streams[2 * i] = f.stream.lo;
    streams[2 * i + 1] = f.stream.hi;
    for (int id : *f.prompt) {
      seen_rows.push_back(f.slot);
      seen_ids.push_back(id);
    }
  }
  auto put = [&](torch::Tensor& state, const std::vector<int64_t>& values) {
    state.index_copy_(0, to_index, to_device(values, device_).view_as(state.narrow(0, 0, k)));
  };
  put(tokens_, last);
  put(start_, start);
  slot_.index_fill_(0, to_index, width);
  generated_.index_fill_(0, to_index, 0);
  put(budget_, budget);
  finished_.index_fill_(0, to_index, false);
  put(streams_, streams);
  if (seen_.defined()) {
    seen_.index_fill_(0, to_index, false);
    seen_.index_put_({to_device(seen_rows, device_), to_device(seen_ids, device_)},
                     torch::scalar_tensor(true, torch::TensorOptions().dtype(torch::kBool).device(device_)));
  }
}

void DecodeSlots::compact(const std::vector<int64_t>& from) {
  const int64_t k = static_cast<int64_t>(from.size());
  if (k == 0) return;
  auto index = to_device(from, device_);
  for (auto* state : {&tokens_, &start_, &slot_, &generated_, &budget_, &finished_, &streams_, &seen_}) {
    if (state->defined()) state->narrow(0, 0, k).copy_(state->index_select(0, index));
  }
  cache_.move_rows_to_front(index);
}

void DecodeSlots::step_eager(int64_t rows, int64_t slots) {
  auto first = [rows](const torch::Tensor& t) { return t.narrow(0, 0, rows); };
  auto h = model_->forward_step(first(tokens_), first(start_), first(slot_), rope_, cache_, slots);  // [rows, width]
  auto logits = first(logits_);  // [rows, V]: the LM head writes into the reused buffer
  torch::mm_out(logits, h, model_->lm_head_weight().t());
  auto generated = first(generated_);
  auto seen = seen_.defined() ? first(seen_) : torch::Tensor();
  SampledTokens s = sample_tokens(logits, sampling_, sampling_uniforms(first(streams_), generated), seen);
  auto ends = (s.tokens.unsqueeze(1) == enders_).any(1);  // [rows]
  if (forced_.defined()) {  // a tool's answer: fed as given, never an end
    auto forced = first(forced_);                          // [rows]
    auto is_forced = forced.ge(0);                         // [rows]
    s.tokens = torch::where(is_forced, forced, s.tokens);
    s.logprobs = s.logprobs.masked_fill(is_forced, 0.0);
    ends = (s.tokens.unsqueeze(1) == enders_).any(1).logical_and(is_forced.logical_not());
  }
  if (seen.defined()) seen.scatter_(1, s.tokens.unsqueeze(1), true);
  auto live = first(finished_).logical_not().to(torch::kInt64);  // [rows]: finished slots stop advancing
  first(tokens_).copy_(s.tokens);
  first(slot_).add_(live);
  generated.add_(live);
  auto ended = ends.logical_or(generated >= first(budget_));  // [rows]
  first(finished_).logical_or_(ended);
  // A NaN or +Inf logit makes the row's logsumexp, hence the chosen log-prob, NaN or infinite.
  auto nonfinite = torch::isfinite(s.logprobs).logical_not();  // [rows]
  first(out_).copy_(torch::stack({s.tokens.to(torch::kFloat64), s.logprobs.to(torch::kFloat64),
                                  nonfinite.to(torch::kFloat64)}, 1));
}

void DecodeSlots::set_forced(const std::vector<int64_t>& forced) {
  TORCH_CHECK(forced_.defined() && static_cast<int64_t>(forced.size()) <= capacity_rows_, "DecodeSlots::set_forced");
  forced_.narrow(0, 0, static_cast<int64_t>(forced.size())).copy_(to_device(forced, device_));
}

void DecodeSlots::pause(int64_t slot) {
  TORCH_CHECK(forced_.defined(), "DecodeSlots::pause: not built for forcing");
  finished_.index_fill_(0, to_device({slot}, device_), true);
}

void DecodeSlots::resume(int64_t slot, int64_t token, int64_t position, int64_t generated) {
  TORCH_CHECK(forced_.defined() && position >= 0 && position < capacity_, "DecodeSlots::resume");
  auto index = to_device({slot}, device_);
  tokens_.index_fill_(0, index, token);
  slot_.index_fill_(0, index, position);
  generated_.index_fill_(0, index, generated);
  finished_.index_fill_(0, index, false);
}

void DecodeSlots::launch(int64_t rows, int64_t slots) {
  TORCH_CHECK(rows >= 1 && rows <= capacity_rows_ && slots >= 1 && slots <= capacity_, "DecodeSlots::launch: bad shape");
  TORCH_CHECK(launched_ - waited_ < 2, "DecodeSlots::launch: two steps already in flight");
  const int k = launched_ % 2;
#if R1_WITH_CUDA
  if (device_.is_cuda()) {
    slots = capacity_;  // one shape per row count
    if (graphs_) {
      auto& graph = cuda_->graphs[rows];
      if (graph) {
        graph->replay();
      } else if (cuda_->eager_steps[rows]++ == 0) {
        step_eager(rows, slots);  // warms up kernels and workspaces before the capture
      } else {
        // Captured on a side stream (capture cannot run on the default one); capturing runs nothing,
        // so the step is then replayed for real.
        CudaSyncDebug capture_sync(CudaSyncDebug::kIntended);  // once per row count, not per step
        c10::cuda::device_synchronize();
        graph = std::make_unique<at::cuda::CUDAGraph>();
        {
          c10::cuda::CUDAStreamGuard side(c10::cuda::getStreamFromPool());
          graph->capture_begin();
          step_eager(rows, slots);
          graph->capture_end();
        }
        c10::cuda::device_synchronize();
        graph->replay();
      }
    } else {
      step_eager(rows, slots);
    }
    host_[k].narrow(0, 0, rows).copy_(out_.narrow(0, 0, rows), /*non_blocking=*/true);
    cuda_->done[k].record(c10::cuda::getCurrentCUDAStream());
    host_rows_[k] = rows;
    ++launched_;
    return;
  }
#endif
  step_eager(rows, slots);
  host_[k].narrow(0, 0, rows).copy_(out_.narrow(0, 0, rows));
  host_rows_[k] = rows;
  ++launched_;
}

StepResult DecodeSlots::wait() {
  TORCH_CHECK(waited_ < launched_, "DecodeSlots::wait: no step in flight");
  const int k = waited_ % 2;
#if R1_WITH_CUDA
  if (device_.is_cuda()) cuda_->done[k].synchronize();
#endif
  ++waited_;
  return {host_[k].data_ptr<double>(), host_rows_[static_cast<std::size_t>(k)]};
}

}  // namespace r1
