#include "r1/generation/generate.h"

#include <fmt/format.h>

#include <chrono>
#include <deque>
#include <memory>
#include <iostream>
#include <numeric>
#include <set>

#include "r1/core/error.h"
#include "r1/generation/decode_step.h"

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

// Continuous batching over a DecodeSlots: each free slot takes the next pending completion
// (prompt-major, sample-minor), rows shrink to fewer slots once nothing is pending, and the
// host keeps the completions: tokens, log-probs and the stop decision (end ids, stop strings on
// a tail window, length). On CUDA the next step is launched before the host reads the previous
// one (a slot that finished is recomputed once and ignored); on the CPU the host reads each step
// right away.
class SlotScheduler {
 public:
  SlotScheduler(CausalLM& model, const TextDecoder& decode, const std::set<int>& enders,
                const std::vector<std::vector<int>>& prompts, const GenerateOptions& o, std::vector<Completion>& out)
      : prompts_(prompts), o_(o), out_(out), stop_(decode, enders, o.stop),
        cuda_(model->options().device().is_cuda()) {
    const int64_t context = model->config().max_position_embeddings;
    int64_t longest_prompt = 0, longest_budget = 0;
    for (const auto& c : out_) {
      const auto len = static_cast<int64_t>(prompts_[static_cast<std::size_t>(c.prompt_index)].size());
      // No position past the model's context: a completion ends ("length") when its prompt plus
      // its tokens fill it.
      budgets_.push_back(std::min<int64_t>(o.max_new_tokens, context - len));
      longest_prompt = std::max(longest_prompt, len);
      longest_budget = std::max(longest_budget, budgets_.back());
    }
    // A slot holds at most (longest prompt - 1) prefilled positions and `budget` fed tokens; one
    // more position takes the writes of a finished slot until it is refilled.
    capacity_ = longest_prompt + longest_budget;
    rows_ = std::min<int64_t>(o.batch_size, static_cast<int64_t>(out_.size()));
    std::vector<int> end_ids(enders.begin(), enders.end());
    slots_ = std::make_unique<DecodeSlots>(model, rows_, capacity_, o.sampling, end_ids);
    owner_.assign(static_cast<std::size_t>(rows_), -1);
    last_slot_.assign(static_cast<std::size_t>(rows_), 0);
    slot_of_.assign(out_.size(), -1);
    done_.assign(out_.size(), false);
  }

  void run(const std::function<void(std::size_t done, int64_t tokens)>& on_step) {
    const std::size_t depth = cuda_ ? 1 : 0;  // steps launched ahead of the host
    std::deque<std::vector<int64_t>> in_flight;  // owners of each launched step's rows
    while (true) {
      refill();
      shrink();
      const bool any_live = live_ > 0;
      if (any_live) {
        slots_->launch(rows_, attended_slots());
        in_flight.emplace_back(owner_.begin(), owner_.begin() + rows_);
        stats_.row_steps += rows_;
        for (int64_t r = 0; r < rows_; ++r) last_slot_[r] = std::min(last_slot_[r] + 1, capacity_ - 1);
      }
      if (in_flight.empty()) break;
      if (in_flight.size() > depth || !any_live) {
        read(slots_->wait(), in_flight.front());
        in_flight.pop_front();
        on_step(finished_count_, stats_.tokens);
      }
    }
  }

  const GenerateStats& stats() const { return stats_; }

 private:
  // Fills free slots among the first rows_ with pending completions.
  void refill() {
    std::vector<SlotFill> fills;
    for (int64_t r = 0; r < rows_ && next_ < out_.size(); ++r) {
      if (owner_[r] >= 0) continue;
      const Completion& c = out_[next_];
      const auto& prompt = prompts_[static_cast<std::size_t>(c.prompt_index)];
      fills.push_back({r, &prompt, budgets_[next_], sample_stream(o_.seed, o_.first_prompt_index + c.prompt_index, c.sample)});
      owner_[r] = static_cast<int64_t>(next_);
      slot_of_[next_] = r;
      ++next_;
      ++live_;
    }
    if (fills.empty()) return;
    int64_t width = 0;
    for (const auto& f : fills) width = std::max<int64_t>(width, static_cast<int64_t>(f.prompt->size()) - 1);
    for (const auto& f : fills) last_slot_[f.slot] = width;
    for (const auto& f : fills) stats_.prefill_tokens += static_cast<int64_t>(f.prompt->size()) - 1;
    slots_->fill(fills);
  }

