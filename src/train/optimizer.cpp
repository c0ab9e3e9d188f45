#include "r1/train/optimizer.h"

#include <torch/version.h>

#include <spdlog/spdlog.h>

#include <cmath>
#include <cstdio>
#include <map>
#include <numbers>
#include <sstream>

#include "r1/core/error.h"
#include "r1/core/output_file.h"
#include "r1/dist/world.h"
#include "r1/train/optimizer_state.h"

namespace r1 {

double scheduled_lr(const OptimConfig& cfg, int64_t update, int64_t total_updates) {
  if (update < cfg.warmup_steps) {
    return cfg.lr * static_cast<double>(update + 1) / static_cast<double>(cfg.warmup_steps + 1);
  }
  int64_t decay_steps = std::max<int64_t>(1, total_updates - cfg.warmup_steps);
  double progress = std::clamp(static_cast<double>(update - cfg.warmup_steps) / static_cast<double>(decay_steps), 0.0, 1.0);
  switch (cfg.schedule) {
    case Schedule::Constant: return cfg.lr;
    case Schedule::Linear: return cfg.lr * (1.0 - progress);
    case Schedule::Cosine: return cfg.lr * 0.5 * (1.0 + std::cos(std::numbers::pi * progress));
  }
  return cfg.lr;
}

TrainingMemory training_memory(const std::vector<torch::Tensor>& params, int shards) {
  TrainingMemory m;
  bool masters = false;
  for (const auto& p : params) {
    m.parameters += p.numel();
    m.weights += p.numel() * static_cast<int64_t>(p.element_size());
    masters = masters || p.scalar_type() != torch::kFloat32;
  }
  m.gradients = m.weights + (masters ? 4 * m.parameters : 0);  // float32 sums beside the model-dtype gradients
  const int64_t n = std::max(1, shards);
  m.moments = (8 * m.parameters + n - 1) / n;
  m.masters = masters ? (4 * m.parameters + n - 1) / n : 0;
  return m;
}


Optimizer::Optimizer(std::vector<torch::Tensor> params, const OptimConfig& cfg, int64_t total_updates,
                     Communicator* comm, bool shard)
    : params_(std::move(params)), got_gradient_(params_.size(), false), cfg_(cfg), total_updates_(total_updates),
      comm_(comm && comm->distributed() ? comm : nullptr) {
  use_masters_ = std::any_of(params_.begin(), params_.end(),
                             [](const torch::Tensor& p) { return p.scalar_type() != torch::kFloat32; });
  if (shard && comm_ && !params_.empty()) {
    shard_ = std::make_unique<ZeroShard>(params_, *comm_, use_masters_);
    return;
  }
  if (use_masters_) {
    for (const auto& p : params_) masters_.push_back(p.detach().to(torch::kFloat32).clone().requires_grad_(true));
  } else {
    masters_ = params_;
  }
  auto options = torch::optim::AdamWOptions(cfg.lr)
                     .betas({cfg.betas.at(0), cfg.betas.at(1)})
                     .eps(cfg.eps)
                     .weight_decay(cfg.weight_decay);
  adamw_ = std::make_unique<torch::optim::AdamW>(masters_, options);
}

Optimizer::~Optimizer() = default;

void Optimizer::zero_grad() {
  for (auto& p : params_) p.mutable_grad() = torch::Tensor();
  for (auto& m : masters_) m.mutable_grad() = torch::Tensor();
  accumulated_.clear();
  std::fill(got_gradient_.begin(), got_gradient_.end(), false);
  filled_ = false;
}

void Optimizer::note_gradients() {
  if (filled_) return;  // gradients() has put zeros where none arrived: those do not count
  for (std::size_t i = 0; i < params_.size(); ++i)
    if (params_[i].grad().defined() || (i < accumulated_.size() && accumulated_[i].defined())) got_gradient_[i] = true;
}

void Optimizer::accumulate_gradients() {
  if (!use_masters_) return;
  torch::NoGradGuard no_grad;
  note_gradients();
  accumulated_.resize(params_.size());
  for (std::size_t i = 0; i < params_.size(); ++i) {
    auto& g = params_[i].mutable_grad();
    if (!g.defined()) continue;
    if (accumulated_[i].defined()) accumulated_[i].add_(g);  // float32 += model dtype, in float32
    else accumulated_[i] = g.to(torch::kFloat32, /*non_blocking=*/false, /*copy=*/true);
    g = torch::Tensor();  // the next backward starts a fresh gradient in the model's dtype
  }
}

std::vector<torch::Tensor> Optimizer::gradients() {
  torch::NoGradGuard no_grad;
  note_gradients();
  std::vector<torch::Tensor> out;
  if (use_masters_) {
    accumulate_gradients();  // the last micro-batch's, if the caller has not folded it yet
    filled_ = true;
    for (std::size_t i = 0; i < params_.size(); ++i) {
      if (!accumulated_[i].defined()) accumulated_[i] = torch::zeros_like(params_[i], torch::kFloat32);
      out.push_back(accumulated_[i]);
    }
    return out;
  }
  filled_ = true;
  for (auto& p : params_) {
    if (!p.grad().defined()) p.mutable_grad() = torch::zeros_like(p);
    out.push_back(p.grad());
  }
  return out;
}

std::vector<bool> Optimizer::gradient_present() {
  note_gradients();
  if (!comm_ || params_.empty()) return got_gradient_;
  // Any rank's gradient counts: the flags' maximum over the ranks (every rank then agrees).
  std::vector<int32_t> mine(got_gradient_.begin(), got_gradient_.end());
  auto flags = torch::tensor(mine, torch::kInt32).to(params_.front().device());  // [P]
  comm_->all_reduce_max(flags);
  flags = flags.cpu();
  std::vector<bool> out(params_.size());
  for (std::size_t i = 0; i < params_.size(); ++i) out[i] = flags.data_ptr<int32_t>()[i] != 0;
  return out;
}

OptimizerStep Optimizer::step(int64_t update) {
  OptimizerStep out;
  out.lr = scheduled_lr(cfg_, update, total_updates_);
  torch::NoGradGuard no_grad;
  const std::vector<bool> present = gradient_present();
  if (shard_) {
    out.grad_norm = shard_->step(params_, gradients(), present, out.lr, cfg_);
    out.applied = std::isfinite(out.grad_norm);
    return out;
  }
  if (use_masters_) {
    const auto grads = gradients();  // float32 sums of the micro-batches
    for (std::size_t i = 0; i < params_.size(); ++i) masters_[i].mutable_grad() = grads[i];
  }
  std::vector<torch::Tensor> params, grads;  // the parameters AdamW updates, and their gradients
  for (std::size_t i = 0; i < masters_.size(); ++i) {
    if (!present[i] || !masters_[i].grad().defined()) continue;
    params.push_back(masters_[i]);
    grads.push_back(masters_[i].grad());
  }
  out.grad_norm = std::sqrt(squared_norm(grads, torch::TensorOptions()).item<double>());
  if (!std::isfinite(out.grad_norm)) {
    adamw_->zero_grad();
    return out;
  }
  clip_to_norm(grads, out.grad_norm, cfg_.max_grad_norm);
  for (auto& group : adamw_->param_groups()) static_cast<torch::optim::AdamWOptions&>(group.options()).lr(out.lr);
  adamw_step(params, grads, out.lr);
  if (use_masters_) {
    for (std::size_t i = 0; i < params_.size(); ++i)
      if (present[i]) params_[i].copy_(masters_[i]);
  }
  out.applied = true;
  return out;
}

void Optimizer::adamw_step(const std::vector<torch::Tensor>& params, const std::vector<torch::Tensor>& grads,
                           double lr) {
  // The moments stay in AdamW's own state, so optimizer.pt keeps its format.
  std::vector<torch::Tensor> exp_avg(params.size()), exp_avg_sq(params.size());
  std::vector<int64_t> steps(params.size());
  auto& states = adamw_->state();
  for (std::size_t i = 0; i < params.size(); ++i) {
    auto& slot = states[adamw_state_key(params[i])];
    if (!slot) {
      auto fresh = std::make_unique<torch::optim::AdamWParamState>();
      fresh->step(0);
      fresh->exp_avg(torch::zeros_like(params[i], torch::MemoryFormat::Preserve));
      fresh->exp_avg_sq(torch::zeros_like(params[i], torch::MemoryFormat::Preserve));
      slot = std::move(fresh);
    }
    auto& state = static_cast<torch::optim::AdamWParamState&>(*slot);
    state.step(state.step() + 1);
    exp_avg[i] = state.exp_avg();
    exp_avg_sq[i] = state.exp_avg_sq();
    steps[i] = state.step();
  }
  adamw_update_by_step(params, grads, exp_avg, exp_avg_sq, steps, lr, cfg_);
}

void Optimizer::save(const std::filesystem::path& dir) {
  if (shard_) {
    // Rank 0 writes every shard into its checkpoint: the other ranks need no shared file system.
    const int size = shard_->comm().size();
    write_file(dir / shard_file_name(0, size), shard_bytes(shard_->state(), shard_->lo(), shard_->hi(), shard_->layout().total));
    for (int r = 1; r < size; ++r) write_file(dir / shard_file_name(r, size), shard_->comm().receive_bytes(r));
    return;
  }
  torch::serialize::OutputArchive archive;
  adamw_->save(archive);
  if (use_masters_) {
    for (std::size_t i = 0; i < masters_.size(); ++i) archive.write("master." + std::to_string(i), masters_[i]);
  }
  write_file(dir / "optimizer.pt", archive_bytes(archive));
}

void Optimizer::save_shard() {
  if (shard_ && !shard_->comm().is_main())
    shard_->comm().send_bytes(shard_bytes(shard_->state(), shard_->lo(), shard_->hi(), shard_->layout().total), 0);
}

void Optimizer::load_flat(const FlatState& flat) {
  // Each parameter's state from the flat vectors (a sharded checkpoint read by one process).
  const FlatLayout layout(params_);
  for (std::size_t i = 0; i < params_.size(); ++i) {
    const auto n = params_[i].numel();
    const auto offset = layout.offsets[i];
    auto state = std::make_unique<torch::optim::AdamWParamState>();
    state->step(flat.steps[i]);
    state->exp_avg(flat.exp_avg.narrow(0, offset, n).view(params_[i].sizes()).to(masters_[i].device()).clone());
    state->exp_avg_sq(flat.exp_avg_sq.narrow(0, offset, n).view(params_[i].sizes()).to(masters_[i].device()).clone());
    adamw_->state()[adamw_state_key(masters_[i])] = std::move(state);
    if (use_masters_) masters_[i].copy_(flat.master.narrow(0, offset, n).view(params_[i].sizes()));
  }
}

void Optimizer::load(const std::filesystem::path& dir) {
  const auto file = dir / "optimizer.pt";
  try {
    const auto shards = shard_files(dir);
    if (shards.empty() && !std::filesystem::is_regular_file(file))
      throw InputError(file.string() + ": optimizer state not found; the checkpoint is incomplete");
    torch::NoGradGuard no_grad;
    if (shards.empty() && !shard_) {  // the layout this optimizer writes: AdamW's own archive
      torch::serialize::InputArchive archive;
      archive.load_from(file.string());
      adamw_->load(archive);
      if (use_masters_) {
        for (std::size_t i = 0; i < masters_.size(); ++i) {
          torch::Tensor m;
          archive.read("master." + std::to_string(i), m);
          masters_[i].copy_(m);
        }
      }
      return;
    }
    const FlatLayout layout(params_);
    const int64_t lo = shard_ ? shard_->lo() : 0, hi = shard_ ? shard_->hi() : layout.total;
    const int ranks = shard_ ? shard_->comm().size() : 1;
    FlatState flat;
    if (!shards.empty()) {
      flat = read_shards(shards, params_, layout, lo, hi, use_masters_);
      if (static_cast<int>(shards.size()) != ranks)
        spdlog::info("optimizer state: {} shards written by {} ranks, re-sharded for {}", shards.size(), shards.size(),
                     ranks == 1 ? std::string("one process") : fmt::format("{} ranks", ranks));
    } else {
      flat = read_adamw_archive(file, params_, layout, lo, hi, use_masters_);  // unsharded, read by a sharded run
    }
    if (shard_) shard_->load(flat);
    else load_flat(flat);
  } catch (const c10::Error& e) {
    throw InputError(file.parent_path().string() + ": cannot read optimizer state (" + e.msg() +
                     "); it was written for a different model or is corrupt");
  }
}

}  // namespace r1
