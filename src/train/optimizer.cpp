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
#include "r1/model/torch_features.h"

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

namespace {

// Where each parameter starts in the flat vector of all parameters, and that vector's length.
std::vector<int64_t> flat_offsets(const std::vector<torch::Tensor>& params, int64_t& total) {
  std::vector<int64_t> offsets;
  total = 0;
  for (const auto& p : params) {
    offsets.push_back(total);
    total += p.numel();
  }
  return offsets;
}

// Calls fn(param, first element in the parameter, first element in [lo, hi), count) for every
// parameter that overlaps flat range [lo, hi).
template <class Fn>
void for_each_overlap(const std::vector<torch::Tensor>& params, const std::vector<int64_t>& offsets, int64_t lo,
                      int64_t hi, Fn&& fn) {
  for (std::size_t i = 0; i < params.size(); ++i) {
    const int64_t begin = std::max(lo, offsets[i]), end = std::min(hi, offsets[i] + params[i].numel());
    if (begin < end) fn(i, begin - offsets[i], begin - lo, end - begin);
  }
}

std::string shard_file_name(int rank, int size) { return fmt::format("optimizer.rank-{}-of-{}.pt", rank, size); }

}  // namespace

bool fused_adamw_available(const torch::Device& device) {
  if (device.is_cuda()) return R1_HAS_FUSED_ADAMW_CUDA != 0;
  return device.is_cpu() && R1_HAS_FUSED_ADAMW_CPU != 0;
}

