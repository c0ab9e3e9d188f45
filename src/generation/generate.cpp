#include "r1/generation/generate.h"

#include <fmt/format.h>

#include <chrono>
#include <iostream>
#include <numeric>
#include <set>

#include "r1/core/error.h"

namespace r1 {

namespace {

// A one-line progress report on stderr, redrawn at most twice a second.
class Progress {
 public:
  Progress(bool enabled, size_t total) : enabled_(enabled), total_(total), start_(Clock::now()), last_(start_) {}
  void update(size_t done, int64_t tokens, bool final = false) {
    if (!enabled_) return;
    auto now = Clock::now();
    if (!final && now - last_ < std::chrono::milliseconds(500)) return;
    last_ = now;
    double s = std::chrono::duration<double>(now - start_).count();
    std::cerr << fmt::format("\rgenerate: {}/{} completions, {} tokens, {:.1f} tokens/s", done, total_, tokens,
                             s > 0 ? static_cast<double>(tokens) / s : 0.0)
              << (final ? "\n" : "") << std::flush;
  }

 private:
  using Clock = std::chrono::steady_clock;
  bool enabled_;
  size_t total_;
  Clock::time_point start_, last_;
};

void check_inputs(const CausalLM& model, const std::vector<std::vector<int>>& prompts, const GenerateOptions& o) {
  if (o.group_size < 1) throw InputError(fmt::format("group size is {}; must be >= 1", o.group_size));
  if (o.max_new_tokens < 1) throw InputError(fmt::format("max_new_tokens is {}; must be >= 1", o.max_new_tokens));
  if (o.batch_size < 1) throw InputError(fmt::format("batch_size is {}; must be >= 1", o.batch_size));
  check_sampling_options(o.sampling);
  for (const auto& s : o.stop)
    if (s.empty()) throw InputError("a stop string is empty; remove it");
  const int64_t vocab = model->config().vocab_size;
  for (size_t i = 0; i < prompts.size(); ++i) {
    if (prompts[i].empty()) throw InputError(fmt::format("prompt {} has no tokens", i));
    const int64_t context = model->config().max_position_embeddings;
    if (static_cast<int64_t>(prompts[i].size()) >= context)
      throw InputError(fmt::format("prompt {} has {} tokens, which fills the model's context of {} tokens "
                                   "(max_position_embeddings in config.json): no room to generate; shorten it",
                                   i, prompts[i].size(), context));
    for (int id : prompts[i])
      if (id < 0 || id >= vocab)
        throw InputError(fmt::format("prompt {}: token id {} is outside the model's vocabulary [0, {})", i, id, vocab));
  }
}

// Decodes one chunk of completion rows [first, first + n) of `out` in place.
class ChunkDecoder {
 public:
  ChunkDecoder(CausalLM& model, const TextDecoder& decode, const std::set<int>& enders,
               const std::vector<std::vector<int>>& prompts, const GenerateOptions& o, torch::Generator& gen,
               std::vector<Completion>& out)
      : model_(model), decode_(decode), stop_(decode, enders, o.stop), prompts_(prompts), o_(o),
        gen_(gen), out_(out) {}

