// GRPO training end to end on a tiny random model: metrics, checkpoints, exact resume, signals, SIGKILL.
#include <gtest/gtest.h>
#include <signal.h>
#include <torch/torch.h>

#include <fmt/format.h>

#include <chrono>
#include <functional>
#include <numeric>
#include <thread>

#include "r1/checkpoint.h"
#include "r1/model.h"
#include "r1/rollout.h"
#include "r1/tokenizer.h"
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

std::vector<nlohmann::json> read_jsonl(const fs::path& p) {
  std::vector<nlohmann::json> out;
  std::ifstream in(p);
  for (std::string line; std::getline(in, line);) out.push_back(nlohmann::json::parse(line));
  return out;
}

// Metrics minus the wall-clock ones, which differ between any two runs.
nlohmann::json without_timing(nlohmann::json m) {
  for (auto it = m.begin(); it != m.end();) {
    if (it.key().rfind("timing/", 0) == 0 || it.key().rfind("throughput/", 0) == 0) {
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
  // samples.jsonl every 2 steps: 2 prompts x 4 completions at steps 2 and 4.
  auto samples = read_jsonl(out / "samples.jsonl");
  ASSERT_EQ(samples.size(), 16u);
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


// The update must score exactly the tokens the sampler drew, with the probabilities it drew them
// with: otherwise the policy gradient reinforces tokens other than the rewarded ones. Prompts of
// different lengths exercise the left padding of both paths.
TEST(Rollout, TrainingLogProbsEqualSamplingLogProbs) {
  auto m = load_model(test::source_dir() / "data/demo-base", torch::kFloat32, torch::kCPU);
  auto tok = Tokenizer::load(test::source_dir() / "data/demo-base");
  RolloutBatch batch;
  batch.group_size = 4;
  for (const char* text : {"Q: 345+537=?\n", "Q: 12+9=?\n", "Q: 1+1+1+1+1+1=?\n"}) {
    batch.prompt_texts.push_back(text);
    batch.prompt_ids.push_back(encode_prompt(*tok, text));
  }
  GenerateOptions options;
  options.group_size = batch.group_size;
  options.max_new_tokens = 40;
  options.batch_size = 5;
  options.sampling.temperature = 0.7;
  options.stop = {"</answer>"};
  auto gen = make_generator(3, torch::kCPU);
  m.model->eval();
  torch::NoGradGuard no_grad;
  batch.completions = generate(m.model, *tok, batch.prompt_ids, options, gen);
  batch.advantages = torch::zeros({static_cast<int64_t>(batch.completions.size())});
  std::vector<std::size_t> rows(batch.completions.size());
  std::iota(rows.begin(), rows.end(), 0);
  auto tb = make_training_batch(batch, rows, *tok->pad_id(), false, torch::kCPU);
  auto lp = completion_logprobs(m.model, tb, 0.7).logp;  // [N, T]
  for (std::size_t r = 0; r < rows.size(); ++r) {
    const auto& c = batch.completions[r];
    for (std::size_t j = 0; j < c.token_ids.size(); ++j) {
      EXPECT_EQ(tb.targets[r][j].item<int64_t>(), c.token_ids[j]);
      EXPECT_NEAR(lp[r][j].item<float>(), c.logprobs[j], 1e-4) << "row " << r << " token " << j;
    }
    EXPECT_EQ(tb.completion_mask[r].sum().item<float>(), static_cast<float>(c.token_ids.size()));
  }
}

}  // namespace
}  // namespace r1
