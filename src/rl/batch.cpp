#include "r1/rl/batch.h"

#include <torch/torch.h>

#include <algorithm>

namespace r1 {

std::size_t RolloutBatch::num_completions() const {
  std::size_t n = 0;
  for (const auto& g : groups) n += g.samples.size();
  return n;
}

torch::Tensor RolloutBatch::rewards() const {
  std::vector<double> r;
  r.reserve(num_completions());
  for (const auto& g : groups)
    for (const auto& s : g.samples) r.push_back(s.reward);
  return torch::tensor(r, torch::kFloat64);  // [B*G]
}

void RolloutBatch::set_advantages(const torch::Tensor& advantages) {
  auto a = advantages.to(torch::kCPU, torch::kFloat64).contiguous();  // [B*G]
  TORCH_CHECK(a.numel() == static_cast<int64_t>(num_completions()), "one advantage per completion");
  const double* p = a.data_ptr<double>();
  for (auto& g : groups)
    for (auto& s : g.samples) s.advantage = *p++;
}

namespace {

void add_counts(RolloutStats& to, const RolloutStats& from) {
  to.dropped_groups += from.dropped_groups;
  to.decode_row_steps += from.decode_row_steps;
  to.decode_tokens += from.decode_tokens;
  for (const auto& [name, n] : from.reward_failures) to.reward_failures[name] += n;
}

}  // namespace

void RolloutStats::add_round(const RolloutStats& later) {
  generate_s += later.generate_s;
  reward_s += later.reward_s;
  add_counts(*this, later);
}

void RolloutStats::add_rank(const RolloutStats& other) {
  generate_s = std::max(generate_s, other.generate_s);
  reward_s = std::max(reward_s, other.reward_s);
  add_counts(*this, other);
}

void RolloutBatch::append(RolloutBatch&& other) {
  for (auto& g : other.groups) groups.push_back(std::move(g));
  stats.add_round(other.stats);
}

nlohmann::json rollout_to_json(const RolloutBatch& batch) {
  using json = nlohmann::json;
  json groups = json::array();
  for (const auto& g : batch.groups) {
    json samples = json::array();
    for (const auto& s : g.samples) {
      const auto& c = s.completion;
      samples.push_back({{"prompt_index", c.prompt_index}, {"sample", c.sample}, {"token_ids", c.token_ids},
                         {"logprobs", c.logprobs}, {"text", c.text}, {"finish", static_cast<int>(c.finish_reason)},
                         {"from_tool", c.from_tool}, {"turns", turns_to_json(c.turns)}, {"void_turn", c.void_turn},
                         {"scores", s.scores}, {"reward", s.reward}, {"advantage", s.advantage}});
    }
    groups.push_back({{"example_index", g.example_index}, {"prompt_text", g.prompt_text},
                      {"prompt_ids", g.prompt_ids}, {"samples", std::move(samples)}});
  }
  const auto& st = batch.stats;
  return {{"groups", std::move(groups)},
          {"stats",
           {{"generate_s", st.generate_s}, {"reward_s", st.reward_s}, {"dropped_groups", st.dropped_groups},
            {"reward_failures", st.reward_failures}, {"decode_row_steps", st.decode_row_steps},
            {"decode_tokens", st.decode_tokens}}}};
}

RolloutBatch rollout_from_json(const nlohmann::json& j) {
  RolloutBatch batch;
  for (const auto& jg : j.at("groups")) {
    PromptGroup g;
    g.example_index = jg.at("example_index").get<std::size_t>();
    g.prompt_text = jg.at("prompt_text").get<std::string>();
    g.prompt_ids = jg.at("prompt_ids").get<std::vector<int>>();
    for (const auto& js : jg.at("samples")) {
      Sample s;
      s.completion.prompt_index = js.at("prompt_index").get<int>();
      s.completion.sample = js.at("sample").get<int>();
      s.completion.token_ids = js.at("token_ids").get<std::vector<int>>();
      s.completion.logprobs = js.at("logprobs").get<std::vector<float>>();
      s.completion.text = js.at("text").get<std::string>();
      s.completion.finish_reason = static_cast<FinishReason>(js.at("finish").get<int>());
      s.completion.from_tool = js.at("from_tool").get<std::vector<uint8_t>>();
      s.completion.turns = turns_from_json(js.at("turns"));
      s.completion.void_turn = js.at("void_turn").get<bool>();
      s.scores = js.at("scores").get<std::vector<double>>();
      s.reward = js.at("reward").get<double>();
      s.advantage = js.at("advantage").get<double>();
      g.samples.push_back(std::move(s));
    }
    batch.groups.push_back(std::move(g));
  }
  const auto& st = j.at("stats");
  batch.stats.generate_s = st.at("generate_s").get<double>();
  batch.stats.reward_s = st.at("reward_s").get<double>();
  batch.stats.dropped_groups = st.at("dropped_groups").get<int64_t>();
  batch.stats.reward_failures = st.at("reward_failures").get<std::map<std::string, int>>();
  batch.stats.decode_row_steps = st.at("decode_row_steps").get<int64_t>();
  batch.stats.decode_tokens = st.at("decode_tokens").get<int64_t>();
  return batch;
}

std::vector<SampleRef> sample_refs(const RolloutBatch& batch) {
  std::vector<SampleRef> out;
  out.reserve(batch.num_completions());
  for (const auto& g : batch.groups)
    for (const auto& s : g.samples) out.push_back({&g, &s});
  return out;
}

std::vector<std::pair<std::size_t, std::size_t>> micro_batch_ranges(std::size_t rows, std::size_t size) {
  std::vector<std::pair<std::size_t, std::size_t>> out;
  for (std::size_t start = 0; start < rows; start += size) out.emplace_back(start, std::min(rows, start + size));
  return out;
}

TrainingBatch make_training_batch(const std::vector<SampleRef>& rows, int pad_id, bool mask_truncated,
                                  torch::Device device, bool mask_void_turns) {
  const auto n = static_cast<int64_t>(rows.size());
  int64_t p = 1, t = 1;
  for (const auto& r : rows) {
    p = std::max<int64_t>(p, static_cast<int64_t>(r.group->prompt_ids.size()));
    t = std::max<int64_t>(t, static_cast<int64_t>(r.sample->completion.token_ids.size()));
  }
  auto ids = torch::full({n, p + t}, pad_id, torch::kLong);    // [N, P+T]
  auto attn = torch::zeros({n, p + t}, torch::kLong);          // [N, P+T]
  auto targets = torch::zeros({n, t}, torch::kLong);           // [N, T]
  auto mask = torch::zeros({n, t}, torch::kFloat32);           // [N, T]
  auto sampler = torch::zeros({n, t}, torch::kFloat32);        // [N, T]
  auto adv = torch::zeros({n}, torch::kFloat32);               // [N]
  auto ids_a = ids.accessor<int64_t, 2>();
  auto attn_a = attn.accessor<int64_t, 2>();
  auto tgt_a = targets.accessor<int64_t, 2>();
  auto mask_a = mask.accessor<float, 2>();
  auto sampler_a = sampler.accessor<float, 2>();
  auto adv_a = adv.accessor<float, 1>();
  for (int64_t i = 0; i < n; ++i) {
    const auto& c = rows[i].sample->completion;
    const auto& prompt = rows[i].group->prompt_ids;
    const int64_t pl = static_cast<int64_t>(prompt.size());
    for (int64_t j = 0; j < pl; ++j) {
      ids_a[i][p - pl + j] = prompt[j];
      attn_a[i][p - pl + j] = 1;
    }
    const bool counts = counts_in_loss(c, mask_truncated, mask_void_turns);
    for (std::size_t j = 0; j < c.token_ids.size(); ++j) {
      ids_a[i][p + static_cast<int64_t>(j)] = c.token_ids[j];
      attn_a[i][p + static_cast<int64_t>(j)] = 1;
      tgt_a[i][static_cast<int64_t>(j)] = c.token_ids[j];
      mask_a[i][static_cast<int64_t>(j)] = counts && !c.tool_token(j) ? 1.f : 0.f;  // the model's own tokens only
      if (j < c.logprobs.size()) sampler_a[i][static_cast<int64_t>(j)] = c.logprobs[j];
    }
    adv_a[i] = static_cast<float>(rows[i].sample->advantage);
  }
  bool left_padded = false;  // completions are right-padded, which causal attention never sees
  for (const auto& r : rows) left_padded = left_padded || static_cast<int64_t>(r.group->prompt_ids.size()) < p;
  return {ids.to(device), attn.to(device), targets.to(device), mask.to(device), sampler.to(device), adv.to(device),
          p, left_padded};
}

TokenLogProbs completion_logprobs(CausalLM& model, const TrainingBatch& batch, double temperature,
                                  bool with_entropy) {
  // Without left padding no mask is needed (the completions' right padding comes last).
  auto hidden = model->hidden_states(batch.input_ids, batch.left_padded ? batch.attention_mask : torch::Tensor());  // [N, P+T, D]
  const int64_t t = batch.targets.size(1);
  // The hidden state at position i predicts token i + 1: positions P-1 .. P+T-2 predict the completion.
  auto h = hidden.narrow(1, batch.prompt_len - 1, t);  // [N, T, D]
  return chunked_token_logprobs(h, model->lm_head_weight(), batch.targets, temperature, with_entropy);
}

}  // namespace r1
