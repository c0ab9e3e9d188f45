// GRPO training end to end on a tiny random model: metrics, checkpoints, exact resume, signals, SIGKILL.
#include <gtest/gtest.h>
#include <signal.h>
#include <torch/torch.h>

#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <functional>
#include <numeric>
#include <thread>

#include "r1/model/decoder.h"
#include "r1/core/error.h"
#include "r1/model/lora.h"
#include "r1/rl/batch.h"
#include "r1/rl/reference.h"
#include "r1/rl/trainer_state.h"
#include "r1/tokenizer/tokenizer.h"
#include "r1/train/checkpoint.h"
#include "test_util.h"

namespace r1 {
namespace {

namespace fs = std::filesystem;
using test::run_r1train;
using test::TempDir;

// A tiny Qwen2 model with random weights and a byte-level tokenizer, written as an HF directory.
fs::path make_tiny_model(const fs::path& dir) {
  fs::create_directories(dir);
  write_byte_level_tokenizer(dir, {"<|begin|>", "<|endoftext|>", "<|pad|>"});  // bos, eos, pad
  auto tok = Tokenizer::load(dir);
  nlohmann::json cfg = {{"architectures", {"Qwen2ForCausalLM"}},
                        {"model_type", "qwen2"},
                        {"hidden_size", 32},
                        {"intermediate_size", 64},
                        {"num_hidden_layers", 2},
                        {"num_attention_heads", 4},
                        {"num_key_value_heads", 2},
                        {"vocab_size", tok->vocab_size()},
                        {"max_position_embeddings", 256},
                        {"rms_norm_eps", 1e-6},
                        {"rope_theta", 10000.0},
                        {"tie_word_embeddings", true},
                        {"eos_token_id", *tok->token_to_id("<|endoftext|>")},
                        {"torch_dtype", "float32"}};
  auto config = TransformerConfig::from_json(cfg, "tiny");
  torch::manual_seed(0);
  CausalLM model(config, torch::TensorOptions().dtype(torch::kFloat32));
  torch::NoGradGuard no_grad;
  for (auto& p : model->parameters()) {
    if (p.dim() == 1) {
      p.fill_(1.0);  // norms
    } else {
      p.normal_(0, 0.2);
    }
  }
  save_model(model, config, dir, dir);
  return dir;
}

struct TinyRun {
  TempDir dir;
  fs::path model, data, config;
  TinyRun() {
    model = make_tiny_model(dir.path / "model");
    std::string lines;
    for (int i = 0; i < 12; ++i) lines += fmt::format("{{\"prompt\": \"{}+{}\", \"answer\": \"{}\"}}\n", i, i, 2 * i);
    data = dir.write("train.jsonl", lines);
    config = dir.write("tiny.yaml", fmt::format(R"(model:
  path: {}
  dtype: float32
  device: cpu
data:
  train: {}
  template: "{{prompt}}="
rollout:
  group_size: 4
  max_new_tokens: 12
  temperature: 1.0
  batch_size: 8
rewards:
  - {{name: format, weight: 1.0}}
  - {{name: regex, weight: 1.0, pattern: "[0-9]"}}
optim:
  lr: 1.0e-3
train:
  steps: 4
  prompts_per_step: 2
  micro_batch_size: 3
  seed: 7
  checkpoint_every: 2
  keep_last: 0
  log_samples_every: 2
  threads: 1
)",
                                                model.string(), data.string()));
  }
  std::string train(const fs::path& out, const std::string& extra = "") const {
    return "train --config " + config.string() + " --set train.output_dir=" + out.string() + " " + extra;
  }
};

using test::read_jsonl;

// Metrics minus the wall-clock and process-memory ones, which differ between any two runs.
nlohmann::json without_timing(nlohmann::json m) {
  for (auto it = m.begin(); it != m.end();) {
    if (it.key().rfind("timing/", 0) == 0 || it.key().rfind("throughput/", 0) == 0 ||
        it.key().rfind("memory/", 0) == 0) {
      it = m.erase(it);
    } else {
      ++it;
    }
  }
  return m;
}

TEST(GradientCheckpointing, SameLossAndGradientsAsPlainBackward) {
  TempDir dir;
  auto path = make_tiny_model(dir.path / "model");
  auto ids = torch::randint(0, 200, {2, 9}, torch::kLong);
  auto mask = torch::ones({2, 9}, torch::kLong);
  mask[1].narrow(0, 0, 3).fill_(0);  // left padding on the second row
  std::vector<torch::Tensor> grads[2];
  double losses[2];
  for (int on = 0; on < 2; ++on) {
    auto m = load_model(path, torch::kFloat32, torch::kCPU);
    m.model->set_gradient_checkpointing(on == 1);
    auto loss = m.model->logits(ids, mask).logsumexp(-1).mean();
    loss.backward();
    losses[on] = loss.item<double>();
    for (auto& p : m.model->parameters()) grads[on].push_back(p.grad().clone());
  }
  EXPECT_DOUBLE_EQ(losses[0], losses[1]);
  ASSERT_EQ(grads[0].size(), grads[1].size());
  for (std::size_t i = 0; i < grads[0].size(); ++i) {
    EXPECT_TRUE(torch::allclose(grads[0][i], grads[1][i], 1e-6, 1e-7)) << "parameter " << i;
  }
}

TEST(TrainerState, RoundTripsAndRefusesBadFields) {
  TrainerState st;
  st.step = 7;
  st.updates = 14;
  st.num_tokens = 1234;
  st.nonfinite_skips = 1;
  st.data_cursor = {2, 5};
  st.seed = 42;
  st.run_config = {"grpo.beta: 0"};
  const fs::path file = "ckpt/trainer_state.json";
  auto back = TrainerState::from_json(st.to_json(), file);
  EXPECT_EQ(back.to_json(), st.to_json());
  auto error = [&](const std::function<void(nlohmann::json&)>& edit) {
    auto j = st.to_json();
    edit(j);
    try {
      TrainerState::from_json(j, file);
    } catch (const InputError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(error([](auto& j) { j["step"] = -5; }).find("trainer_state.json: 'step' is -5; it must be >= 0"),
            std::string::npos);
  EXPECT_NE(error([](auto& j) { j["updates"] = "many"; }).find("'updates' is missing or not an integer"),
            std::string::npos);
  EXPECT_NE(error([](auto& j) { j.erase("run_config"); }).find("'run_config' is missing"), std::string::npos);
  EXPECT_NE(error([](auto& j) { j["data_cursor"] = {{"epoch", -1}}; }).find("data cursor"), std::string::npos);
  EXPECT_NE(error([](auto& j) { j["nonfinite_skips"] = 20; }).find("exceeds 'updates'"), std::string::npos);
}

TEST(Trainer, FewStepsWriteMetricsSamplesAndLoadableCheckpoints) {
  TinyRun run;
  auto out = run.dir.path / "run";
  auto r = run_r1train(run.train(out));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("step 4/4 | reward"), std::string::npos) << r.output;
  auto metrics = read_jsonl(out / "metrics.jsonl");
  ASSERT_EQ(metrics.size(), 4u);
  for (const char* key : {"step", "reward", "reward_std", "rewards/format/mean", "rewards/regex/mean",
                          "frac_reward_zero_std", "completions/mean_length", "completions/max_length",
                          "completions/clipped_ratio", "loss", "policy_loss", "kl", "entropy", "clip_ratio/low_mean",
                          "clip_ratio/high_mean", "grad_norm", "lr", "num_tokens", "timing/rollout_s",
                          "timing/update_s", "timing/step_s", "throughput/rollout_tokens_per_s"}) {
    EXPECT_TRUE(metrics[0].contains(key)) << key;
  }
  EXPECT_EQ(metrics[3]["step"], 4);
  EXPECT_GT(metrics[0]["grad_norm"].get<double>(), 0.0);
  EXPECT_DOUBLE_EQ(metrics[0]["lr"].get<double>(), 1e-3);
  // The values, not only the keys: lengths within max_new_tokens (12), fractions in [0, 1], no KL
  // term (beta 0), tokens counted cumulatively, a step at least as long as its update.
  for (std::size_t i = 0; i < metrics.size(); ++i) {
    const auto& m = metrics[i];
    EXPECT_EQ(m["step"], static_cast<int>(i) + 1);
    EXPECT_GE(m["completions/mean_length"].get<double>(), 1.0);
    EXPECT_LE(m["completions/mean_length"].get<double>(), m["completions/max_length"].get<double>());
    EXPECT_LE(m["completions/max_length"].get<double>(), 12.0);
    for (const char* fraction : {"completions/clipped_ratio", "frac_reward_zero_std", "rewards/format/mean",
                                 "rewards/regex/mean", "clip_ratio/low_mean", "clip_ratio/high_mean"}) {
      EXPECT_GE(m[fraction].get<double>(), 0.0) << fraction;
      EXPECT_LE(m[fraction].get<double>(), 1.0) << fraction;
    }
    EXPECT_EQ(m["kl"].get<double>(), 0.0);
    EXPECT_GE(m["timing/step_s"].get<double>(), m["timing/update_s"].get<double>());
    if (i > 0) {
      EXPECT_GT(m["num_tokens"].get<int64_t>(), metrics[i - 1]["num_tokens"].get<int64_t>());
    }
  }
  // samples.jsonl every 2 steps: 2 prompts x 4 completions at steps 2 and 4.
  auto samples = read_jsonl(out / "samples.jsonl");
  ASSERT_EQ(samples.size(), 16u);
  // The logged reward is the mean of the step's samples' rewards (weights 1 + 1: format + regex).
  double step2 = 0;
  for (std::size_t i = 0; i < 8; ++i) {
    EXPECT_EQ(samples[i]["step"], 2);
    step2 += samples[i]["reward"].get<double>() / 8;
    EXPECT_DOUBLE_EQ(samples[i]["reward"].get<double>(),
                     samples[i]["rewards"]["format"].get<double>() + samples[i]["rewards"]["regex"].get<double>());
  }
  EXPECT_NEAR(metrics[1]["reward"].get<double>(), step2, 1e-12);
  EXPECT_TRUE(samples[0].contains("advantage"));
  EXPECT_TRUE(samples[0]["rewards"].contains("format"));
  EXPECT_TRUE(fs::exists(out / "config.yaml"));
  EXPECT_TRUE(fs::exists(out / "train.log"));
  auto latest = find_latest_checkpoint(out);
  ASSERT_TRUE(latest.has_value());
  EXPECT_EQ(latest->filename(), "step-000004");
  EXPECT_TRUE(fs::exists(out / "checkpoints" / "step-000002"));
  // The checkpoint is a loadable HF directory with the tokenizer, and its weights moved.
  auto trained = load_model(*latest, torch::kFloat32, torch::kCPU);
  auto base = load_model(run.model, torch::kFloat32, torch::kCPU);
  EXPECT_FALSE(torch::equal(trained.model->lm_head_weight(), base.model->lm_head_weight()));
  EXPECT_TRUE(fs::exists(*latest / "tokenizer.json"));
  EXPECT_TRUE(fs::exists(*latest / "optimizer.pt"));
}

// The rollout engine and the training forward compute the same log-probs in float32 on the CPU up to
// rounding (different kernels: the decode step with its KV cache against one batched forward), so
// the mismatch metrics stay at their ideal values, whether pi_train is the first update's forward
// (num_iterations 1) or the frozen old policy (2).
TEST(Trainer, RolloutMismatchIsNegligibleInFloat32) {
  TinyRun run;
  for (int iterations : {1, 2}) {
    auto out = run.dir.path / fmt::format("run{}", iterations);
    auto r = run_r1train(run.train(out, fmt::format("--set train.steps=2 --set grpo.num_iterations={}", iterations)));
    ASSERT_EQ(r.exit_code, 0) << r.output;
    for (const auto& m : read_jsonl(out / "metrics.jsonl")) {
      EXPECT_LT(m["mismatch/kl"].get<double>(), 1e-5) << m.dump();
      EXPECT_GE(m["mismatch/kl"].get<double>(), 0.0) << m.dump();
      EXPECT_LT(m["mismatch/max_abs_logprob"].get<double>(), 1e-3) << m.dump();
      EXPECT_NEAR(m["mismatch/ratio_mean"].get<double>(), 1.0, 1e-4) << m.dump();
      EXPECT_FALSE(m.contains("mismatch/corrected_fraction"));  // no correction asked for
    }
  }
}

// The step-1 objective recomputed from samples.jsonl alone (rewards, completion lengths, finish
// reasons), independently of the trainer: at the first update the policy is the one that sampled, so
// every ratio is 1 and nothing is clipped, and the reference equals the policy, so KL is 0. Then with
// dapo, loss = policy_loss = -sum_i A_i L_i / sum_i L_i over the completions that count, and
// A_i = (r_i - group mean) / (group std + 1e-4) with Bessel's correction; r_i = format + regex.
struct StepOne {
  double loss = 0;
  int groups = 0, informative = 0;
};
StepOne step_one_from_samples(const std::vector<nlohmann::json>& samples, bool mask_truncated) {
  std::vector<nlohmann::json> rows;
  for (const auto& s : samples)
    if (s["step"] == 1) rows.push_back(s);
  StepOne out;
  double num = 0, den = 0;
  for (std::size_t g = 0; g + 4 <= rows.size(); g += 4) {  // group size 4, prompt-major
    double mean = 0;
    for (std::size_t i = g; i < g + 4; ++i) {
      const double r = rows[i]["rewards"]["format"].get<double>() + rows[i]["rewards"]["regex"].get<double>();
      EXPECT_DOUBLE_EQ(rows[i]["reward"].get<double>(), r);
      mean += r / 4;
    }
    double var = 0;
    for (std::size_t i = g; i < g + 4; ++i) var += std::pow(rows[i]["reward"].get<double>() - mean, 2) / 3;
    ++out.groups;
    out.informative += var > 0 ? 1 : 0;
    for (std::size_t i = g; i < g + 4; ++i) {
      const double a = (rows[i]["reward"].get<double>() - mean) / (std::sqrt(var) + 1e-4);
      EXPECT_NEAR(rows[i]["advantage"].get<double>(), a, 1e-6);
      const bool counts = !(mask_truncated && rows[i]["finish_reason"] == "length");
      const auto len = rows[i]["completion_tokens"].get<double>();
      num += counts ? -a * len : 0;
      den += counts ? len : 0;
    }
  }
  out.loss = den > 0 ? num / den : 0;
  return out;
}

// Stop strings that the random model's completions (random bytes) meet now and then, so that
// lengths differ (with equal lengths, dapo's loss is 0 whatever the advantages: they sum to 0 in
// each group).
const std::string kVaryingLengths =
    " --set 'rollout.stop=[\"0\", \"1\", \"2\", \"3\", \"4\", \"5\", \"6\", \"7\", \"8\", \"9\", \"a\", \"e\", "
    "\"i\", \"o\", \"t\", \"n\", \"s\", \"r\", \"h\", \"l\"]'";

TEST(Trainer, FirstStepLossEqualsTheObjectiveRecomputedFromTheSamples) {
  TinyRun run;
  auto out = run.dir.path / "run";
  auto r = run_r1train(
      run.train(out, "--set train.steps=1 --set train.log_samples_every=1 --set grpo.beta=0.1" + kVaryingLengths));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto m = read_jsonl(out / "metrics.jsonl").at(0);
  auto expected = step_one_from_samples(read_jsonl(out / "samples.jsonl"), false);
  EXPECT_EQ(expected.groups, 2);
  EXPECT_GT(std::abs(expected.loss), 1e-3);  // a value that says something
  EXPECT_NEAR(m["loss"].get<double>(), expected.loss, 1e-6);
  EXPECT_NEAR(m["policy_loss"].get<double>(), expected.loss, 1e-6);
  EXPECT_EQ(m["kl"].get<double>(), 0.0);
  EXPECT_EQ(m["clip_ratio/low_mean"].get<double>(), 0.0);
  EXPECT_EQ(m["clip_ratio/high_mean"].get<double>(), 0.0);
}

TEST(Trainer, MaskTruncatedCompletionsLeavesThemOutOfTheLoss) {
  TinyRun run;
  auto out = run.dir.path / "run";
  auto r = run_r1train(run.train(out, "--set train.steps=1 --set train.log_samples_every=1 "
                                      "--set grpo.mask_truncated_completions=true" + kVaryingLengths));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto m = read_jsonl(out / "metrics.jsonl").at(0);
  auto samples = read_jsonl(out / "samples.jsonl");
  EXPECT_GT(m["completions/clipped_ratio"].get<double>(), 0.0);  // some were cut at max_new_tokens
  EXPECT_LT(m["completions/clipped_ratio"].get<double>(), 1.0);  // and some met a stop string
  EXPECT_NEAR(m["loss"].get<double>(), step_one_from_samples(samples, true).loss, 1e-6);
  // Unmasked, the same samples would give another loss (a real difference to detect).
  EXPECT_GT(std::abs(step_one_from_samples(samples, false).loss - step_one_from_samples(samples, true).loss), 1e-6);
}

TEST(Trainer, DynamicSamplingKeepsOnlyInformativeGroups) {
  TinyRun run;
  auto out = run.dir.path / "run";
  // Two new tokens: a digit (the regex reward) is rare, so many groups score all alike.
  auto r = run_r1train(run.train(out, "--set grpo.dynamic_sampling=true --set train.log_samples_every=1 "
                                      "--set rollout.max_new_tokens=2"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  int64_t dropped = 0;
  for (const auto& m : read_jsonl(out / "metrics.jsonl")) {
    EXPECT_EQ(m["frac_reward_zero_std"].get<double>(), 0.0) << m.dump();
    dropped += m["dynamic_sampling/dropped_groups"].get<int64_t>();
  }
  EXPECT_GT(dropped, 0);  // the seeded run meets uninformative groups, and refills them
  auto expected = step_one_from_samples(read_jsonl(out / "samples.jsonl"), false);
  EXPECT_EQ(expected.informative, expected.groups);
}

TEST(Trainer, SeveralIterationsPerBatchUpdateMoreThanOnce) {
  TinyRun run;
  auto one = run.dir.path / "one", two = run.dir.path / "two";
  ASSERT_EQ(run_r1train(run.train(one, "--set train.steps=2 --set train.checkpoint_every=1")).exit_code, 0);
  auto r = run_r1train(run.train(two, "--set train.steps=2 --set train.checkpoint_every=1 --set grpo.num_iterations=2"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto state = nlohmann::json::parse(std::ifstream(two / "checkpoints" / "step-000002" / "trainer_state.json"));
  EXPECT_EQ(state["updates"], 4);  // 2 steps x 2 iterations
  // Step 1 samples the same rollout in both runs (same seed, same starting weights); the second
  // update on it moves the weights further: the step-1 models differ.
  auto a = read_jsonl(one / "metrics.jsonl").at(0), b = read_jsonl(two / "metrics.jsonl").at(0);
  EXPECT_EQ(a["reward"], b["reward"]);
  auto after_one = load_model(one / "checkpoints" / "step-000001", torch::kFloat32, torch::kCPU);
  auto after_two = load_model(two / "checkpoints" / "step-000001", torch::kFloat32, torch::kCPU);
  EXPECT_FALSE(torch::equal(after_one.model->lm_head_weight(), after_two.model->lm_head_weight()));
  // The reported loss is the last iteration's. At the first update every ratio is 1, where dapo's
  // loss is -sum A / tokens whatever the weights; the second iteration's ratios have moved.
  EXPECT_NE(a["loss"], b["loss"]);
}

TEST(Trainer, ResumedRunReproducesMetricsExactly) {
  TinyRun run;
  auto straight = run.dir.path / "straight";
  auto split = run.dir.path / "split";
  ASSERT_EQ(run_r1train(run.train(straight)).exit_code, 0);
  auto first = run_r1train(run.train(split, "--set train.steps=2"));
  ASSERT_EQ(first.exit_code, 0) << first.output;
  auto resumed = run_r1train(run.train(split, "--resume auto"));
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_NE(resumed.output.find("resumed from"), std::string::npos) << resumed.output;
  auto a = read_jsonl(straight / "metrics.jsonl");
  auto b = read_jsonl(split / "metrics.jsonl");
  ASSERT_EQ(a.size(), 4u);
  ASSERT_EQ(b.size(), 4u);
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(without_timing(a[i]).dump(), without_timing(b[i]).dump()) << "step " << i + 1;
  }
}

// Resume stays exact with each algorithm option on: GSPO, CISPO, SAPO, dual clip with delta, RLOO,
// REINFORCE++, the top-20% entropy mask (two iterations per batch, so that ratios differ from 1).
TEST(Trainer, ResumeIsExactWithEachAlgorithmOption) {
  TinyRun run;
  const std::vector<std::string> options = {
      "--set grpo.importance_sampling_level=sequence",
      "--set grpo.loss_type=cispo",
      "--set grpo.loss_type=sapo",
      "--set grpo.clip_ratio_c=3 --set grpo.delta=4",
      "--set grpo.advantage=rloo",
      "--set grpo.advantage=reinforce_pp --set grpo.scale_rewards=batch",
      "--set grpo.top_entropy_quantile=0.2",
      "--set grpo.entropy_coef=0.01",
      "--set grpo.reward_aggregation=normalize_then_sum",
      "--set grpo.beta=0.1 --set grpo.ref_sync_every=1 --set grpo.ref_mixup_alpha=0.5",
      "--set grpo.rollout_correction=tis --set grpo.rollout_correction_cap=1.5",
      "--set grpo.rollout_correction=mis --set grpo.importance_sampling_level=sequence",
      "--set 'rewards=[{name: format}, {name: overlong, buffer: 4}, {name: cosine, mode: exact}, "
      "{name: repetition, ngram: 1}]'"};
  for (std::size_t k = 0; k < options.size(); ++k) {
    const std::string extra = options[k] + " --set grpo.num_iterations=2 --set train.steps=3";
    auto straight = run.dir.path / fmt::format("straight{}", k), split = run.dir.path / fmt::format("split{}", k);
    auto a = run_r1train(run.train(straight, extra));
    ASSERT_EQ(a.exit_code, 0) << options[k] << a.output;
    auto first = run_r1train(run.train(split, extra + " --set train.steps=2"));
    ASSERT_EQ(first.exit_code, 0) << options[k] << first.output;
    auto resumed = run_r1train(run.train(split, extra + " --resume auto"));
    ASSERT_EQ(resumed.exit_code, 0) << options[k] << resumed.output;
    auto ma = read_jsonl(straight / "metrics.jsonl"), mb = read_jsonl(split / "metrics.jsonl");
    ASSERT_EQ(ma.size(), 3u);
    ASSERT_EQ(mb.size(), 3u);
    for (std::size_t i = 0; i < ma.size(); ++i)
      EXPECT_EQ(without_timing(ma[i]).dump(), without_timing(mb[i]).dump()) << options[k] << " step " << i + 1;
    if (options[k].find("top_entropy") != std::string::npos) {
      EXPECT_TRUE(ma[0].contains("entropy/kept_fraction"));
    }
    if (options[k].find("rollout_correction") != std::string::npos) {
      EXPECT_TRUE(ma[0].contains("mismatch/corrected_fraction"));
    }
    if (options[k].find("clip_ratio_c") != std::string::npos) {
      EXPECT_TRUE(ma[0].contains("clip_ratio/dual_mean"));
    }
    if (options[k].find("ref_sync_every") != std::string::npos) {
      // The refreshed reference travels with each checkpoint, and a resume reads it from there.
      EXPECT_TRUE(fs::exists(split / "checkpoints" / "step-000002" / "reference" / "model.safetensors"));
      EXPECT_NE(resumed.output.find("reference"), std::string::npos) << resumed.output;
    }
    if (options[k].find("overlong") != std::string::npos) {
      EXPECT_TRUE(ma[0].contains("rewards/overlong/mean")) << ma[0].dump();
      EXPECT_TRUE(ma[0].contains("rewards/repetition/mean")) << ma[0].dump();
    }
  }
}

TEST(Trainer, ResumeWithChangedGroupSizeIsRefused) {
  TinyRun run;
  auto out = run.dir.path / "run";
  ASSERT_EQ(run_r1train(run.train(out, "--set train.steps=2")).exit_code, 0);
  auto r = run_r1train(run.train(out, "--set rollout.group_size=2"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("now rollout.group_size: 2"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("--allow-config-change"), std::string::npos) << r.output;
  auto none = run_r1train(run.train(out, "--resume none"));
  EXPECT_EQ(none.exit_code, 2) << none.output;
  EXPECT_NE(none.output.find("already holds a run"), std::string::npos) << none.output;
  // The sft: section and train.steps do not alter a GRPO run: resuming with them changed is fine.
  auto more = run_r1train(run.train(out, "--set train.steps=3 --set sft.lr=0.5 --set sft.epochs=7"));
  EXPECT_EQ(more.exit_code, 0) << more.output;
  EXPECT_TRUE(fs::exists(out / "checkpoints" / "step-000003")) << more.output;
}

// A checkpoint written before a key existed lists no line for it: resuming with the key at its
// default passes (the older version behaved that way), with another value it is a change.
TEST(Trainer, ResumeAcceptsKeysNewerThanTheCheckpointAtTheirDefault) {
  TinyRun run;
  auto out = run.dir.path / "run";
  ASSERT_EQ(run_r1train(run.train(out, "--set train.steps=2")).exit_code, 0);
  const auto state_file = out / "checkpoints" / "step-000002" / "trainer_state.json";
  auto state = nlohmann::json::parse(std::ifstream(state_file));
  nlohmann::json lines = nlohmann::json::array();
  for (const auto& line : state["run_config"]) {
    const auto text = line.get<std::string>();
    if (text.rfind("grpo.entropy_coef:", 0) != 0 && text.rfind("grpo.ref_sync_every:", 0) != 0) lines.push_back(line);
  }
  ASSERT_EQ(lines.size() + 2, state["run_config"].size()) << state["run_config"].dump();
  state["run_config"] = lines;
  std::ofstream(state_file) << state.dump(2);
  auto changed = run_r1train(run.train(out, "--set train.steps=3 --set grpo.entropy_coef=0.01"));
  EXPECT_EQ(changed.exit_code, 2) << changed.output;
  EXPECT_NE(changed.output.find("now grpo.entropy_coef: 0.01"), std::string::npos) << changed.output;
  auto resumed = run_r1train(run.train(out, "--set train.steps=3"));
  EXPECT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_TRUE(fs::exists(out / "checkpoints" / "step-000003")) << resumed.output;
}

bool wait_for(const std::function<bool()>& cond, double seconds);

// r1train running in the background; its exit code lands in a file when it ends.
struct Background {
  pid_t pid = 0;
  fs::path exit_file;
  Background(const std::string& args, const fs::path& log) {
    auto pid_file = log.string() + ".pid";
    exit_file = log.string() + ".exit";
    test::run_command("sh -c '( \"" + std::string(R1_BINARY) + "\" " + args + " > " + log.string() +
                      " 2>&1 & echo $! > " + pid_file + "; wait $!; echo $? > " + exit_file.string() +
                      " ) > /dev/null 2>&1 &'");
    wait_for([&] { return fs::exists(pid_file) && fs::file_size(pid_file) > 0; }, 30);
    std::ifstream(pid_file) >> pid;
  }
  // The exit code once the process ended (waits up to `seconds`), or -1.
  int exit_code(double seconds) const {
    if (!wait_for([&] { return fs::exists(exit_file) && fs::file_size(exit_file) > 0; }, seconds)) return -1;
    int code = -1;
    std::ifstream(exit_file) >> code;
    return code;
  }
};

bool wait_for(const std::function<bool()>& cond, double seconds) {
  auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < end) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  return false;
}

bool has_tmp_checkpoint(const fs::path& run_dir) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(run_dir / "checkpoints", ec)) {
    if (e.path().filename().string().rfind(".tmp-", 0) == 0) return true;
  }
  return false;
}

TEST(Trainer, SigkillWhileWritingACheckpointLeavesThePreviousOneAndResumeContinues) {
  TinyRun run;
  auto out = run.dir.path / "run";
  auto args = run.train(out, "--set train.steps=6 --set train.checkpoint_every=1");
  Background proc(args, run.dir.path / "first.log");
  // Wait until step-000001 is complete and the next checkpoint is being written, then kill -9.
  ASSERT_TRUE(wait_for([&] { return fs::exists(out / "checkpoints" / "step-000001" / "trainer_state.json") &&
                                    has_tmp_checkpoint(out); },
                       120))
      << "never saw a checkpoint being written";
  ::kill(proc.pid, SIGKILL);
  EXPECT_EQ(proc.exit_code(30), 128 + SIGKILL);
  auto latest = find_latest_checkpoint(out);
  ASSERT_TRUE(latest.has_value());
  EXPECT_NO_THROW(load_model(*latest, torch::kFloat32, torch::kCPU));
  auto r = run_r1train(args + " --resume auto");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("resumed from"), std::string::npos) << r.output;
  EXPECT_EQ(read_jsonl(out / "metrics.jsonl").size(), 6u);
  EXPECT_EQ(find_latest_checkpoint(out)->filename(), "step-000006");
}

TEST(Trainer, SigintSavesAndExits130) {
  TinyRun run;
  auto out = run.dir.path / "run";
  auto log = run.dir.path / "int.log";
  Background proc(run.train(out, "--set train.steps=500 --set train.checkpoint_every=0"), log);
  ASSERT_TRUE(wait_for([&] { return fs::exists(out / "metrics.jsonl") && fs::file_size(out / "metrics.jsonl") > 0; },
                       120));
  ::kill(proc.pid, SIGINT);
  EXPECT_EQ(proc.exit_code(120), 130);
  std::ifstream in(log);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("continue with --resume auto"), std::string::npos) << text;
  auto latest = find_latest_checkpoint(out);
  ASSERT_TRUE(latest.has_value()) << text;
  auto saved_step = std::stoi(latest->filename().string().substr(5));
  EXPECT_EQ(read_jsonl(out / "metrics.jsonl").size(), static_cast<std::size_t>(saved_step));
}


TEST(Trainer, ASecondRunOnABusyDirectoryIsRefusedAndTouchesNothing) {
  TinyRun run;
  auto out = run.dir.path / "run";
  Background first(run.train(out, "--set train.steps=500 --set train.checkpoint_every=1"), run.dir.path / "a.log");
  ASSERT_TRUE(wait_for([&] { return fs::exists(out / "checkpoints" / "latest"); }, 120));
  auto second = run_r1train(run.train(out));
  EXPECT_EQ(second.exit_code, 2) << second.output;
  EXPECT_NE(second.output.find(fmt::format("is in use by another r1train run (pid {} on host", first.pid)),
            std::string::npos)
      << second.output;
  ::kill(first.pid, SIGINT);
  EXPECT_EQ(first.exit_code(120), 130);
  // The first run's logs are whole: every line parses and the steps run 1, 2, 3, ...
  auto metrics = read_jsonl(out / "metrics.jsonl");
  for (std::size_t i = 0; i < metrics.size(); ++i) EXPECT_EQ(metrics[i]["step"], i + 1);
  // Once it has ended, the directory is free again (the lock dies with the process).
  EXPECT_EQ(run_r1train(run.train(out, "--resume auto --set train.steps=" + std::to_string(metrics.size() + 1)))
                .exit_code,
            0);
}

TEST(Trainer, ACheckpointWriteThatFailsIsExit1AndKeepsThePreviousCheckpoint) {
  TinyRun run;
  auto out = run.dir.path / "run";
  ASSERT_EQ(run_r1train(run.train(out, "--set train.steps=2")).exit_code, 0);
  const auto optimizer_bytes = fs::file_size(out / "checkpoints" / "step-000002" / "optimizer.pt");
  // A file-size limit below optimizer.pt's size (in KiB, for bash's ulimit -f): the next checkpoint fails.
  const auto limit_kib = optimizer_bytes / 1024 / 2;
  auto r = test::run_command(fmt::format("bash -c 'ulimit -f {}; \"{}\" {}'", limit_kib, R1_BINARY,
                                         run.train(out, "--resume auto")));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("writing checkpoint " + (out / "checkpoints" / "step-000004").string() + " failed"),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("the last good checkpoint is " + (out / "checkpoints" / "step-000002").string()),
            std::string::npos)
      << r.output;
  EXPECT_EQ(r.output.find("terminate called"), std::string::npos) << r.output;
  EXPECT_EQ(find_latest_checkpoint(out)->filename(), "step-000002");
  EXPECT_FALSE(has_tmp_checkpoint(out));  // the partial one was removed
  EXPECT_NO_THROW(load_model(out / "checkpoints" / "step-000002", torch::kFloat32, torch::kCPU));
}

TEST(Trainer, AnUnusableNewestCheckpointIsNamedAndTheOneBeforeIsUsed) {
  TinyRun run;
  auto out = run.dir.path / "run";
  ASSERT_EQ(run_r1train(run.train(out)).exit_code, 0);  // checkpoints at 2 and 4
  std::ofstream(out / "checkpoints" / "step-000004" / "trainer_state.json", std::ios::trunc) << "{\"step\": 4, \"upd";
  // Named with --resume, the broken checkpoint is refused.
  auto named = run_r1train(run.train(out, "--resume " + (out / "checkpoints" / "step-000004").string()));
  EXPECT_EQ(named.exit_code, 2) << named.output;
  auto r = run_r1train(run.train(out, "--set train.steps=5"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("checkpoint " + (out / "checkpoints" / "step-000004").string() + " is unusable"),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("resuming from " + (out / "checkpoints" / "step-000002").string()), std::string::npos)
      << r.output;
  // A state with impossible values is refused, naming the field.
  const auto state_file = out / "checkpoints" / "step-000005" / "trainer_state.json";
  auto state = nlohmann::json::parse(std::ifstream(state_file));
  state["step"] = -5;
  std::ofstream(state_file, std::ios::trunc) << state.dump();
  auto negative = run_r1train(run.train(out, "--set train.steps=6"));
  EXPECT_EQ(negative.exit_code, 2) << negative.output;
  EXPECT_NE(negative.output.find("'step' is -5; it must be >= 0"), std::string::npos) << negative.output;
}

TEST(Trainer, SigtermDuringStartUpExits130) {
  TinyRun run;
  auto out = run.dir.path / "run";
  Background proc(run.train(out, "--set train.steps=500"), run.dir.path / "term.log");
  // Once r1train has re-executed itself (its environment then holds OMP_WAIT_POLICY), its handlers
  // were installed and SIGTERM blocked across the exec: the signal now lands in the start-up of the
  // new image or the model load, before any step. (Earlier, before main, nothing of r1train's runs.)
  auto environ_has = [&](const std::string& entry) {
    std::ifstream in("/proc/" + std::to_string(proc.pid) + "/environ", std::ios::binary);
    std::string env((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return env.find(entry) != std::string::npos;
  };
  ASSERT_TRUE(wait_for([&] { return environ_has("OMP_WAIT_POLICY=passive"); }, 60));
  ::kill(proc.pid, SIGTERM);
  EXPECT_EQ(proc.exit_code(120), 130);
  std::ifstream in(run.dir.path / "term.log");
  std::string log((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(log.find("stopped before step 1 began"), std::string::npos) << log;
}

// The update must score exactly the tokens the sampler drew, with the probabilities it drew them
// with: otherwise the policy gradient reinforces tokens other than the rewarded ones. Prompts of
// different lengths exercise the left padding of both paths.
TEST(Rollout, TrainingLogProbsEqualSamplingLogProbs) {
  auto m = load_model(test::source_dir() / "data/demo-base", torch::kFloat32, torch::kCPU);
  auto tok = Tokenizer::load(test::source_dir() / "data/demo-base");
  RolloutBatch batch;
  std::vector<std::vector<int>> prompt_ids;
  for (const char* text : {"Q: 345+537=?\n", "Q: 12+9=?\n", "Q: 1+1+1+1+1+1=?\n"}) {
    PromptGroup g;
    g.prompt_text = text;
    g.prompt_ids = encode_prompt(*tok, text);
    prompt_ids.push_back(g.prompt_ids);
    batch.groups.push_back(std::move(g));
  }
  GenerateOptions options;
  options.group_size = 4;
  options.max_new_tokens = 40;
  options.batch_size = 5;
  options.sampling.temperature = 0.7;
  options.stop = {"</answer>"};
  options.seed = 3;
  m.model->eval();
  torch::NoGradGuard no_grad;
  for (auto& c : generate(m.model, *tok, prompt_ids, options))
    batch.groups[static_cast<std::size_t>(c.prompt_index)].samples.push_back({std::move(c), {}, 0, 0});
  const auto rows = sample_refs(batch);
  auto tb = make_training_batch(rows, *tok->pad_id(), false, torch::kCPU);
  auto lp = completion_logprobs(m.model, tb, 0.7).logp;  // [N, T]
  for (std::size_t r = 0; r < rows.size(); ++r) {
    const auto& c = rows[r].sample->completion;
    for (std::size_t j = 0; j < c.token_ids.size(); ++j) {
      EXPECT_EQ(tb.targets[r][j].item<int64_t>(), c.token_ids[j]);
      EXPECT_NEAR(lp[r][j].item<float>(), c.logprobs[j], 1e-4) << "row " << r << " token " << j;
    }
    EXPECT_EQ(tb.completion_mask[r].sum().item<float>(), static_cast<float>(c.token_ids.size()));
  }
}

// The KL reference (rl/reference): inactive without beta; a frozen copy of model.path that equals
// the policy at the start, ignores the policy's updates until grpo.ref_sync_every's step, then moves
// to alpha policy + (1 - alpha) ref and from then on is saved with each checkpoint; with LoRA, the
// policy with its adapters bypassed for the call only.
TEST(KlReference, FrozenCopyRefreshesAndLoraBypassesTheAdapters) {
  const auto base_dir = test::source_dir() / "data/demo-base";
  // Two rows: a 3-token prompt, a 4-token completion.
  TrainingBatch tb;
  tb.input_ids = torch::tensor({10, 11, 12, 40, 41, 42, 43, 20, 21, 22, 50, 51, 52, 53}, torch::kInt64).view({2, 7});
  tb.attention_mask = torch::ones({2, 7}, torch::kInt64);
  tb.targets = tb.input_ids.slice(1, 3).contiguous();            // [2, 4]
  tb.completion_mask = torch::ones({2, 4});
  tb.prompt_len = 3;
  tb.left_padded = false;
  auto logp = [&](LoadedModel& m) {
    torch::NoGradGuard no_grad;
    return completion_logprobs(m.model, tb, 1.0, false).logp;  // [2, 4]
  };

  Config c;
  c.model.path = base_dir.string();
  auto unused = load_model(base_dir, torch::kFloat32, torch::kCPU);
  EXPECT_FALSE(KlReference(c, std::nullopt, unused.model, torch::kCPU).active());

  c.grpo.beta = 0.04;
  c.grpo.ref_sync_every = 2;
  c.grpo.ref_mixup_alpha = 0.25;
  auto policy = load_model(base_dir, torch::kFloat32, torch::kCPU);
  KlReference ref(c, std::nullopt, policy.model, torch::kCPU);
  ASSERT_TRUE(ref.active());
  const auto start = logp(policy);
  EXPECT_TRUE(torch::equal(ref.logprobs(tb, 1.0), start));
  EXPECT_EQ(ref.weights_to_save(1), nullptr);
  {
    torch::NoGradGuard no_grad;
    for (auto& p : policy.model->parameters()) p.add_(0.01);
  }
  ref.after_step(1);  // not due: the reference is model.path's still
  EXPECT_TRUE(torch::equal(ref.logprobs(tb, 1.0), start));
  ref.after_step(2);  // due: ref = 0.25 (w + 0.01) + 0.75 w = w + 0.0025
  CausalLM* saved = ref.weights_to_save(2);
  ASSERT_NE(saved, nullptr);
  auto moved = (*saved)->named_parameters();
  for (const auto& item : policy.model->named_parameters())
    EXPECT_LT((moved[item.key()] - (item.value() - 0.0075)).abs().max().item<double>(), 1e-6) << item.key();

  c.lora.r = 4;
  auto adapted = load_model(base_dir, torch::kFloat32, torch::kCPU);
  add_lora(adapted.model, c.lora, 1);
  {
    torch::NoGradGuard no_grad;
    for (auto& t : lora_parameters(adapted.model)) t.normal_(0, 0.1);  // B is 0 at the start: move it
  }
  const auto with_adapters = logp(adapted);
  ASSERT_FALSE(torch::allclose(with_adapters, start));
  KlReference lora_ref(c, std::nullopt, adapted.model, torch::kCPU);
  EXPECT_EQ(lora_ref.weights_to_save(4), nullptr);  // the base is model.path's: nothing to save
  auto base = load_model(base_dir, torch::kFloat32, torch::kCPU);
  EXPECT_TRUE(torch::equal(lora_ref.logprobs(tb, 1.0), logp(base)));
  EXPECT_TRUE(torch::equal(logp(adapted), with_adapters));  // the adapters are on again
}

}  // namespace
}  // namespace r1
