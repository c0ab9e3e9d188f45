#include "r1/model/logprobs.h"

namespace r1 {

using torch::indexing::Slice;

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
                               double temperature, int64_t chunk_rows,
                               torch::Tensor entropy_out /*[R], or empty: not computed*/) {
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
      if (entropy_out.numel() > 0) entropy_out.index_put_({Slice(start, end)}, -(lsm.exp() * lsm).sum(-1));
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
    const auto weight_ct = weight.to(ct);  // converted once, not per chunk                [V, D]
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
      grad_hidden.index_put_({Slice(start, end)}, torch::matmul(grad_logits, weight_ct));
      grad_weight.add_(torch::matmul(grad_logits.t(), h.to(ct)));
    }
    return {grad_hidden.to(hidden.scalar_type()), grad_weight.to(weight.scalar_type()), torch::Tensor(),
            torch::Tensor(), torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace

TokenLogProbs chunked_token_logprobs(const torch::Tensor& hidden, const torch::Tensor& weight,
                                     const torch::Tensor& targets, double temperature, bool with_entropy,
                                     int64_t chunk_rows) {
  const auto n = hidden.size(0), t = hidden.size(1), d = hidden.size(2);
  auto flat_h = hidden.reshape({n * t, d});       // [N*T, D]
  auto flat_t = targets.reshape({n * t}).to(torch::kLong);  // [N*T]
  // autograd::Function takes no undefined tensors: an empty one stands for "not asked for".
  auto entropy = torch::empty({with_entropy ? n * t : 0}, hidden.options().dtype(compute_type(hidden)));  // [N*T]
  if (temperature <= 0) temperature = 1.0;
  auto logp = ChunkedLogProbFn::apply(flat_h, weight, flat_t, temperature, chunk_rows, entropy);
  return {logp.view({n, t}), with_entropy ? entropy.view({n, t}) : torch::Tensor()};
}

}  // namespace r1
