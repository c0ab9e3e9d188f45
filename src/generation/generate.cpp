#include "r1/generation/generate.h"

#include <fmt/format.h>

#include <chrono>
#include <deque>
#include <future>
#include <iostream>
#include <limits>
#include <memory>
#include <optional>
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

// Tool calls in flight: at most `workers` run at once (each on its own thread), the rest wait.
class ToolCalls {
 public:
  ToolCalls(ToolBox* tools, int workers) : tools_(tools), workers_(static_cast<std::size_t>(std::max(workers, 1))) {}

  void submit(std::size_t completion, std::size_t tool, ToolRequest request) {
    waiting_.push_back({completion, tool, std::move(request), {}});
    start_waiting();
  }
  bool empty() const { return waiting_.empty() && running_.empty(); }

  struct Done {
    std::size_t completion, tool;
    std::string call;
    ToolResult result;
  };
  // The calls that finished; with `block`, waits for one when none has.
  std::vector<Done> collect(bool block) {
    std::vector<Done> done;
    while (true) {
      for (std::size_t i = 0; i < running_.size();) {
        auto& c = running_[i];
        if (c.result.wait_for(std::chrono::seconds(0)) == std::future_status::ready) {
          done.push_back({c.completion, c.tool, c.request.call, c.result.get()});
          running_.erase(running_.begin() + static_cast<std::ptrdiff_t>(i));
        } else {
          ++i;
        }
      }
      start_waiting();
      if (!done.empty() || !block || running_.empty()) return done;
      running_.front().result.wait();
    }
  }

 private:
  struct Call {
    std::size_t completion, tool;
    ToolRequest request;
    std::future<ToolResult> result;
  };
  void start_waiting() {
    while (running_.size() < workers_ && !waiting_.empty()) {
      Call c = std::move(waiting_.front());
      waiting_.pop_front();
      ToolBox* tools = tools_;
      c.result = std::async(std::launch::async, [tools, request = c.request] { return tools->call(request); });
      running_.push_back(std::move(c));
    }
  }

  ToolBox* tools_;
  std::size_t workers_;
  std::deque<Call> waiting_;
  std::vector<Call> running_;
};

