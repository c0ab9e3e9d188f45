#include "r1/rollout.h"

#include <torch/torch.h>

namespace r1 {

void RolloutBatch::keep_groups(const std::vector<std::size_t>& keep) {
  RolloutBatch out;
  out.group_size = group_size;
  std::vector<std::size_t> rows;
  for (std::size_t b : keep) {
    out.example_indices.push_back(example_indices[b]);
    out.prompt_texts.push_back(prompt_texts[b]);
    out.prompt_ids.push_back(prompt_ids[b]);
    for (int g = 0; g < group_size; ++g) rows.push_back(b * group_size + g);
  }
  for (std::size_t i = 0; i < rows.size(); ++i) {
    Completion c = completions[rows[i]];
    c.prompt_index = static_cast<int>(i / group_size);
    out.completions.push_back(std::move(c));
  }
  out.scores.total.reserve(rows.size());
  for (std::size_t r : rows) out.scores.total.push_back(scores.total.at(r));
  for (const auto& [name, values] : scores.per_reward) {
    auto& dst = out.scores.per_reward[name];
    for (std::size_t r : rows) dst.push_back(values.at(r));
  }
  out.scores.failures = scores.failures;
  auto index = torch::tensor(std::vector<int64_t>(rows.begin(), rows.end()), torch::kLong);
  if (rewards.defined()) out.rewards = rewards.index_select(0, index);
  if (advantages.defined()) out.advantages = advantages.index_select(0, index);
  *this = std::move(out);
}

void RolloutBatch::append(RolloutBatch&& other) {
  const int offset = static_cast<int>(prompt_ids.size());
  example_indices.insert(example_indices.end(), other.example_indices.begin(), other.example_indices.end());
  prompt_texts.insert(prompt_texts.end(), other.prompt_texts.begin(), other.prompt_texts.end());
  prompt_ids.insert(prompt_ids.end(), other.prompt_ids.begin(), other.prompt_ids.end());
  for (auto& c : other.completions) {
    c.prompt_index += offset;
    completions.push_back(std::move(c));
  }
  scores.total.insert(scores.total.end(), other.scores.total.begin(), other.scores.total.end());
  for (auto& [name, values] : other.scores.per_reward) {
    auto& dst = scores.per_reward[name];
    dst.insert(dst.end(), values.begin(), values.end());
  }
  for (const auto& [name, n] : other.scores.failures) scores.failures[name] += n;
  rewards = rewards.defined() ? torch::cat({rewards, other.rewards}) : other.rewards;
  advantages = advantages.defined() ? torch::cat({advantages, other.advantages}) : other.advantages;
}

std::vector<int> encode_prompt(const Tokenizer& tokenizer, const std::string& text) {
  auto ids = tokenizer.encode(text, /*add_special_tokens=*/true);
  const auto bos = tokenizer.bos_id();
  if (bos && ids.size() >= 2 && ids[0] == *bos && ids[1] == *bos) ids.erase(ids.begin());
  return ids;
}

TrainingBatch make_training_batch(const RolloutBatch& batch, const std::vector<std::size_t>& rows, int pad_id,
                                  bool mask_truncated, torch::Device device) {
  const auto n = static_cast<int64_t>(rows.size());
  int64_t p = 1, t = 1;
  for (std::size_t r : rows) {
    const auto& c = batch.completions[r];
    p = std::max<int64_t>(p, static_cast<int64_t>(batch.prompt_ids[c.prompt_index].size()));
    t = std::max<int64_t>(t, static_cast<int64_t>(c.token_ids.size()));
  }
  auto ids = torch::full({n, p + t}, pad_id, torch::kLong);    // [N, P+T]
  auto attn = torch::zeros({n, p + t}, torch::kLong);          // [N, P+T]
  auto targets = torch::zeros({n, t}, torch::kLong);           // [N, T]
  auto mask = torch::zeros({n, t}, torch::kFloat32);           // [N, T]
  auto adv = torch::zeros({n}, torch::kFloat32);               // [N]
  auto ids_a = ids.accessor<int64_t, 2>();
  auto attn_a = attn.accessor<int64_t, 2>();
  auto tgt_a = targets.accessor<int64_t, 2>();
  auto mask_a = mask.accessor<float, 2>();
  for (int64_t i = 0; i < n; ++i) {
    const auto& c = batch.completions[rows[i]];
    const auto& prompt = batch.prompt_ids[c.prompt_index];
    const int64_t pl = static_cast<int64_t>(prompt.size());
    for (int64_t j = 0; j < pl; ++j) {
      ids_a[i][p - pl + j] = prompt[j];
      attn_a[i][p - pl + j] = 1;
    }
    const bool counts = !(mask_truncated && c.finish_reason == "length");
    for (std::size_t j = 0; j < c.token_ids.size(); ++j) {
      ids_a[i][p + static_cast<int64_t>(j)] = c.token_ids[j];
      attn_a[i][p + static_cast<int64_t>(j)] = 1;
      tgt_a[i][static_cast<int64_t>(j)] = c.token_ids[j];
      mask_a[i][static_cast<int64_t>(j)] = counts ? 1.f : 0.f;
    }
    adv[i] = batch.advantages[static_cast<int64_t>(rows[i])].item<float>();
  }
  return {ids.to(device), attn.to(device), targets.to(device), mask.to(device), adv.to(device), p};
}

TokenLogProbs completion_logprobs(CausalLM& model, const TrainingBatch& batch, double temperature) {
  auto hidden = model->hidden_states(batch.input_ids, batch.attention_mask);  // [N, P+T, D]
  const int64_t t = batch.targets.size(1);
  // The hidden state at position i predicts token i + 1: positions P-1 .. P+T-2 predict the completion.
  auto h = hidden.narrow(1, batch.prompt_len - 1, t);  // [N, T, D]
  return chunked_token_logprobs(h, model->lm_head_weight(), batch.targets, temperature);
}

}  // namespace r1
