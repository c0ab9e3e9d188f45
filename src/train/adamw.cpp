#include "r1/train/adamw.h"

#include <cmath>
#include <map>

#include "r1/model/torch_features.h"

namespace r1 {

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

void adamw_update_by_step(const std::vector<torch::Tensor>& p, const std::vector<torch::Tensor>& g,
                          const std::vector<torch::Tensor>& m, const std::vector<torch::Tensor>& v,
                          const std::vector<int64_t>& steps, double lr, const OptimConfig& cfg) {
  std::map<int64_t, std::vector<std::size_t>> by_step;  // tensors with the same update count
  for (std::size_t i = 0; i < p.size(); ++i) by_step[steps[i]].push_back(i);
  for (const auto& [step, members] : by_step) {
    std::vector<torch::Tensor> pp, gg, mm, vv;
    for (std::size_t i : members) {
      pp.push_back(p[i]);
      gg.push_back(g[i]);
      mm.push_back(m[i]);
      vv.push_back(v[i]);
    }
    adamw_update(pp, gg, mm, vv, step, lr, cfg, pp.front().is_cuda() && fused_adamw_available(pp.front().device()));
  }
}

torch::Tensor squared_norm(const std::vector<torch::Tensor>& grads, const torch::TensorOptions& options) {
  // One foreach reduction over all gradients (one host sync per step, when the caller reads it).
  if (grads.empty()) return torch::zeros({}, options.dtype(torch::kFloat64));
  return torch::stack(at::_foreach_norm(grads, 2)).to(torch::kFloat64).pow(2).sum();
}

void clip_to_norm(std::vector<torch::Tensor>& grads, double norm, double max_norm) {
  if (max_norm > 0 && norm > max_norm && !grads.empty()) at::_foreach_mul_(grads, max_norm / (norm + 1e-6));
}

}  // namespace r1