// `ids` with their middle cut out to `keep` tokens (the start and the end stay).
std::vector<int> middle_out(std::vector<int> ids, std::size_t keep) {
  if (ids.size() <= keep) return ids;
  const std::size_t head = keep / 2, tail = keep - head;
  std::vector<int> out(ids.begin(), ids.begin() + static_cast<std::ptrdiff_t>(head));
  out.insert(out.end(), ids.end() - static_cast<std::ptrdiff_t>(tail), ids.end());
  return out;
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
      : prompts_(prompts), o_(o), out_(out), decode_(decode), stop_(decode, enders, o.stop),
        cuda_(model->options().device().is_cuda()), tools_(o.tools) {
    const int64_t context = model->config().max_position_embeddings;
    // With tools, the budget on the device holds the tools' tokens too; the model's own are
    // counted on the host against max_new_tokens.
    const int64_t total = !tools_ ? o.max_new_tokens
                          : o.max_total_tokens > 0
                              ? o.max_total_tokens
                              : o.max_new_tokens + static_cast<int64_t>(o.max_turns) * o.max_tool_output_tokens;
    int64_t longest_prompt = 0, longest_budget = 0;
    for (const auto& c : out_) {
      const auto len = static_cast<int64_t>(prompts_[static_cast<std::size_t>(c.prompt_index)].size());
      // No position past the model's context: a completion ends ("length") when its prompt plus
      // its tokens fill it.
      budgets_.push_back(std::min<int64_t>(total, context - len));
      longest_prompt = std::max(longest_prompt, len);
      longest_budget = std::max(longest_budget, budgets_.back());
    }
    // A slot holds at most (longest prompt - 1) prefilled positions and `budget` fed tokens; one
    // more position takes the writes of a finished slot until it is refilled.
    capacity_ = longest_prompt + longest_budget;
    rows_ = std::min<int64_t>(o.batch_size, static_cast<int64_t>(out_.size()));
    std::vector<int> end_ids(enders.begin(), enders.end());
    slots_ = std::make_unique<DecodeSlots>(model, rows_, capacity_, o.sampling, end_ids, /*forcing=*/tools_ != nullptr);
    owner_.assign(static_cast<std::size_t>(rows_), -1);
    last_slot_.assign(static_cast<std::size_t>(rows_), 0);
    slot_of_.assign(out_.size(), -1);
    done_.assign(out_.size(), false);
    if (tools_) {
      std::vector<std::string> markers;
      for (const auto& t : tools_->tools()) markers.push_back(t.stop);
      call_end_ = std::make_unique<StopChecker>(decode_, std::set<int>{}, markers);
      calls_ = std::make_unique<ToolCalls>(tools_, o.tool_workers);
      turn_.assign(out_.size(), {});
    }
  }

  void run(const std::function<void(std::size_t done, int64_t tokens)>& on_step) {
    const std::size_t depth = cuda_ ? 1 : 0;  // steps launched ahead of the host
    std::deque<Launched> in_flight;
    while (true) {
      if (calls_) resume(calls_->collect(/*block=*/false));
      refill();
      shrink();
      const bool any_active = live_ - paused_ > 0;
      if (any_active) {
        in_flight.push_back(prepare_launch());
        slots_->launch(rows_, attended_slots());
        stats_.row_steps += rows_;
        for (int64_t r = 0; r < rows_; ++r) last_slot_[r] = std::min(last_slot_[r] + 1, capacity_ - 1);
      }
      if (in_flight.empty()) {
        if (calls_ && !calls_->empty()) {  // every live row waits for a tool
          resume(calls_->collect(/*block=*/true));
          continue;
        }
        break;
      }
      if (in_flight.size() > depth || !any_active) {
        read(slots_->wait(), in_flight.front());
        in_flight.pop_front();
        on_step(finished_count_, stats_.tokens);
      }
    }
  }

  const GenerateStats& stats() const { return stats_; }

 private:
  // A launched step's rows: the completion each belonged to (-1: none, or paused), its turn epoch
  // then, and the token forced into it (-1: sampled).
  struct Launched {
    std::vector<int64_t> owners;
    std::vector<uint32_t> epochs;
    std::vector<int64_t> forced;
  };

  // Per completion, with tools: where its current model turn starts, the answer tokens still to
  // feed, whether it ends once they are in, and an epoch that changes at each pause and resume
  // (a step launched in another epoch is not this turn's).
  struct Turn {
    std::size_t start = 0;
    std::deque<int> forced;
    bool end_after = false;
    bool paused = false;
    uint32_t epoch = 0;
    int64_t feed_base = 0;  // cache position where completion token 0 is fed
  };

  Launched prepare_launch() {
    Launched l{std::vector<int64_t>(owner_.begin(), owner_.begin() + rows_), std::vector<uint32_t>(rows_, 0),
               std::vector<int64_t>(static_cast<std::size_t>(rows_), -1)};
    if (!tools_) return l;
    for (int64_t r = 0; r < rows_; ++r) {
      const int64_t c = l.owners[static_cast<std::size_t>(r)];
      if (c < 0) continue;
      Turn& t = turn_[static_cast<std::size_t>(c)];
      if (t.paused) {
        l.owners[static_cast<std::size_t>(r)] = -1;
        continue;
      }
      l.epochs[static_cast<std::size_t>(r)] = t.epoch;
      if (!t.forced.empty()) {
        l.forced[static_cast<std::size_t>(r)] = t.forced.front();
        t.forced.pop_front();
      }
    }
    slots_->set_forced(l.forced);
    return l;
  }

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
    if (tools_)
      for (const auto& f : fills) turn_[static_cast<std::size_t>(owner_[f.slot])].feed_base = width + 1;
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
  void read(const StepResult& result, const Launched& launched) {
    for (int64_t r = 0; r < result.rows; ++r) {
      const int64_t c = launched.owners[static_cast<std::size_t>(r)];
      if (c < 0 || done_[static_cast<std::size_t>(c)]) continue;
      const int64_t forced = launched.forced[static_cast<std::size_t>(r)];
      if (tools_) {
        const Turn& t = turn_[static_cast<std::size_t>(c)];
        if (t.paused || t.epoch != launched.epochs[static_cast<std::size_t>(r)]) continue;
      }
      Completion& completion = out_[static_cast<std::size_t>(c)];
      if (forced < 0 && result.nonfinite(r)) {
        throw std::runtime_error(fmt::format(
            "the model produced NaN or Inf logits at decode step {}: its weights hold NaN/Inf, or its config.json "
            "has broken values (e.g. rope_theta); check the model with r1train inspect --model DIR, and if it "
            "trained into this, resume from an earlier checkpoint with a lower learning rate",
            completion.token_ids.size() + 1));
      }
      completion.token_ids.push_back(static_cast<int>(result.token(r)));
      completion.logprobs.push_back(forced < 0 ? result.logprob(r) : 0.f);
      if (tools_) completion.from_tool.push_back(forced >= 0 ? 1 : 0);
      ++stats_.tokens;
      auto reason = forced >= 0 ? after_tool_token(static_cast<std::size_t>(c)) : after_model_token(static_cast<std::size_t>(c));
      if (reason) finish(static_cast<std::size_t>(c), *reason);
    }
  }

  std::optional<FinishReason> after_tool_token(std::size_t c) {
    Turn& t = turn_[c];
    const auto& ids = out_[c].token_ids;
    if (t.forced.empty()) {  // the answer is in: the model's next turn starts here
      t.start = ids.size();
      if (t.end_after) return FinishReason::Stop;
    }
    if (static_cast<int64_t>(ids.size()) >= budgets_[c]) return FinishReason::Length;
    return std::nullopt;
  }

  std::optional<FinishReason> after_model_token(std::size_t c) {
    Completion& completion = out_[c];
    if (!tools_) return stop_.finish_reason(completion.token_ids, budgets_[c]);
    Turn& t = turn_[c];
    // Stop strings and tool calls are looked for in the model's current turn only: an answer that
    // holds "</answer>" or a fence does not end the completion or make a call.
    const std::vector<int> turn(completion.token_ids.begin() + static_cast<std::ptrdiff_t>(t.start), completion.token_ids.end());
    if (auto reason = stop_.finish_reason(turn, std::numeric_limits<int64_t>::max())) return reason;
    if (completion.model_tokens() >= o_.max_new_tokens ||
        static_cast<int64_t>(completion.token_ids.size()) >= budgets_[c])
      return FinishReason::Length;
    if (!call_end_->finish_reason(turn, std::numeric_limits<int64_t>::max())) return std::nullopt;
    const std::string text = decode_(turn);
    auto call = tools_->find_call(text);
    if (!call) return std::nullopt;
    if (static_cast<int>(completion.turns.size()) >= o_.max_turns) return FinishReason::MaxTurns;
    // Pause the row; the call runs while the others decode.
    t.paused = true;
    ++t.epoch;
    ++paused_;
    slots_->pause(slot_of_[c]);
    ToolRequest request;
    request.tool = tools_->tools()[call->tool].name;
    request.call = call->text;
    request.completion_so_far = decode_(completion.token_ids);
    if (o_.prompt_texts) request.prompt = (*o_.prompt_texts)[static_cast<std::size_t>(completion.prompt_index)];
    calls_->submit(c, call->tool, std::move(request));
    return std::nullopt;
  }

  // Puts finished calls' answers back: their tokens are forced into the row, which then resumes.
  void resume(std::vector<ToolCalls::Done> done) {
    for (auto& d : done) {
      const std::size_t c = d.completion;
      Completion& completion = out_[c];
      Turn& t = turn_[c];
      t.paused = false;
      ++t.epoch;
      --paused_;
      const ToolConfig& tool = tools_->tools()[d.tool];
      ToolTurn record{tool.name, d.call, "", d.result.error, d.result.timed_out, d.result.seconds,
                      static_cast<int64_t>(completion.token_ids.size()), 0};
      if (!d.result.error.empty() && tool.kind == ToolKind::Command) {  // the environment itself failed
        completion.turns.push_back(std::move(record));
        finish(c, FinishReason::ToolError);
        continue;
      }
      const std::string text = o_.render_answer ? o_.render_answer(d.tool, d.result) : tools_->render(d.tool, d.result);
      const auto full = o_.encode(text);
      const auto ids = middle_out(full, static_cast<std::size_t>(o_.max_tool_output_tokens));
      record.output = ids.size() == full.size() ? text : decode_(ids);
      record.tokens = static_cast<int64_t>(ids.size());
      completion.turns.push_back(std::move(record));
      t.forced.assign(ids.begin(), ids.end());
      t.end_after = d.result.done;
      const auto n = static_cast<int64_t>(completion.token_ids.size());
      if (ids.empty()) {
        t.start = completion.token_ids.size();
        if (t.end_after) {
          finish(c, FinishReason::Stop);
          continue;
        }
      }
      // The next step feeds the call's last token again at its position and emits the answer's
      // first token (forced): the answer follows the call in the same cache.
      slots_->resume(slot_of_[c], completion.token_ids.back(), t.feed_base + n - 1, n);
    }
  }

  void finish(std::size_t c, FinishReason reason) {
    out_[c].finish_reason = reason;
    if (tools_ && (reason == FinishReason::Stop || reason == FinishReason::Length)) {
      // SimpleTIR's void turn: the last turn ended without a call and without an answer.
      const auto& ids = out_[c].token_ids;
      const std::string last = decode_(std::vector<int>(ids.begin() + static_cast<std::ptrdiff_t>(std::min(turn_[c].start, ids.size())), ids.end()));
      out_[c].void_turn = last.find("<answer>") == std::string::npos && last.find("\\boxed{") == std::string::npos &&
                          !turn_[c].end_after;
    }
    done_[c] = true;
    owner_[static_cast<std::size_t>(slot_of_[c])] = -1;
    --live_;
    ++finished_count_;
  }

  const std::vector<std::vector<int>>& prompts_;
  const GenerateOptions& o_;
  std::vector<Completion>& out_;
  const TextDecoder& decode_;
  StopChecker stop_;
  bool cuda_;
  ToolBox* tools_;
  std::vector<int64_t> budgets_;  // per completion: tokens in all (the model's and, with tools, the tools')
  int64_t capacity_ = 0, rows_ = 0, live_ = 0, paused_ = 0;
  std::unique_ptr<DecodeSlots> slots_;
  std::vector<int64_t> owner_;      // slot -> completion, -1 when free
  std::vector<int64_t> last_slot_;  // slot -> upper bound of the cache position it writes next
  std::vector<int64_t> slot_of_;    // completion -> its slot while it runs
  std::vector<bool> done_;
  std::size_t next_ = 0, finished_count_ = 0;
  GenerateStats stats_;
  std::unique_ptr<StopChecker> call_end_;  // tools' stop markers on the current turn
  std::unique_ptr<ToolCalls> calls_;
  std::vector<Turn> turn_;                 // per completion, with tools
};

}  // namespace

