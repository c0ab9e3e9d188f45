#include "r1/train/optimizer.h"

#include <cmath>
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
  // Total L2 norm over all gradients, in float64 for a stable sum.
  double sq = 0.0;
  for (const auto& m : masters_) {
    if (m.grad().defined()) sq += m.grad().to(torch::kFloat64).pow(2).sum().item<double>();
  }
  out.grad_norm = std::sqrt(sq);
  if (!std::isfinite(out.grad_norm)) {
    adamw_->zero_grad();
    return out;
  }
  if (cfg_.max_grad_norm > 0 && out.grad_norm > cfg_.max_grad_norm) {
    double scale = cfg_.max_grad_norm / (out.grad_norm + 1e-6);
    for (auto& m : masters_) {
      if (m.grad().defined()) m.mutable_grad().mul_(scale);
    }
  }
  for (auto& group : adamw_->param_groups()) static_cast<torch::optim::AdamWOptions&>(group.options()).lr(out.lr);
  adamw_->step();
  if (use_masters_) {
    for (std::size_t i = 0; i < params_.size(); ++i) params_[i].copy_(masters_[i]);
  }
  out.applied = true;
  return out;
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
