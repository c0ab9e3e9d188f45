#include "r1/grpo.h"

#include <torch/torch.h>

#include "r1/error.h"

namespace r1 {

using torch::indexing::Slice;

torch::Tensor group_std(const torch::Tensor& rewards, int group_size) {
  auto grouped = rewards.to(torch::kFloat64).view({-1, group_size});  // [B, G]
  return grouped.std(/*dim=*/1, /*unbiased=*/true);                 // [B]
}

torch::Tensor compute_advantages(const torch::Tensor& rewards, int group_size, const std::string& scale_rewards,
                                 double eps) {
  TORCH_CHECK(rewards.dim() == 1 && rewards.size(0) % group_size == 0, "rewards must be [B*G]");
  auto r = rewards.to(torch::kFloat64);
  auto grouped = r.view({-1, group_size});                                       // [B, G]
  auto centred = (grouped - grouped.mean(1, /*keepdim=*/true)).reshape({-1});    // [B*G]
  if (scale_rewards == "none") return centred.to(torch::kFloat32);
  torch::Tensor std;
  if (scale_rewards == "group") {
    std = grouped.std(1, /*unbiased=*/true, /*keepdim=*/true).expand_as(grouped).reshape({-1});  // [B*G]
  } else if (scale_rewards == "batch") {
    std = r.std(/*unbiased=*/true).expand_as(centred);
  } else {
    throw InputError("grpo.scale_rewards: unknown value '" + scale_rewards + "'");
  }
  return (centred / (std + eps)).to(torch::kFloat32);
}

torch::Tensor kl_estimate(const torch::Tensor& logp, const torch::Tensor& ref_logp, const std::string& estimator) {
  auto log_ratio = ref_logp - logp;  // log(pi_ref / pi)
  if (estimator == "k1") return -log_ratio;
  if (estimator == "k2") return 0.5 * log_ratio.pow(2);
  if (estimator == "k3") return torch::exp(log_ratio) - log_ratio - 1;
  throw InputError("grpo.kl_estimator: unknown value '" + estimator + "'");
}

torch::Tensor LossNormalizer::token_weights(const torch::Tensor& mask) const {
  if (loss_type == "grpo") {
    // Mean over each sequence's tokens, then over the step's sequences.
    auto len = mask.sum(1, /*keepdim=*/true).clamp_min(1.0);  // [N, 1]
    return mask / (len * static_cast<double>(total_sequences));
  }
  if (loss_type == "bnpo") {
    // Mean over the micro-batch's tokens, averaged over micro-batches.
    return mask / (mask.sum().clamp_min(1.0) * static_cast<double>(num_micro_batches));
  }
  if (loss_type == "dr_grpo") {
    return mask / static_cast<double>(total_sequences * max_new_tokens);
  }
  if (loss_type == "dapo") {
    return mask / static_cast<double>(std::max<int64_t>(total_tokens, 1));
  }
  throw InputError("grpo.loss_type: unknown value '" + loss_type + "'");
}

PolicyLossOutput policy_loss(const PolicyLossInput& in, const GrpoConfig& cfg, const LossNormalizer& norm) {
  auto mask = in.mask.to(torch::kFloat32);               // [N, T]
  auto adv = in.advantages.to(torch::kFloat32).unsqueeze(1);  // [N, 1]
  auto ratio = torch::exp(in.logp - in.old_logp);        // [N, T]
  auto clipped = torch::clamp(ratio, 1.0 - cfg.epsilon, 1.0 + cfg.epsilon_high);
  auto per_token = -torch::min(ratio * adv, clipped * adv);  // [N, T]
  torch::Tensor kl;
  auto total = per_token;
  if (cfg.beta > 0) {
    TORCH_CHECK(in.ref_logp.defined(), "beta > 0 needs reference log-probs");
    kl = kl_estimate(in.logp, in.ref_logp, cfg.kl_estimator);
    total = per_token + cfg.beta * kl;
  }
  auto weights = norm.token_weights(mask);
  PolicyLossOutput out;
  out.loss = (total * weights).sum();
  torch::NoGradGuard no_grad;
  out.tokens = mask.sum().item<double>();
  out.policy_loss = (per_token * mask).sum().item<double>();
  out.kl = kl.defined() ? (kl * mask).sum().item<double>() : 0.0;
  auto low = (ratio < 1.0 - cfg.epsilon).logical_and(adv < 0).to(torch::kFloat32);
  auto high = (ratio > 1.0 + cfg.epsilon_high).logical_and(adv > 0).to(torch::kFloat32);
  out.clipped_low = (low * mask).sum().item<double>();
  out.clipped_high = (high * mask).sum().item<double>();
  return out;
}

namespace {

// Log-softmax runs in float32 at least (float64 inputs stay float64).
torch::ScalarType compute_type(const torch::Tensor& t) {
  return t.scalar_type() == torch::kFloat64 ? torch::kFloat64 : torch::kFloat32;
}

// Autograd function for chunked_token_logprobs: saves hidden, weight and targets,
// and recomputes each chunk's logits in backward.
struct ChunkedLogProbFn : public torch::autograd::Function<ChunkedLogProbFn> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& hidden /*[R,D]*/,
                               const torch::Tensor& weight /*[V,D]*/, const torch::Tensor& targets /*[R]*/,
                               double temperature, int64_t chunk_rows, torch::Tensor entropy_out /*[R]*/) {
    torch::NoGradGuard no_grad;
    const int64_t rows = hidden.size(0);
    const auto ct = compute_type(hidden);
    auto logp = torch::empty({rows}, hidden.options().dtype(ct));
    for (int64_t start = 0; start < rows; start += chunk_rows) {
      int64_t end = std::min(rows, start + chunk_rows);
      auto logits = torch::matmul(hidden.index({Slice(start, end)}), weight.t()).to(ct) / temperature;  // [C, V]
      auto lsm = torch::log_softmax(logits, -1);                                                 // [C, V]
      auto tgt = targets.index({Slice(start, end)}).unsqueeze(1);                               // [C, 1]
      logp.index_put_({Slice(start, end)}, lsm.gather(1, tgt).squeeze(1));
      entropy_out.index_put_({Slice(start, end)}, -(lsm.exp() * lsm).sum(-1));
    }
    ctx->save_for_backward({hidden, weight, targets});
    ctx->saved_data["temperature"] = temperature;
    ctx->saved_data["chunk_rows"] = chunk_rows;
    return logp;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad_outputs) {
    auto saved = ctx->get_saved_variables();
    auto hidden = saved[0], weight = saved[1], targets = saved[2];
    double temperature = ctx->saved_data["temperature"].toDouble();
    int64_t chunk_rows = ctx->saved_data["chunk_rows"].toInt();
    const auto ct = compute_type(hidden);
    auto grad_logp = grad_outputs[0].to(ct);  // [R]
    const int64_t rows = hidden.size(0);
    auto grad_hidden = torch::zeros(hidden.sizes(), hidden.options().dtype(ct));  // [R, D]
    auto grad_weight = torch::zeros(weight.sizes(), weight.options().dtype(ct));  // [V, D]
    for (int64_t start = 0; start < rows; start += chunk_rows) {
      int64_t end = std::min(rows, start + chunk_rows);
      auto h = hidden.index({Slice(start, end)});
      auto logits = torch::matmul(h, weight.t()).to(ct) / temperature;  // [C, V]
      auto probs = torch::softmax(logits, -1);                                      // [C, V]
      // d logp[t] / d logits = onehot(t) - softmax, scaled by 1/temperature.
      auto g = grad_logp.index({Slice(start, end)}).unsqueeze(1);                   // [C, 1]
      auto grad_logits = -probs * g;
      grad_logits.scatter_add_(1, targets.index({Slice(start, end)}).unsqueeze(1), g);
      grad_logits.div_(temperature);                                                // [C, V]
      grad_hidden.index_put_({Slice(start, end)}, torch::matmul(grad_logits, weight.to(ct)));
      grad_weight.add_(torch::matmul(grad_logits.t(), h.to(ct)));
    }
    return {grad_hidden.to(hidden.scalar_type()), grad_weight.to(weight.scalar_type()), torch::Tensor(),
            torch::Tensor(), torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace

TokenLogProbs chunked_token_logprobs(const torch::Tensor& hidden, const torch::Tensor& weight,
                                     const torch::Tensor& targets, double temperature, int64_t chunk_rows) {
  const auto n = hidden.size(0), t = hidden.size(1), d = hidden.size(2);
  auto flat_h = hidden.reshape({n * t, d});       // [N*T, D]
  auto flat_t = targets.reshape({n * t}).to(torch::kLong);  // [N*T]
  auto entropy = torch::empty({n * t}, hidden.options().dtype(compute_type(hidden)));
  if (temperature <= 0) temperature = 1.0;
  auto logp = ChunkedLogProbFn::apply(flat_h, weight, flat_t, temperature, chunk_rows, entropy);
  return {logp.view({n, t}), entropy.view({n, t})};
}

}  // namespace r1
