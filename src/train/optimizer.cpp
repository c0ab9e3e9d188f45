#include "r1/train/optimizer.h"

#include <torch/version.h>

#include <cmath>
#include <map>
#include <numbers>
#include <sstream>

#include "r1/core/error.h"
#include "r1/core/output_file.h"

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

Optimizer::Optimizer(std::vector<torch::Tensor> params, const OptimConfig& cfg, int64_t total_updates)
    : params_(std::move(params)), cfg_(cfg), total_updates_(total_updates) {
  use_masters_ = std::any_of(params_.begin(), params_.end(),
                             [](const torch::Tensor& p) { return p.scalar_type() != torch::kFloat32; });
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

void Optimizer::zero_grad() {
  for (auto& p : params_) {
    if (p.grad().defined()) p.mutable_grad().zero_();
  }
}

OptimizerStep Optimizer::step(int64_t update) {
  OptimizerStep out;
  out.lr = scheduled_lr(cfg_, update, total_updates_);
  torch::NoGradGuard no_grad;
  if (use_masters_) {
    for (std::size_t i = 0; i < params_.size(); ++i) {
      const auto& g = params_[i].grad();
      masters_[i].mutable_grad() = g.defined() ? g.to(torch::kFloat32) : torch::zeros_like(masters_[i]);
    }
  }
  std::vector<torch::Tensor> params, grads;  // the parameters AdamW updates, and their gradients
  for (const auto& m : masters_) {
    if (!m.grad().defined()) continue;
    params.push_back(m);
    grads.push_back(m.grad());
  }
  // Total L2 norm: one foreach reduction over all gradients and one read (one host sync per step).
  if (!grads.empty())
    out.grad_norm = torch::stack(at::_foreach_norm(grads, 2)).to(torch::kFloat64).pow(2).sum().sqrt().item<double>();
  if (!std::isfinite(out.grad_norm)) {
    adamw_->zero_grad();
    return out;
  }
  if (cfg_.max_grad_norm > 0 && out.grad_norm > cfg_.max_grad_norm)
    at::_foreach_mul_(grads, cfg_.max_grad_norm / (out.grad_norm + 1e-6));
  for (auto& group : adamw_->param_groups()) static_cast<torch::optim::AdamWOptions&>(group.options()).lr(out.lr);
  adamw_step(params, grads, out.lr);
  if (use_masters_) {
    for (std::size_t i = 0; i < params_.size(); ++i) params_[i].copy_(masters_[i]);
  }
  out.applied = true;
  return out;
}

namespace {

// torch::optim keys per-parameter state by the tensor's impl: a string in libtorch 1.x, the
// pointer in 2.x.
auto state_key(const torch::Tensor& p) {
#if TORCH_VERSION_MAJOR >= 2
  return static_cast<void*>(p.unsafeGetTensorImpl());
#else
  return c10::guts::to_string(p.unsafeGetTensorImpl());
#endif
}

}  // namespace

void Optimizer::adamw_step(const std::vector<torch::Tensor>& params, const std::vector<torch::Tensor>& grads,
                           double lr) {
  // torch::optim::AdamW::step's arithmetic, in the same order, as foreach ops over every
  // parameter at once instead of a loop of per-parameter kernels. The moments stay in AdamW's
  // own state, so optimizer.pt keeps its format.
  const double beta1 = cfg_.betas.at(0), beta2 = cfg_.betas.at(1);
  std::map<int64_t, std::vector<std::size_t>> by_step;  // parameters with the same step count
  std::vector<torch::Tensor> exp_avg(params.size()), exp_avg_sq(params.size());
  auto& states = adamw_->state();
  for (std::size_t i = 0; i < params.size(); ++i) {
    auto& slot = states[state_key(params[i])];
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
    by_step[state.step()].push_back(i);
  }
  for (const auto& [step, members] : by_step) {
    std::vector<torch::Tensor> p, g, m, v;
    for (std::size_t i : members) {
      p.push_back(params[i]);
      g.push_back(grads[i]);
      m.push_back(exp_avg[i]);
      v.push_back(exp_avg_sq[i]);
    }
    if (cfg_.weight_decay != 0) at::_foreach_mul_(p, 1 - lr * cfg_.weight_decay);  // decoupled weight decay
    const double bias_correction1 = 1 - std::pow(beta1, static_cast<double>(step));
    const double bias_correction2 = 1 - std::pow(beta2, static_cast<double>(step));
    at::_foreach_mul_(m, beta1);
    at::_foreach_add_(m, g, 1 - beta1);                 // m = beta1 m + (1 - beta1) g
    at::_foreach_mul_(v, beta2);
    at::_foreach_addcmul_(v, g, g, 1 - beta2);          // v = beta2 v + (1 - beta2) g^2
    auto denom = at::_foreach_sqrt(v);
    at::_foreach_div_(denom, std::sqrt(bias_correction2));
    at::_foreach_add_(denom, cfg_.eps);                 // sqrt(v / bc2) + eps
    at::_foreach_addcdiv_(p, m, denom, -lr / bias_correction1);  // p -= lr / bc1 * m / denom
  }
}

void Optimizer::save(const std::filesystem::path& file) {
  torch::serialize::OutputArchive archive;
  adamw_->save(archive);
  if (use_masters_) {
    for (std::size_t i = 0; i < masters_.size(); ++i) archive.write("master." + std::to_string(i), masters_[i]);
  }
  // Serialised in memory first: libtorch's file writer throws from its destructor when the disk
  // fills, which would end the process; this way a failed write is an ordinary WriteError.
  std::ostringstream bytes;
  archive.save_to(bytes);
  write_file(file, bytes.str());
}

void Optimizer::load(const std::filesystem::path& file) {
  if (!std::filesystem::is_regular_file(file)) {
    throw InputError(file.string() + ": optimizer state not found; the checkpoint is incomplete");
  }
  try {
    torch::serialize::InputArchive archive;
    archive.load_from(file.string());
    adamw_->load(archive);
    if (use_masters_) {
      torch::NoGradGuard no_grad;
      for (std::size_t i = 0; i < masters_.size(); ++i) {
        torch::Tensor m;
        archive.read("master." + std::to_string(i), m);
        masters_[i].copy_(m);
      }
    }
  } catch (const c10::Error& e) {
    throw InputError(file.string() + ": cannot read optimizer state (" + e.msg() +
                     "); it was written for a different model or is corrupt");
  }
}

}  // namespace r1