  // Once nothing is pending, moves the live slots to the front and runs fewer rows: on CUDA the
  // next power of two (one graph per row count), on the CPU the live count once an eighth of
  // the rows are idle.
  void shrink() {
    if (next_ < out_.size() || live_ == 0) return;
    int64_t target = rows_;
    if (cuda_) {
      int64_t pow2 = 1;
      while (pow2 < live_) pow2 *= 2;
      target = std::min(rows_, pow2);
    } else if ((rows_ - live_) * 8 >= rows_) {
      target = live_;
    }
    if (target >= rows_) return;
    std::vector<int64_t> from;
    std::vector<int64_t> owners, last;
    for (int64_t r = 0; r < rows_; ++r) {
      if (owner_[r] < 0) continue;
      from.push_back(r);
      owners.push_back(owner_[r]);
      last.push_back(last_slot_[r]);
    }
    slots_->compact(from);
    std::fill(owner_.begin(), owner_.end(), -1);
    for (std::size_t i = 0; i < from.size(); ++i) {
      owner_[i] = owners[i];
      slot_of_[static_cast<std::size_t>(owners[i])] = static_cast<int64_t>(i);
      last_slot_[i] = last[i];
    }
    rows_ = target;
  }

  // Cache positions a CPU step attends: up to the furthest slot in use (CUDA attends all).
  int64_t attended_slots() const {
    int64_t furthest = 0;
    for (int64_t r = 0; r < rows_; ++r) furthest = std::max(furthest, last_slot_[r]);
    return std::min(capacity_, furthest + 1);
  }

  // Appends one step's tokens to the completions that owned its rows when it was launched.
  void read(const StepResult& result, const std::vector<int64_t>& owners) {
    for (int64_t r = 0; r < result.rows; ++r) {
      const int64_t c = owners[static_cast<std::size_t>(r)];
      if (c < 0 || done_[static_cast<std::size_t>(c)]) continue;
      Completion& completion = out_[static_cast<std::size_t>(c)];
      if (result.nonfinite(r)) {
        throw std::runtime_error(fmt::format(
            "the model produced NaN or Inf logits at decode step {}: its weights hold NaN/Inf, or its config.json "
            "has broken values (e.g. rope_theta); check the model with r1train inspect --model DIR, and if it "
            "trained into this, resume from an earlier checkpoint with a lower learning rate",
            completion.token_ids.size() + 1));
      }
      completion.token_ids.push_back(static_cast<int>(result.token(r)));
      completion.logprobs.push_back(result.logprob(r));
      ++stats_.tokens;
      auto reason = stop_.finish_reason(completion.token_ids, budgets_[static_cast<std::size_t>(c)]);
      if (!reason) continue;
      completion.finish_reason = *reason;
      done_[static_cast<std::size_t>(c)] = true;
      owner_[static_cast<std::size_t>(slot_of_[static_cast<std::size_t>(c)])] = -1;
      --live_;
      ++finished_count_;
    }
  }

  const std::vector<std::vector<int>>& prompts_;
  const GenerateOptions& o_;
  std::vector<Completion>& out_;
  StopChecker stop_;
  bool cuda_;
  std::vector<int64_t> budgets_;  // per completion
  int64_t capacity_ = 0, rows_ = 0, live_ = 0;
  std::unique_ptr<DecodeSlots> slots_;
  std::vector<int64_t> owner_;      // slot -> completion, -1 when free
  std::vector<int64_t> last_slot_;  // slot -> upper bound of the cache position it writes next
  std::vector<int64_t> slot_of_;    // completion -> its slot while it runs
  std::vector<bool> done_;
  std::size_t next_ = 0, finished_count_ = 0;
  GenerateStats stats_;
};

}  // namespace

GenerateOptions rollout_generate_options(const RolloutConfig& rollout) {
  GenerateOptions o;
  o.group_size = rollout.group_size;
  o.max_new_tokens = rollout.max_new_tokens;
  o.batch_size = rollout.batch_size;
  o.sampling = rollout.sampling();
  o.stop = rollout.stop;
  return o;
}

std::vector<Completion> generate(CausalLM& model, const TextDecoder& decode, const std::vector<int>& end_ids,
                                 const std::vector<std::vector<int>>& prompts, const GenerateOptions& options) {
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
  if (out.empty()) return out;
  Progress progress(options.progress, out.size());
  SlotScheduler scheduler(model, decode, enders, prompts, options, out);
  scheduler.run([&](std::size_t done, int64_t tokens) { progress.update(done, tokens); });
  progress.update(out.size(), scheduler.stats().tokens, /*final=*/true);
  for (auto& c : out) c.text = decode(c.token_ids);
  if (options.stats) *options.stats = scheduler.stats();
  return out;
}

std::vector<Completion> generate(CausalLM& model, const Tokenizer& tokenizer,
                                 const std::vector<std::vector<int>>& prompts, const GenerateOptions& options) {
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
  return generate(model, decode, end_ids, prompts, options);
}

}  // namespace r1