  // Returns the number of tokens generated.
  int64_t run(size_t first, size_t n, const std::function<void(int64_t)>& on_step) {
    const auto device = model_->options().device();
    const int64_t V = model_->config().vocab_size;
    // Distinct prompts of the chunk (rows are prompt-major, so equal prompts are adjacent).
    std::vector<int> unique;
    std::vector<int64_t> row_to_unique(n);
    for (size_t i = 0; i < n; ++i) {
      int p = out_[first + i].prompt_index;
      if (unique.empty() || unique.back() != p) unique.push_back(p);
      row_to_unique[i] = static_cast<int64_t>(unique.size()) - 1;
    }
    const int64_t U = static_cast<int64_t>(unique.size());
    int64_t L = 0;
    for (int p : unique) L = std::max<int64_t>(L, static_cast<int64_t>(prompts_[p].size()));
    auto ids = torch::zeros({U, L}, torch::kInt64);   // [U, L] left-padded
    auto mask = torch::zeros({U, L}, torch::kInt64);  // [U, L]
    auto seen = o_.sampling.repetition_penalty != 1.0 ? torch::zeros({U, V}, torch::kBool) : torch::Tensor();
    for (int64_t u = 0; u < U; ++u) {
      const auto& p = prompts_[unique[u]];
      const int64_t len = static_cast<int64_t>(p.size());
      auto tokens = torch::tensor(std::vector<int64_t>(p.begin(), p.end()), torch::kInt64);
      ids[u].narrow(0, L - len, len).copy_(tokens);
      mask[u].narrow(0, L - len, len).fill_(1);
      if (seen.defined()) seen[u].index_fill_(0, tokens, true);
    }
    auto index = torch::tensor(row_to_unique, torch::kInt64).to(device);  // [n]
    // No position past the model's context: rows end ("length") when the longest prompt of the chunk
    // plus its completion fills it.
    budget_ = std::min<int64_t>(o_.max_new_tokens, model_->config().max_position_embeddings - L);
    KVCache cache = model_->make_cache(static_cast<int64_t>(n), L + budget_);
    torch::Tensor logits;  // [rows, V]
    {
      KVCache prefill = model_->make_cache(U, L);
      auto h = model_->forward_cached(ids.to(device), mask.to(device), prefill);  // [U, L, width]
      logits = torch::linear(h.select(1, L - 1), model_->lm_head_weight()).index_select(0, index);  // [n, V]
      cache.gather_from(prefill, index);
    }
    if (seen.defined()) seen = seen.to(device).index_select(0, index);  // [n, V]

    std::vector<int64_t> rows(n);  // cache row -> chunk row; -1 once finished
    std::iota(rows.begin(), rows.end(), 0);
    int64_t generated = 0;
    for (int64_t step = 0; step < budget_; ++step) {
      if (!torch::isfinite(logits).all().item<bool>()) {
        throw std::runtime_error(fmt::format(
            "the model produced NaN or Inf logits at decode step {}: its weights hold NaN/Inf, or its config.json "
            "has broken values (e.g. rope_theta); check the model with r1train inspect --model DIR, and if it "
            "trained into this, resume from an earlier checkpoint with a lower learning rate",
            step + 1));
      }
      SampledTokens s = sample_tokens(logits, o_.sampling, gen_, seen);
      if (seen.defined()) seen.scatter_(1, s.tokens.unsqueeze(1), true);
      auto tokens = s.tokens.to(torch::kCPU);
      auto logprobs = s.logprobs.to(torch::kCPU);
      const auto* tok = tokens.data_ptr<int64_t>();
      const auto* lp = logprobs.data_ptr<float>();
      int64_t dead = 0;
      for (size_t k = 0; k < rows.size(); ++k) {
        if (rows[k] < 0) {
          ++dead;
          continue;
        }
        Completion& c = out_[first + static_cast<size_t>(rows[k])];
        c.token_ids.push_back(static_cast<int>(tok[k]));
        c.logprobs.push_back(lp[k]);
        ++generated;
        if (finished(c)) {
          rows[k] = -1;
          ++dead;
        }
      }
      on_step(generated);
      const int64_t live = static_cast<int64_t>(rows.size()) - dead;
      if (live == 0) break;
      torch::Tensor next = s.tokens;  // [rows]
      // Compact once an eighth of the rows are finished: they stop costing compute.
      if (dead > 0 && dead * 8 >= static_cast<int64_t>(rows.size())) {
        std::vector<int64_t> keep, kept_rows;
        for (size_t k = 0; k < rows.size(); ++k) {
          if (rows[k] < 0) continue;
          keep.push_back(static_cast<int64_t>(k));
          kept_rows.push_back(rows[k]);
        }
        auto keep_index = torch::tensor(keep, torch::kInt64).to(device);
        cache.gather_from(cache, keep_index);
        next = next.index_select(0, keep_index);
        if (seen.defined()) seen = seen.index_select(0, keep_index);
        rows = std::move(kept_rows);
      }
      auto input = next.view({-1, 1});                                       // [rows, 1]
      auto h = model_->forward_cached(input, torch::ones_like(input), cache);  // [rows, 1, width]
      logits = torch::linear(h.select(1, 0), model_->lm_head_weight());        // [rows, V]
    }
    for (size_t i = 0; i < n; ++i) {
      Completion& c = out_[first + i];
      c.text = decode_(c.token_ids);
    }
    return generated;
  }

 private:
  // Sets the finish reason when the completion's last token ends it.
  bool finished(Completion& c) const {
    auto reason = stop_.finish_reason(c.token_ids, budget_);
    if (reason) c.finish_reason = *reason;
    return reason.has_value();
  }

  CausalLM& model_;
  const TextDecoder& decode_;
  StopChecker stop_;
  int64_t budget_ = 0;  // new tokens per row in the current chunk
  const std::vector<std::vector<int>>& prompts_;
  const GenerateOptions& o_;
  torch::Generator& gen_;
  std::vector<Completion>& out_;
};

}  // namespace

std::vector<Completion> generate(CausalLM& model, const TextDecoder& decode, const std::vector<int>& end_ids,
                                 const std::vector<std::vector<int>>& prompts, const GenerateOptions& options,
                                 torch::Generator& gen) {
  check_inputs(model, prompts, options);
  torch::NoGradGuard no_grad;
  std::set<int> enders(end_ids.begin(), end_ids.end());
  enders.insert(options.stop_token_ids.begin(), options.stop_token_ids.end());
  std::vector<Completion> out;
  for (size_t p = 0; p < prompts.size(); ++p) {
    for (int g = 0; g < options.group_size; ++g) {
      Completion c;
      c.prompt_index = static_cast<int>(p);
      c.sample = g;
      out.push_back(std::move(c));
    }
  }
  Progress progress(options.progress, out.size());
  ChunkDecoder chunk(model, decode, enders, prompts, options, gen, out);
  int64_t tokens_before = 0;
  const size_t batch = static_cast<size_t>(options.batch_size);
  for (size_t first = 0; first < out.size(); first += batch) {
    const size_t n = std::min(batch, out.size() - first);
    tokens_before += chunk.run(first, n, [&](int64_t t) { progress.update(first, tokens_before + t); });
  }
  progress.update(out.size(), tokens_before, /*final=*/true);
  return out;
}

std::vector<Completion> generate(CausalLM& model, const Tokenizer& tokenizer,
                                 const std::vector<std::vector<int>>& prompts, const GenerateOptions& options,
                                 torch::Generator& gen) {
  std::vector<int> end_ids = tokenizer.eos_ids();
  for (int64_t id : model->config().eos_token_ids) end_ids.push_back(static_cast<int>(id));
  const int tokenizer_vocab = tokenizer.vocab_size();
  // Models often pad their vocabulary past the tokenizer's: such ids decode to nothing.
  TextDecoder decode = [&tokenizer, tokenizer_vocab](const std::vector<int>& ids) {
    std::vector<int> known;
    known.reserve(ids.size());
    for (int id : ids)
      if (id >= 0 && id < tokenizer_vocab) known.push_back(id);
    return tokenizer.decode(known, /*skip_special_tokens=*/true);
  };
  return generate(model, decode, end_ids, prompts, options, gen);
}

}  // namespace r1