void adamw_update(std::vector<torch::Tensor>& p, std::vector<torch::Tensor>& g, std::vector<torch::Tensor>& m,
                  std::vector<torch::Tensor>& v, int64_t step, double lr, const OptimConfig& cfg, bool fused) {
  if (p.empty()) return;
  const double beta1 = cfg.betas.at(0), beta2 = cfg.betas.at(1);
  if (fused) {
#if R1_HAS_FUSED_ADAMW_CUDA
    TORCH_CHECK(fused_adamw_available(p.front().device()), "no fused AdamW kernel for ", p.front().device());
    // The kernel reads the update count from a float32 tensor per parameter (one shared here).
    auto count = torch::full({}, static_cast<double>(step), p.front().options().dtype(torch::kFloat32));
    std::vector<torch::Tensor> steps(p.size(), count);
    at::_fused_adamw_(p, g, m, v, /*max_exp_avg_sqs=*/{}, steps, lr, beta1, beta2, cfg.weight_decay, cfg.eps,
                      /*amsgrad=*/false, /*maximize=*/false);
    return;
#else
    throw std::logic_error("adamw_update: this libtorch has no fused AdamW");
#endif
  }
  // torch::optim::AdamW::step's arithmetic, in the same order, as foreach ops over every tensor at
  // once instead of a loop of per-parameter kernels.
  if (cfg.weight_decay != 0) at::_foreach_mul_(p, 1 - lr * cfg.weight_decay);  // decoupled weight decay
  const double bias_correction1 = 1 - std::pow(beta1, static_cast<double>(step));
  const double bias_correction2 = 1 - std::pow(beta2, static_cast<double>(step));
  at::_foreach_mul_(m, beta1);
  at::_foreach_add_(m, g, 1 - beta1);                 // m = beta1 m + (1 - beta1) g
  at::_foreach_mul_(v, beta2);
  at::_foreach_addcmul_(v, g, g, 1 - beta2);          // v = beta2 v + (1 - beta2) g^2
  auto denom = at::_foreach_sqrt(v);
  at::_foreach_div_(denom, std::sqrt(bias_correction2));
  at::_foreach_add_(denom, cfg.eps);                  // sqrt(v / bc2) + eps
  at::_foreach_addcdiv_(p, m, denom, -lr / bias_correction1);  // p -= lr / bc1 * m / denom
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

// This rank's slice [lo, hi) of the flat parameter vector and the AdamW state of that slice.
struct Optimizer::Shard {
  Communicator* comm = nullptr;
  std::vector<int64_t> offsets;  // of each parameter in the flat vector
  int64_t total = 0, lo = 0, hi = 0;
  torch::Tensor master, exp_avg, exp_avg_sq;  // [hi - lo] float32 on the device; master only for non-float32 models
  int64_t step = 0;                           // AdamW updates applied
};

Optimizer::Optimizer(std::vector<torch::Tensor> params, const OptimConfig& cfg, int64_t total_updates,
                     Communicator* shard_over)
    : params_(std::move(params)), cfg_(cfg), total_updates_(total_updates) {
  use_masters_ = std::any_of(params_.begin(), params_.end(),
                             [](const torch::Tensor& p) { return p.scalar_type() != torch::kFloat32; });
  if (shard_over && shard_over->distributed() && !params_.empty()) {
    shard_ = std::make_unique<Shard>();
    shard_->comm = shard_over;
    shard_->offsets = flat_offsets(params_, shard_->total);
    const auto [lo, hi] = rank_share(static_cast<std::size_t>(shard_->total), shard_over->rank(), shard_over->size());
    shard_->lo = static_cast<int64_t>(lo);
    shard_->hi = static_cast<int64_t>(hi);
    for (const auto& p : params_) {
      if (!p.is_contiguous() || p.scalar_type() != params_.front().scalar_type())
        throw std::logic_error("sharded optimizer: parameters must be contiguous and of one dtype");
    }
    auto f32 = torch::TensorOptions().dtype(torch::kFloat32).device(params_.front().device());
    shard_->exp_avg = torch::zeros({shard_->hi - shard_->lo}, f32);
    shard_->exp_avg_sq = torch::zeros({shard_->hi - shard_->lo}, f32);
    if (use_masters_) {
      torch::NoGradGuard no_grad;
      shard_->master = torch::empty({shard_->hi - shard_->lo}, f32);
      for_each_overlap(params_, shard_->offsets, shard_->lo, shard_->hi,
                       [&](std::size_t i, int64_t in_param, int64_t in_shard, int64_t n) {
                         shard_->master.narrow(0, in_shard, n).copy_(params_[i].reshape(-1).narrow(0, in_param, n));
                       });
    }
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
  for (auto& p : params_) {
    if (p.grad().defined()) p.mutable_grad().zero_();
  }
  accumulated_.clear();
}

void Optimizer::accumulate_gradients() {
  if (!use_masters_) return;
  torch::NoGradGuard no_grad;
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
  std::vector<torch::Tensor> out;
  if (use_masters_) {
    accumulate_gradients();  // the last micro-batch's, if the caller has not folded it yet
    for (std::size_t i = 0; i < params_.size(); ++i) {
      if (!accumulated_[i].defined()) accumulated_[i] = torch::zeros_like(params_[i], torch::kFloat32);
      out.push_back(accumulated_[i]);
    }
    return out;
  }
  for (auto& p : params_) {
    if (!p.grad().defined()) p.mutable_grad() = torch::zeros_like(p);
    out.push_back(p.grad());
  }
  return out;
}

OptimizerStep Optimizer::step(int64_t update) {
  if (shard_) return sharded_step(update);
  OptimizerStep out;
  out.lr = scheduled_lr(cfg_, update, total_updates_);
  torch::NoGradGuard no_grad;
  if (use_masters_) {
    const auto grads = gradients();  // float32 sums of the micro-batches
    for (std::size_t i = 0; i < params_.size(); ++i) masters_[i].mutable_grad() = grads[i];
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

OptimizerStep Optimizer::sharded_step(int64_t update) {
  OptimizerStep out;
  out.lr = scheduled_lr(cfg_, update, total_updates_);
  torch::NoGradGuard no_grad;
  Shard& s = *shard_;
  // This rank's slice of every parameter, of its (already summed) gradient and of the state.
  std::vector<torch::Tensor> p, g, m, v;
  const auto grads = gradients();
  for_each_overlap(params_, s.offsets, s.lo, s.hi, [&](std::size_t i, int64_t in_param, int64_t in_shard, int64_t n) {
    g.push_back(grads[i].reshape(-1).narrow(0, in_param, n).to(torch::kFloat32));
    p.push_back(use_masters_ ? s.master.narrow(0, in_shard, n) : params_[i].view(-1).narrow(0, in_param, n));
    m.push_back(s.exp_avg.narrow(0, in_shard, n));
    v.push_back(s.exp_avg_sq.narrow(0, in_shard, n));
  });
  // The whole gradient's norm: each rank's squared slice norms, summed over the ranks, one read.
  auto squares = g.empty() ? torch::zeros({}, s.exp_avg.options().dtype(torch::kFloat64))
                           : torch::stack(at::_foreach_norm(g, 2)).to(torch::kFloat64).pow(2).sum();
  s.comm->all_reduce_sum(squares);
  out.grad_norm = std::sqrt(squares.item<double>());
  if (!std::isfinite(out.grad_norm)) return out;  // every rank sees the same norm and skips
  if (cfg_.max_grad_norm > 0 && out.grad_norm > cfg_.max_grad_norm)
    at::_foreach_mul_(g, cfg_.max_grad_norm / (out.grad_norm + 1e-6));
  ++s.step;
  if (!p.empty()) adamw_update(p, g, m, v, s.step, out.lr, cfg_, p.front().is_cuda() && fused_adamw_available(p.front().device()));
  if (use_masters_) {
    for_each_overlap(params_, s.offsets, s.lo, s.hi, [&](std::size_t i, int64_t in_param, int64_t in_shard, int64_t n) {
      params_[i].view(-1).narrow(0, in_param, n).copy_(s.master.narrow(0, in_shard, n));
    });
  }
  // Every rank gets every updated slice: flat buckets of about 25 MB in the model's dtype, each
  // rank filling its own part (zeros elsewhere) and summed over the ranks.
  const auto options = params_.front().options();
  const int64_t bucket = std::max<int64_t>(1, (int64_t{25} << 20) / static_cast<int64_t>(params_.front().element_size()));
  for (int64_t b0 = 0; b0 < s.total; b0 += bucket) {
    const int64_t b1 = std::min(s.total, b0 + bucket);
    auto buffer = torch::zeros({b1 - b0}, options);
    const int64_t mine_lo = std::max(b0, s.lo), mine_hi = std::min(b1, s.hi);
    if (mine_lo < mine_hi) {
      for_each_overlap(params_, s.offsets, mine_lo, mine_hi, [&](std::size_t i, int64_t in_param, int64_t at, int64_t n) {
        buffer.narrow(0, mine_lo - b0 + at, n).copy_(params_[i].view(-1).narrow(0, in_param, n));
      });
    }
    s.comm->all_reduce_sum(buffer);
    for_each_overlap(params_, s.offsets, b0, b1, [&](std::size_t i, int64_t in_param, int64_t at, int64_t n) {
      params_[i].view(-1).narrow(0, in_param, n).copy_(buffer.narrow(0, at, n));
    });
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
  // The moments stay in AdamW's own state, so optimizer.pt keeps its format.
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
    adamw_update(p, g, m, v, step, lr, cfg_, p.front().is_cuda() && fused_adamw_available(p.front().device()));
  }
}

namespace {

// Serialised in memory first: libtorch's file writer throws from its destructor when the disk
// fills, which would end the process; this way a failed write is an ordinary WriteError.
std::string archive_bytes(torch::serialize::OutputArchive& archive) {
  std::ostringstream bytes;
  archive.save_to(bytes);
  return bytes.str();
}

// AdamW's state over flat range [lo, hi) of the parameters, on the CPU.
struct FlatState {
  int64_t step = 0;
  torch::Tensor exp_avg, exp_avg_sq, master;  // [hi - lo] float32; master undefined when not saved
};

// The shards one sharded save wrote: optimizer.rank-R-of-N.pt for R in [0, N). Empty when the
// directory holds none; InputError when some are missing.
std::vector<std::filesystem::path> shard_files(const std::filesystem::path& dir) {
  int size = 0;
  int found = 0;
  if (std::filesystem::is_directory(dir)) {
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
      int r = 0, n = 0;
      if (std::sscanf(e.path().filename().c_str(), "optimizer.rank-%d-of-%d.pt", &r, &n) == 2) {
        size = std::max(size, n);
        ++found;
      }
    }
  }
  std::vector<std::filesystem::path> files;
  for (int r = 0; r < size; ++r) {
    files.push_back(dir / shard_file_name(r, size));
    if (!std::filesystem::is_regular_file(files.back()))
      throw InputError(fmt::format("{}: missing; the optimizer state of this checkpoint was written as {} shards and "
                                   "this one is lost (the checkpoint is incomplete)",
                                   files.back().string(), size));
  }
  if (found != size)
    throw InputError(fmt::format("{}: optimizer shards of different runs are mixed ({} files, expected {})",
                                 dir.string(), found, size));
  return files;
}

// [lo, hi) of the shards' flat state; the shards must cover `total` elements.
FlatState read_shards(const std::vector<std::filesystem::path>& files, int64_t total, int64_t lo, int64_t hi,
                      bool masters) {
  FlatState out;
  out.exp_avg = torch::zeros({hi - lo});
  out.exp_avg_sq = torch::zeros({hi - lo});
  if (masters) out.master = torch::zeros({hi - lo});
  const int size = static_cast<int>(files.size());
  for (int r = 0; r < size; ++r) {
    const auto [slo, shi] = rank_share(static_cast<std::size_t>(total), r, size);
    const int64_t begin = std::max<int64_t>(lo, static_cast<int64_t>(slo)), end = std::min<int64_t>(hi, static_cast<int64_t>(shi));
    const auto& file = files[static_cast<std::size_t>(r)];
    torch::serialize::InputArchive archive;
    archive.load_from(file.string());
    torch::Tensor range, step, m, v;
    archive.read("range", range);
    archive.read("step", step);
    const auto* rg = range.data_ptr<int64_t>();
    if (rg[2] != total || rg[0] != static_cast<int64_t>(slo) || rg[1] != static_cast<int64_t>(shi))
      throw InputError(fmt::format("{}: holds elements [{}, {}) of {} parameters; this model has {} parameters, so "
                                   "the checkpoint was written for a different model",
                                   file.string(), rg[0], rg[1], rg[2], total));
    out.step = step.item<int64_t>();
    if (begin >= end) continue;
    archive.read("exp_avg", m);
    archive.read("exp_avg_sq", v);
    out.exp_avg.narrow(0, begin - lo, end - begin).copy_(m.narrow(0, begin - rg[0], end - begin));
    out.exp_avg_sq.narrow(0, begin - lo, end - begin).copy_(v.narrow(0, begin - rg[0], end - begin));
    if (masters) {
      torch::Tensor w;
      archive.read("master", w);
      out.master.narrow(0, begin - lo, end - begin).copy_(w.narrow(0, begin - rg[0], end - begin));
    }
  }
  return out;
}

}  // namespace

std::string Optimizer::shard_bytes() const {
  const Shard& s = *shard_;
  torch::serialize::OutputArchive archive;
  archive.write("range", torch::tensor({s.lo, s.hi, s.total}, torch::kInt64));
  archive.write("step", torch::tensor({s.step}, torch::kInt64));
  archive.write("exp_avg", s.exp_avg.cpu());
  archive.write("exp_avg_sq", s.exp_avg_sq.cpu());
  if (use_masters_) archive.write("master", s.master.cpu());
  return archive_bytes(archive);
}

void Optimizer::save(const std::filesystem::path& dir) {
  if (shard_) {
    // Rank 0 writes every shard into its checkpoint: the other ranks need no shared file system.
    const int size = shard_->comm->size();
    write_file(dir / shard_file_name(0, size), shard_bytes());
    for (int r = 1; r < size; ++r) write_file(dir / shard_file_name(r, size), shard_->comm->receive_bytes(r));
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
  if (shard_ && !shard_->comm->is_main()) shard_->comm->send_bytes(shard_bytes(), 0);
}

void Optimizer::load(const std::filesystem::path& dir) {
  const auto file = dir / "optimizer.pt";
  try {
    const auto shards = shard_files(dir);
    if (shards.empty() && !std::filesystem::is_regular_file(file))
      throw InputError(file.string() + ": optimizer state not found; the checkpoint is incomplete");
    torch::NoGradGuard no_grad;
    int64_t total = 0;
    const auto offsets = flat_offsets(params_, total);
    const int64_t lo = shard_ ? shard_->lo : 0, hi = shard_ ? shard_->hi : total;
    const int ranks = shard_ ? shard_->comm->size() : 1;
    FlatState flat;
    if (!shards.empty()) {
      flat = read_shards(shards, total, lo, hi, use_masters_);
      if (static_cast<int>(shards.size()) != ranks)
        spdlog::info("optimizer state: {} shards written by {} ranks, re-sharded for {}", shards.size(), shards.size(),
                     ranks == 1 ? std::string("one process") : fmt::format("{} ranks", ranks));
    } else if (!shard_) {
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
    } else {
      // An unsharded checkpoint read by a sharded run: AdamW's archive read into CPU copies of the
      // parameters, then this rank's slice taken.
      std::vector<torch::Tensor> copies;
      for (const auto& p : params_) copies.push_back(torch::zeros(p.sizes(), torch::kFloat32).requires_grad_(true));
      torch::optim::AdamW reader(copies);
      torch::serialize::InputArchive archive;
      archive.load_from(file.string());
      reader.load(archive);
      flat.exp_avg = torch::zeros({hi - lo});
      flat.exp_avg_sq = torch::zeros({hi - lo});
      if (use_masters_) flat.master = torch::zeros({hi - lo});
      for_each_overlap(params_, offsets, lo, hi, [&](std::size_t i, int64_t in_param, int64_t at, int64_t n) {
        auto it = reader.state().find(state_key(copies[i]));
        if (it != reader.state().end()) {
          auto& st = static_cast<torch::optim::AdamWParamState&>(*it->second);
          flat.step = st.step();
          flat.exp_avg.narrow(0, at, n).copy_(st.exp_avg().reshape(-1).narrow(0, in_param, n));
          flat.exp_avg_sq.narrow(0, at, n).copy_(st.exp_avg_sq().reshape(-1).narrow(0, in_param, n));
        }
        if (use_masters_) {
          torch::Tensor w;
          archive.read("master." + std::to_string(i), w);
          flat.master.narrow(0, at, n).copy_(w.reshape(-1).narrow(0, in_param, n));
        }
      });
    }
    if (shard_) {
      shard_->step = flat.step;
      shard_->exp_avg.copy_(flat.exp_avg);
      shard_->exp_avg_sq.copy_(flat.exp_avg_sq);
      if (use_masters_) shard_->master.copy_(flat.master);
      return;
    }
    // A sharded checkpoint read by one process: each parameter's state from the flat vectors.
    for (std::size_t i = 0; i < params_.size(); ++i) {
      const auto n = params_[i].numel();
      auto state = std::make_unique<torch::optim::AdamWParamState>();
      state->step(flat.step);
      state->exp_avg(flat.exp_avg.narrow(0, offsets[i], n).view(params_[i].sizes()).to(masters_[i].device()).clone());
      state->exp_avg_sq(flat.exp_avg_sq.narrow(0, offsets[i], n).view(params_[i].sizes()).to(masters_[i].device()).clone());
      adamw_->state()[state_key(masters_[i])] = std::move(state);
      if (use_masters_) masters_[i].copy_(flat.master.narrow(0, offsets[i], n).view(params_[i].sizes()));
    }
  } catch (const c10::Error& e) {
    throw InputError(file.parent_path().string() + ": cannot read optimizer state (" + e.msg() +
                     "); it was written for a different model or is corrupt");
  }
}

}  // namespace r1