nlohmann::json turns_to_json(const std::vector<ToolTurn>& turns) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& t : turns)
    out.push_back({{"tool", t.tool}, {"call", t.call}, {"output", t.output}, {"error", t.error},
                   {"timed_out", t.timed_out}, {"seconds", t.seconds}, {"first_token", t.first_token},
                   {"tokens", t.tokens}});
  return out;
}

std::vector<ToolTurn> turns_from_json(const nlohmann::json& j) {
  std::vector<ToolTurn> out;
  for (const auto& t : j)
    out.push_back({t.at("tool"), t.at("call"), t.at("output"), t.at("error"), t.at("timed_out"), t.at("seconds"),
                   t.at("first_token"), t.at("tokens")});
  return out;
}

int64_t Completion::tool_tokens() const {
  int64_t n = 0;
  for (uint8_t f : from_tool) n += f;
  return n;
}

GenerateOptions rollout_generate_options(const RolloutConfig& rollout) {
  GenerateOptions o;
  o.group_size = rollout.group_size;
  o.max_new_tokens = rollout.max_new_tokens;
  o.batch_size = rollout.batch_size;
  o.sampling = rollout.sampling();
  o.stop = rollout.stop;
  o.max_turns = rollout.max_turns;
  o.max_tool_output_tokens = rollout.max_tool_output_tokens;
  o.max_total_tokens = rollout.max_total_tokens;
  o.tool_workers = rollout.tool_workers;
  return o;
}

std::vector<Completion> generate(CausalLM& model, const TextDecoder& decode, const std::vector<int>& end_ids,
                                 const std::vector<std::vector<int>>& prompts, const GenerateOptions& options) {
  check_inputs(model, prompts, options);
  if (options.tools && !options.encode)
    throw std::logic_error("generate: tools need GenerateOptions::encode (an answer's text to ids)");
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
  if (!options.tools || options.encode) return generate(model, decode, end_ids, prompts, options);
  GenerateOptions with_encode = options;
  with_encode.encode = [&tokenizer](const std::string& text) { return tokenizer.encode(text, /*add_special_tokens=*/false); };
  return generate(model, decode, end_ids, prompts, with_encode);
}

}  // namespace r1
