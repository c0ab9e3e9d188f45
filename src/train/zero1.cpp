#include "r1/train/zero1.h"

#include "r1/dist/world.h"
#include "r1/train/adamw.h"

namespace r1 {

FlatLayout::FlatLayout(const std::vector<torch::Tensor>& params) {
  for (const auto& p : params) {
    offsets.push_back(total);
    total += p.numel();
  }
}

ZeroShard::ZeroShard(const std::vector<torch::Tensor>& params, Communicator& comm, bool masters)
    : comm_(comm), layout_(params), masters_(masters), steps_(params.size(), 0), params_(params) {
  const auto [lo, hi] = rank_share(static_cast<std::size_t>(layout_.total), comm.rank(), comm.size());
  lo_ = static_cast<int64_t>(lo);
  hi_ = static_cast<int64_t>(hi);
  for (const auto& p : params) {
    if (!p.is_contiguous() || p.scalar_type() != params.front().scalar_type())
      throw std::logic_error("sharded optimizer: parameters must be contiguous and of one dtype");
  }
  auto f32 = torch::TensorOptions().dtype(torch::kFloat32).device(params.front().device());
  exp_avg_ = torch::zeros({hi_ - lo_}, f32);
  exp_avg_sq_ = torch::zeros({hi_ - lo_}, f32);
  if (masters_) {
    torch::NoGradGuard no_grad;
    master_ = torch::empty({hi_ - lo_}, f32);
    layout_.for_each_overlap(params_, lo_, hi_, [&](std::size_t i, int64_t in_param, int64_t in_shard, int64_t n) {
      master_.narrow(0, in_shard, n).copy_(params_[i].reshape(-1).narrow(0, in_param, n));
    });
  }
}

double ZeroShard::step(const std::vector<torch::Tensor>& params, const std::vector<torch::Tensor>& grads,
                       const std::vector<bool>& present, double lr, const OptimConfig& cfg) {
  torch::NoGradGuard no_grad;
  // This rank's slice of every parameter that got a gradient, of that gradient and of the state.
  std::vector<torch::Tensor> p, g, m, v;
  std::vector<std::size_t> owner;  // the parameter of each slice
  layout_.for_each_overlap(params, lo_, hi_, [&](std::size_t i, int64_t in_param, int64_t in_shard, int64_t n) {
    if (!present[i]) return;
    g.push_back(grads[i].reshape(-1).narrow(0, in_param, n).to(torch::kFloat32));
    p.push_back(masters_ ? master_.narrow(0, in_shard, n) : params[i].view(-1).narrow(0, in_param, n));
    m.push_back(exp_avg_.narrow(0, in_shard, n));
    v.push_back(exp_avg_sq_.narrow(0, in_shard, n));
    owner.push_back(i);
  });
  // The whole gradient's norm: each rank's squared slice norms, summed over the ranks, one read.
  auto squares = squared_norm(g, exp_avg_.options());
  comm_.all_reduce_sum(squares);
  const double norm = std::sqrt(squares.item<double>());
  if (!std::isfinite(norm)) return norm;  // every rank sees the same norm and skips
  clip_to_norm(g, norm, cfg.max_grad_norm);
  for (std::size_t i = 0; i < params.size(); ++i) steps_[i] += present[i] ? 1 : 0;
  std::vector<int64_t> slice_steps;
  for (std::size_t i : owner) slice_steps.push_back(steps_[i]);
  adamw_update_by_step(p, g, m, v, slice_steps, lr, cfg);
  if (masters_) {
    layout_.for_each_overlap(params, lo_, hi_, [&](std::size_t i, int64_t in_param, int64_t in_shard, int64_t n) {
      params[i].view(-1).narrow(0, in_param, n).copy_(master_.narrow(0, in_shard, n));
    });
  }
  // Every rank gets every updated slice: flat buckets of about 25 MB in the model's dtype, each
  // rank filling its own part (zeros elsewhere) and summed over the ranks.
  const auto options = params.front().options();
  const int64_t total = layout_.total;
  const int64_t bucket = std::max<int64_t>(1, (int64_t{25} << 20) / static_cast<int64_t>(params.front().element_size()));
  for (int64_t b0 = 0; b0 < total; b0 += bucket) {
    const int64_t b1 = std::min(total, b0 + bucket);
    auto buffer = torch::zeros({b1 - b0}, options);
    const int64_t mine_lo = std::max(b0, lo_), mine_hi = std::min(b1, hi_);
    if (mine_lo < mine_hi) {
      layout_.for_each_overlap(params, mine_lo, mine_hi, [&](std::size_t i, int64_t in_param, int64_t at, int64_t n) {
        buffer.narrow(0, mine_lo - b0 + at, n).copy_(params[i].view(-1).narrow(0, in_param, n));
      });
    }
    comm_.all_reduce_sum(buffer);
    layout_.for_each_overlap(params, b0, b1, [&](std::size_t i, int64_t in_param, int64_t at, int64_t n) {
      params[i].view(-1).narrow(0, in_param, n).copy_(buffer.narrow(0, at, n));
    });
  }
  return norm;
}

FlatState ZeroShard::state() const {
  FlatState s;
  s.steps = steps_;
  s.exp_avg = exp_avg_.cpu();
  s.exp_avg_sq = exp_avg_sq_.cpu();
  if (masters_) s.master = master_.cpu();
  return s;
}

void ZeroShard::load(const FlatState& state) {
  torch::NoGradGuard no_grad;
  steps_ = state.steps;
  exp_avg_.copy_(state.exp_avg);
  exp_avg_sq_.copy_(state.exp_avg_sq);
  if (masters_) master_.copy_(state.master);
}

}  // namespace r1
