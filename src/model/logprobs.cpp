#include "r1/model/logprobs.h"

namespace r1 {

using torch::indexing::Slice;

namespace {

// Log-softmax runs in float32 at least (float64 inputs stay float64).
torch::ScalarType compute_type(const torch::Tensor& t) {
  return t.scalar_type() == torch::kFloat64 ? torch::kFloat64 : torch::kFloat32;
}

// Logits of rows h [C, D] against vocabulary rows w [Vb, D], in the compute type, divided by
// the temperature in place: [C, Vb].
torch::Tensor block_logits(const torch::Tensor& h, const torch::Tensor& w, torch::ScalarType ct, double temperature) {
  auto logits = torch::matmul(h, w.t()).to(ct);  // [C, Vb]
  if (temperature != 1.0) logits.div_(temperature);
  return logits;
}

// Logits up to this size are kept from the forward for the backward (one [R, V] tensor, used in
// place), saving the backward's recomputation: 2 LM-head matmuls instead of 3. Larger ones are
// recomputed block by block.
constexpr int64_t kKeepLogitsBytes = int64_t{1} << 30;

// Autograd function for chunked_token_logprobs. Logits exist one [rows chunk x vocabulary
// block] at a time: a block's log-sum-exp (and, for the entropy, its sum of p * logit) are
// combined across blocks, the target's logit is read from the block that holds it. Saves
// hidden, weight, targets, the per-row log-sum-exp and entropy; the backward recomputes each block's
// logits (or, when they fit kKeepLogitsBytes, uses the forward's) and accumulates both gradients
// with addmm_ (no [V, D] temporary per chunk).
struct ChunkedLogProbFn : public torch::autograd::Function<ChunkedLogProbFn> {
  // Returns {logp [R], entropy [R] (or [0] when not asked for)}.
  static torch::autograd::variable_list forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& hidden /*[R,D]*/,
                                                const torch::Tensor& weight /*[V,D]*/, const torch::Tensor& targets /*[R]*/,
                                                double temperature, int64_t chunk_rows, int64_t vocab_block,
                                                int64_t keep_bytes, bool with_entropy) {
    torch::NoGradGuard no_grad;
    // An output nothing downstream uses gets an undefined gradient, not zeros: the backward then
    // skips the entropy's term.
    ctx->set_materialize_grads(false);
    const int64_t rows = hidden.size(0), V = weight.size(0);
    const auto ct = compute_type(hidden);
    const bool keep = (hidden.requires_grad() || weight.requires_grad()) &&
                      rows * V * static_cast<int64_t>(c10::elementSize(ct)) <= keep_bytes;
    torch::Tensor kept;  // [R, V] when keep: the whole vocabulary and every row in one block
    if (keep) {
      chunk_rows = std::max<int64_t>(rows, 1);
      vocab_block = V;
      kept = torch::empty({rows, V}, hidden.options().dtype(ct));
    }
    auto logp = torch::empty({rows}, hidden.options().dtype(ct));       // [R]
    auto log_total = torch::empty({rows}, hidden.options().dtype(ct));  // [R]
    auto entropy_out = torch::empty({with_entropy ? rows : 0}, hidden.options().dtype(ct));  // [R] or [0]
    for (int64_t r0 = 0; r0 < rows; r0 += chunk_rows) {
      const int64_t r1 = std::min(rows, r0 + chunk_rows), C = r1 - r0;
      auto h = hidden.narrow(0, r0, C);                  // [C, D]
      auto tgt = targets.narrow(0, r0, C).unsqueeze(1);  // [C, 1]
      auto target_logit = torch::zeros({C, 1}, logp.options());
      std::vector<torch::Tensor> lse, p_dot_logits;      // per block: [C]
      for (int64_t v0 = 0; v0 < V; v0 += vocab_block) {
        const int64_t Vb = std::min(V, v0 + vocab_block) - v0;
        torch::Tensor logits;  // [C, Vb]
        if (keep && weight.scalar_type() == ct) {
          logits = torch::mm_out(kept, h, weight.t());  // straight into the kept tensor
          if (temperature != 1.0) logits.div_(temperature);
        } else {
          logits = block_logits(h, weight.narrow(0, v0, Vb), ct, temperature);
          if (keep) logits = kept.copy_(logits);
        }
        auto block_lse = torch::logsumexp(logits, -1, /*keepdim=*/true);           // [C, 1]
        lse.push_back(block_lse.squeeze(1));
        if (entropy_out.numel() > 0)
          p_dot_logits.push_back((torch::sub(logits, block_lse).exp_() * logits).sum(-1));  // [C]
        auto inside = (tgt >= v0).logical_and(tgt < v0 + Vb);                       // [C, 1]
        auto value = logits.gather(1, (tgt - v0).clamp(0, Vb - 1));                // [C, 1]
        target_logit = torch::where(inside, value, target_logit);
      }
      auto lse_blocks = torch::stack(lse, 1);                                       // [C, blocks]
      auto total = torch::logsumexp(lse_blocks, 1);                                 // [C]
      log_total.narrow(0, r0, C).copy_(total);
      logp.narrow(0, r0, C).copy_(target_logit.squeeze(1) - total);
      if (entropy_out.numel() > 0) {
        // H = log_total - sum p * logits; a block's share of p is exp(block lse - log_total).
        auto share = (lse_blocks - total.unsqueeze(1)).exp();                        // [C, blocks]
        entropy_out.narrow(0, r0, C).copy_(total - (share * torch::stack(p_dot_logits, 1)).sum(1));
      }
    }
    ctx->save_for_backward({hidden, weight, targets, log_total, entropy_out});  // H per row: the entropy's gradient
    ctx->saved_data["temperature"] = temperature;
    ctx->saved_data["chunk_rows"] = chunk_rows;
    ctx->saved_data["vocab_block"] = vocab_block;
    if (keep) ctx->saved_data["kept_logits"] = kept;
    if (!with_entropy) ctx->mark_non_differentiable({entropy_out});
    return {logp, entropy_out};
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad_outputs) {
    auto saved = ctx->get_saved_variables();
    auto hidden = saved[0], weight = saved[1], targets = saved[2], log_total = saved[3], saved_entropy = saved[4];
    const double temperature = ctx->saved_data["temperature"].toDouble();
    const int64_t chunk_rows = ctx->saved_data["chunk_rows"].toInt();
    const int64_t vocab_block = ctx->saved_data["vocab_block"].toInt();
    // The forward's logits, consumed in place (a graph is backpropagated once).
    const torch::Tensor kept = ctx->saved_data.count("kept_logits") ? ctx->saved_data["kept_logits"].toTensor()
                                                                     : torch::Tensor();
    const auto ct = compute_type(hidden);
    const int64_t rows = hidden.size(0), V = weight.size(0);
    auto grad_logp = grad_outputs[0].defined() ? grad_outputs[0].to(ct) : torch::zeros({rows}, hidden.options().dtype(ct));  // [R]
    // The entropy's gradient, when a loss used it (an entropy bonus): g_H [R] and H [R].
    const bool entropy_grad = grad_outputs.size() > 1 && grad_outputs[1].defined() && grad_outputs[1].numel() > 0;
    const torch::Tensor grad_h_out = entropy_grad ? grad_outputs[1].to(ct) : torch::Tensor();
    const torch::Tensor entropy = entropy_grad ? saved_entropy.to(ct) : torch::Tensor();  // [R]
    auto grad_hidden = torch::zeros(hidden.sizes(), hidden.options().dtype(ct));  // [R, D]
    auto grad_weight = torch::zeros(weight.sizes(), weight.options().dtype(ct));  // [V, D]
    const auto weight_ct = weight.to(ct);  // converted once, not per block          [V, D]
    for (int64_t r0 = 0; r0 < rows; r0 += chunk_rows) {
      const int64_t C = std::min(rows, r0 + chunk_rows) - r0;
      auto h = hidden.narrow(0, r0, C);                      // [C, D]
      auto h_ct = h.to(ct);
      auto g = grad_logp.narrow(0, r0, C).unsqueeze(1);      // [C, 1]
      auto lse = log_total.narrow(0, r0, C).unsqueeze(1);    // [C, 1]
      auto tgt = targets.narrow(0, r0, C).unsqueeze(1);      // [C, 1]
      auto grad_h = grad_hidden.narrow(0, r0, C);            // [C, D]
      for (int64_t v0 = 0; v0 < V; v0 += vocab_block) {
        const int64_t Vb = std::min(V, v0 + vocab_block) - v0;
        auto logits = kept.defined() ? kept : block_logits(h, weight.narrow(0, v0, Vb), ct, temperature);  // [C, Vb]
        // d logp[t] / d z = onehot(t) - p, with z = logits / temperature, p = softmax(z); built in place.
        // With the entropy H = -sum p log p: dH / dz = -p (log p + H), so the two together are
        // onehot(t) g - p (g + g_H (log p + H)).
        torch::Tensor grad_logits;                                                   // [C, Vb]
        if (entropy_grad) {
          auto log_p = logits.sub_(lse);                                             // [C, Vb]
          auto weight_p = (log_p + entropy.narrow(0, r0, C).unsqueeze(1))
                              .mul_(grad_h_out.narrow(0, r0, C).unsqueeze(1))
                              .add_(g);                                              // [C, Vb]
          grad_logits = log_p.exp_().mul_(weight_p).neg_();
        } else {
          grad_logits = logits.sub_(lse).exp_().mul_(-g);
        }
        auto inside = (tgt >= v0).logical_and(tgt < v0 + Vb);                       // [C, 1]
        grad_logits.scatter_add_(1, (tgt - v0).clamp(0, Vb - 1), g * inside.to(ct));
        if (temperature != 1.0) grad_logits.div_(temperature);
        grad_h.addmm_(grad_logits, weight_ct.narrow(0, v0, Vb));
        grad_weight.narrow(0, v0, Vb).addmm_(grad_logits.t(), h_ct);
      }
    }
    return {grad_hidden.to(hidden.scalar_type()), grad_weight.to(weight.scalar_type()), torch::Tensor(),
            torch::Tensor(), torch::Tensor(), torch::Tensor(), torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace

TokenLogProbs chunked_token_logprobs(const torch::Tensor& hidden, const torch::Tensor& weight,
                                     const torch::Tensor& targets, double temperature, bool with_entropy,
                                     int64_t chunk_rows, int64_t vocab_block, int64_t keep_bytes) {
  const auto n = hidden.size(0), t = hidden.size(1), d = hidden.size(2);
  auto flat_h = hidden.reshape({n * t, d});       // [N*T, D]
  auto flat_t = targets.reshape({n * t}).to(torch::kLong);  // [N*T]
  if (temperature <= 0) temperature = 1.0;
  // Row chunks of up to 4096 rows; vocabulary blocks of about 16 MiB of float32 logits per chunk
  // (at least 1024 entries), so that the blocks are reused from the allocator's cache instead of
  // fresh, page-faulted allocations of hundreds of MB, while the backward's gradient matmuls
  // still see thousands of rows.
  if (chunk_rows <= 0) chunk_rows = std::min<int64_t>(std::max<int64_t>(n * t, 1), 4096);
  if (vocab_block <= 0) vocab_block = std::max<int64_t>(1024, (int64_t{4} << 20) / chunk_rows);
  if (keep_bytes < 0) keep_bytes = kKeepLogitsBytes;
  auto out =
      ChunkedLogProbFn::apply(flat_h, weight, flat_t, temperature, chunk_rows, vocab_block, keep_bytes, with_entropy);
  return {out[0].view({n, t}), with_entropy ? out[1].view({n, t}) : torch::Tensor()};
}

}  // namespace r1
