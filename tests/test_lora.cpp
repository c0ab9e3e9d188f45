// LoRA: adapters start as the base, train alone, match the merged model and a hand-built one, and use PEFT's layout.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include "r1/core/error.h"
#include "r1/model/decoder.h"
#include "r1/model/lora.h"
#include "r1/model/safetensors.h"
#include "r1/train/optimizer.h"
#include "test_util.h"

namespace r1 {
namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;

fs::path fixture(const std::string& name) { return test::source_dir() / "tests/fixtures/models" / name; }

// A fixed batch of token ids [2, 6] within the fixtures' vocabulary of 320.
torch::Tensor some_ids() {
  return torch::tensor({{5, 17, 42, 99, 3, 250}, {7, 7, 120, 64, 301, 11}}, torch::kInt64);
}

torch::Tensor logprobs(CausalLM& model, const torch::Tensor& ids) {  // [2, 6, V]
  return torch::log_softmax(model->logits(ids, torch::ones_like(ids)).to(torch::kFloat64), -1);
}

LoraConfig lora_config(int r, double alpha, std::vector<std::string> targets = {"all-linear"}) {
  LoraConfig c;
  c.r = r;
  c.alpha = alpha;
  c.target_modules = std::move(targets);
  return c;
}

// Gives every B random values, so that the adapters change the outputs.
void randomise_b(CausalLM& model, uint64_t seed) {
  torch::NoGradGuard no_grad;
  torch::manual_seed(seed);
  for (const auto& [name, t] : lora_tensors(model))
    if (name.ends_with("lora_B.weight")) t.copy_(torch::randn(t.sizes()) * 0.05);
}

// PEFT's initialisation (B = 0) leaves the model's outputs exactly as they were, and gradients
// reach the adapters only: the base's parameters do not even require them.
TEST(Lora, FreshAdaptersStartAsTheBaseAndOnlyTheyGetGradients) {
  auto loaded = load_model(fixture("qwen2_bias"), torch::kFloat32, torch::kCPU);
  auto& model = loaded.model;
  const auto ids = some_ids();
  torch::Tensor before;
  {
    torch::NoGradGuard no_grad;
    before = model->logits(ids, torch::ones_like(ids));
  }
  for (auto& p : model->parameters()) p.requires_grad_(false);
  add_lora(model, lora_config(4, 8), 1);
  {
    torch::NoGradGuard no_grad;
    EXPECT_TRUE(torch::equal(model->logits(ids, torch::ones_like(ids)), before));
  }
  // 2 layers x 7 linear kinds, an A and a B each.
  EXPECT_EQ(lora_parameters(model).size(), 2u * 7u * 2u);
  auto loss = model->logits(ids, torch::ones_like(ids)).logsumexp(-1).mean();
  loss.backward();
  for (const auto& p : model->parameters()) EXPECT_FALSE(p.grad().defined());
  double b_grad = 0;
  for (const auto& [name, t] : lora_tensors(model)) {
    ASSERT_TRUE(t.grad().defined()) << name;
    // With B = 0, dL/dA = 0 (A's output is multiplied by B); B's gradient is not.
    if (name.ends_with("lora_A.weight")) EXPECT_EQ(t.grad().abs().max().item<double>(), 0.0) << name;
    else b_grad += t.grad().abs().sum().item<double>();
  }
  EXPECT_GT(b_grad, 0.0);
  // A ~ U(-1/sqrt(in), 1/sqrt(in)): in = 32 for q_proj, bound 0.1768.
  const auto a = lora_tensors(model).front().second;  // a copy: the list is a temporary
  EXPECT_LE(a.abs().max().item<double>(), 1.0 / std::sqrt(32.0));
  EXPECT_GT(a.abs().max().item<double>(), 0.1);
}

// Base + adapter (unmerged), merge_lora's model, and a merged model built here from the two
// safetensors files (W + alpha/r * B A by hand, in float64) give the same log-probs: 1e-5 in
// float32 (measured: about 1e-6).
TEST(Lora, AdaptedLogProbsEqualTheMergedModelAndAHandBuiltOne) {
  test::TempDir dir;
  torch::NoGradGuard no_grad;
  auto loaded = load_model(fixture("qwen2_bias"), torch::kFloat32, torch::kCPU);
  auto& model = loaded.model;
  add_lora(model, lora_config(4, 8), 2);
  randomise_b(model, 3);
  const auto ids = some_ids();
  const auto adapted = logprobs(model, ids);
  save_adapter(model, lora_config(4, 8), dir.path / "adapter", fixture("qwen2_bias").string());

  // By hand from the files: every adapted weight W + 2 * B A (alpha 8 / r 4 = 2).
  auto base = SafetensorsFile::open(fixture("qwen2_bias") / "model.safetensors");
  auto adapter = SafetensorsFile::open(dir.path / "adapter/adapter_model.safetensors");
  std::vector<std::pair<std::string, torch::Tensor>> merged;
  int adapted_weights = 0;
  for (const auto& e : base.entries()) {
    auto w = base.view(e).to(torch::kFloat64);
    const std::string stem = "base_model.model." + e.name.substr(0, e.name.size() - std::string(".weight").size());
    const auto* a = adapter.find(stem + ".lora_A.weight");
    const auto* b = adapter.find(stem + ".lora_B.weight");
    if (a && b) {
      w = w + 2.0 * torch::matmul(adapter.view(*b).to(torch::kFloat64), adapter.view(*a).to(torch::kFloat64));
      ++adapted_weights;
    }
    merged.emplace_back(e.name, w.to(torch::kFloat32));
  }
  EXPECT_EQ(adapted_weights, 14);
  fs::create_directories(dir.path / "by_hand");
  write_safetensors(dir.path / "by_hand/model.safetensors", merged);
  for (const char* f : {"config.json"}) fs::copy_file(fixture("qwen2_bias") / f, dir.path / "by_hand" / f);
  auto by_hand = load_model(dir.path / "by_hand", torch::kFloat32, torch::kCPU);
  EXPECT_LT((logprobs(by_hand.model, ids) - adapted).abs().max().item<double>(), 1e-5);

  merge_lora(model);
  EXPECT_FALSE(has_lora(model));
  EXPECT_LT((logprobs(model, ids) - adapted).abs().max().item<double>(), 1e-5);

  // The same adapter read back into a fresh base gives the same log-probs exactly.
  auto again = load_model(fixture("qwen2_bias"), torch::kFloat32, torch::kCPU);
  const auto read = load_adapter(again.model, dir.path / "adapter");
  EXPECT_EQ(read.r, 4);
  EXPECT_TRUE(torch::equal(logprobs(again.model, ids), adapted));
  // Bypassed, it is the base again (the KL reference); adapted again when the scope ends.
  auto plain = load_model(fixture("qwen2_bias"), torch::kFloat32, torch::kCPU);
  {
    LoraBypass base(again.model);
    EXPECT_TRUE(torch::equal(logprobs(again.model, ids), logprobs(plain.model, ids)));
  }
  EXPECT_TRUE(torch::equal(logprobs(again.model, ids), adapted));
}

// adapter_config.json and the tensors follow PEFT's layout.
TEST(Lora, FilesFollowPeftsLayout) {
  test::TempDir dir;
  auto loaded = load_model(fixture("qwen3_qknorm"), torch::kFloat32, torch::kCPU);
  auto cfg = lora_config(8, 16, {"q_proj", "v_proj"});
  cfg.use_rslora = true;
  add_lora(loaded.model, cfg, 4);
  save_adapter(loaded.model, cfg, dir.path, "Qwen/Qwen3-0.6B");
  auto j = json::parse(std::ifstream(dir.path / "adapter_config.json"));
  EXPECT_EQ(j["peft_type"], "LORA");
  EXPECT_EQ(j["task_type"], "CAUSAL_LM");
  EXPECT_EQ(j["r"], 8);
  EXPECT_EQ(j["lora_alpha"], 16.0);
  EXPECT_EQ(j["lora_dropout"], 0.0);
  EXPECT_EQ(j["target_modules"], json({"q_proj", "v_proj"}));
  EXPECT_EQ(j["use_rslora"], true);
  EXPECT_EQ(j["bias"], "none");
  EXPECT_EQ(j["base_model_name_or_path"], "Qwen/Qwen3-0.6B");
  auto f = SafetensorsFile::open(dir.path / "adapter_model.safetensors");
  EXPECT_EQ(f.entries().size(), 2u * 2u * 2u);  // 2 layers x {q, v} x {A, B}
  const auto* a = f.find("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight");
  const auto* b = f.find("base_model.model.model.layers.1.self_attn.v_proj.lora_B.weight");
  ASSERT_TRUE(a && b);
  const auto& c = loaded.config;
  EXPECT_EQ(a->shape, (std::vector<int64_t>{8, c.hidden_size}));                        // [r, in]
  EXPECT_EQ(b->shape, (std::vector<int64_t>{c.num_key_value_heads * c.head_dim, 8}));  // [out, r]
  EXPECT_EQ(a->dtype, "F32");
  EXPECT_DOUBLE_EQ(lora_scaling(cfg), 16.0 / std::sqrt(8.0));  // rsLoRA: alpha / sqrt(r)
}

// An adapter written here by hand in PEFT's layout: r = 1 on layer 0's q_proj only
// (layers_to_transform [0]), A = e_3 (a
// [1, 32] row picking input unit 3), B = 0.5 e_5 (a [32, 1] column writing output unit 5),
// lora_alpha 4, so scaling = 4 / 1 = 4 and the weight change is 4 * B A = 4 * 0.5 * 1 = 2 at
// q_proj.weight[5][3] and 0 elsewhere. The base with that one weight raised by 2 (edited here in
// its safetensors file) must give the same log-probs.
TEST(Lora, AHandWrittenPeftAdapterGivesTheExpectedLogProbs) {
  test::TempDir dir;
  dir.write("adapter/adapter_config.json", R"({"peft_type": "LORA", "task_type": "CAUSAL_LM", "r": 1,
    "lora_alpha": 4, "lora_dropout": 0.0, "target_modules": ["q_proj"], "layers_to_transform": [0],
    "bias": "none", "use_rslora": false})");
  auto A = torch::zeros({1, 32});
  A[0][3] = 1.0;
  auto B = torch::zeros({32, 1});
  B[5][0] = 0.5;
  write_safetensors(dir.path / "adapter/adapter_model.safetensors",
                    {{"base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight", A},
                     {"base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight", B}});
  auto base = SafetensorsFile::open(fixture("llama3_rope") / "model.safetensors");
  std::vector<std::pair<std::string, torch::Tensor>> edited;
  for (const auto& e : base.entries()) {
    auto w = base.view(e).to(torch::kFloat32);  // stored in bf16: edited and kept in float32
    if (e.name == "model.layers.0.self_attn.q_proj.weight") w[5][3] += 2.0;
    edited.emplace_back(e.name, w);
  }
  fs::create_directories(dir.path / "edited");
  write_safetensors(dir.path / "edited/model.safetensors", edited);
  fs::copy_file(fixture("llama3_rope") / "config.json", dir.path / "edited/config.json");

  torch::NoGradGuard no_grad;
  const auto ids = some_ids();
  auto expected = load_model(dir.path / "edited", torch::kFloat32, torch::kCPU);
  auto adapted = load_model(fixture("llama3_rope"), torch::kFloat32, torch::kCPU);
  const auto cfg = load_adapter(adapted.model, dir.path / "adapter");
  EXPECT_EQ(cfg.r, 1);
  EXPECT_EQ(lora_tensors(adapted.model).size(), 2u);  // layer 0 only: the other layer has no tensors
  auto plain = load_model(fixture("llama3_rope"), torch::kFloat32, torch::kCPU);
  const double change = (logprobs(expected.model, ids) - logprobs(plain.model, ids)).abs().max().item<double>();
  EXPECT_GT(change, 1e-3);  // the edit matters
  EXPECT_LT((logprobs(adapted.model, ids) - logprobs(expected.model, ids)).abs().max().item<double>(), 1e-5);
}

std::string adapter_error(const std::string& model, const fs::path& adapter) {
  auto loaded = load_model(fixture(model), torch::kFloat32, torch::kCPU);
  try {
    load_adapter(loaded.model, adapter);
  } catch (const InputError& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(Lora, BadAdaptersAndTargetsAreNamed) {
  test::TempDir dir;
  // Tensors whose shapes do not fit (here: adapter_config.json says r = 2, the tensors have 4).
  auto loaded = load_model(fixture("qwen2_bias"), torch::kFloat32, torch::kCPU);
  add_lora(loaded.model, lora_config(4, 8), 5);
  save_adapter(loaded.model, lora_config(4, 8), dir.path / "a", "x");
  auto j = json::parse(std::ifstream(dir.path / "a/adapter_config.json"));
  j["r"] = 2;
  test::TempDir other;
  fs::copy(dir.path / "a", other.path / "a");
  std::ofstream(other.path / "a/adapter_config.json") << j.dump();
  const auto shape = adapter_error("qwen2_bias", other.path / "a");
  EXPECT_NE(shape.find("adapter_model.safetensors: tensor 'base_model.model.model.layers."), std::string::npos) << shape;
  EXPECT_NE(shape.find("has shape [4, "), std::string::npos) << shape;
  EXPECT_NE(shape.find("this model with r = 2 needs [2, "), std::string::npos) << shape;

  // Another architecture: tensors for modules the model lacks.
  test::TempDir fake;
  fake.write("adapter_config.json", R"({"peft_type": "LORA", "r": 1, "lora_alpha": 1, "target_modules": ["c_attn"]})");
  write_safetensors(fake.path / "adapter_model.safetensors",
                    {{"base_model.model.transformer.h.0.attn.c_attn.lora_A.weight", torch::zeros({1, 32})}});
  const auto lacks = adapter_error("qwen2_bias", fake.path);
  EXPECT_NE(lacks.find("transformer.h.0.attn.c_attn.lora_A.weight' is not a LoRA weight of a linear module"),
            std::string::npos)
      << lacks;

  // Missing files, unsupported settings.
  EXPECT_NE(adapter_error("qwen2_bias", dir.path / "none").find("adapter_config.json: not found"), std::string::npos);
  fake.write("adapter_config.json", R"({"peft_type": "LORA", "r": 1, "lora_alpha": 1, "use_dora": true})");
  EXPECT_NE(adapter_error("qwen2_bias", fake.path).find("use_dora is true"), std::string::npos);

  // An unknown target module lists the model's linear modules.
  try {
    add_lora(loaded.model, lora_config(4, 8, {"c_attn"}), 1);
    ADD_FAILURE() << "no error";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("'c_attn' is not a linear module of this model; its linear modules are "
                                         "q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj"),
              std::string::npos)
        << e.what();
  }
}

// Training only the adapters (frozen base, optimizer over lora_parameters, state saved and
// reloaded mid-way) leaves every base weight bit-identical to the loaded one, for a bf16 base too.
TEST(Lora, TrainingAndReloadingLeaveTheBaseBitIdentical) {
  test::TempDir dir;
  for (auto dtype : {torch::kFloat32, torch::kBFloat16}) {
    auto loaded = load_model(fixture("qwen2_bias"), dtype, torch::kCPU);
    auto& model = loaded.model;
    std::vector<torch::Tensor> original;
    for (const auto& p : model->parameters()) {
      original.push_back(p.detach().clone());
      p.requires_grad_(false);
    }
    add_lora(model, lora_config(4, 8), 6);
    OptimConfig oc;
    oc.lr = 1e-2;
    Optimizer opt(lora_parameters(model), oc, 10);
    const auto ids = some_ids();
    for (int step = 0; step < 4; ++step) {
      opt.zero_grad();
      model->logits(ids, torch::ones_like(ids)).to(torch::kFloat32).logsumexp(-1).mean().backward();
      ASSERT_TRUE(opt.step(step).applied);
      if (step == 1) {  // a checkpoint and a resume half-way
        save_adapter(model, lora_config(4, 8), dir.path, "x");
        opt.save(dir.path);
        opt.load(dir.path);
      }
    }
    auto params = model->parameters();
    for (std::size_t i = 0; i < params.size(); ++i) EXPECT_TRUE(torch::equal(params[i], original[i])) << i;
    double moved = 0;
    for (const auto& [name, t] : lora_tensors(model))
      if (name.ends_with("lora_B.weight")) moved += t.abs().sum().item<double>();
    EXPECT_GT(moved, 0.0);
  }
}

// With LoRA the KL reference is the base model itself (the adapters off), which cannot be refreshed
// toward the policy: the demo's LoRA runs keep a fixed reference, and no entropy term, as before.
constexpr const char* kLoraDemo = " --set grpo.ref_sync_every=0 --set grpo.ref_mixup_alpha=0.6 --set grpo.entropy_coef=0 ";

// The demo config for a few steps with LoRA r 8 on every linear layer.
std::string lora_run(const fs::path& out, int steps, const std::string& extra = "") {
  return fmt::format("train --config '{}' --set train.steps={} --set eval.every=0 --set train.checkpoint_every=1 "
                     "--set train.log_samples_every=0 --set train.output_dir='{}' --set lora.r=8 --set lora.alpha=16 "
                     "--set grpo.beta=0.04 --set optim.lr=2e-3 {} {}",
                     (test::source_dir() / "configs/demo.yaml").string(), steps, out.string(), kLoraDemo, extra);
}

// W + scaling B A from the base's file and an adapter checkpoint's, as merge computes it.
std::map<std::string, torch::Tensor> merged_from_files(const fs::path& base_dir, const fs::path& adapter_dir,
                                                       double scaling) {
  auto base = SafetensorsFile::open(base_dir / "model.safetensors");
  auto adapter = SafetensorsFile::open(adapter_dir / "adapter_model.safetensors");
  std::map<std::string, torch::Tensor> out;
  for (const auto& e : base.entries()) {
    auto w = base.view(e).clone();
    const std::string stem = "base_model.model." + e.name.substr(0, e.name.size() - std::string(".weight").size());
    if (const auto* a = adapter.find(stem + ".lora_A.weight")) {
      const auto* b = adapter.find(stem + ".lora_B.weight");
      auto delta = torch::matmul(adapter.view(*b).to(torch::kFloat32), adapter.view(*a).to(torch::kFloat32)) * scaling;
      w = (w.to(torch::kFloat32) + delta).to(w.scalar_type());
    }
    out[e.name] = w;
  }
  return out;
}

// End to end: a LoRA run's checkpoints hold the adapter (PEFT layout) and the tokenizer, not the
// base; a run stopped and resumed reproduces the straight run's metrics exactly; the merged model
// written with each checkpoint (lora.save_merged) equals the base file + scaling B A, so the base
// in memory was never changed, across the resume too; `r1train merge` writes the same weights,
// and eval and generate take --adapter.
TEST(LoraRun, CheckpointsResumeExactlyAndTheBaseNeverChanges) {
  test::TempDir dir;
  const fs::path base = test::source_dir() / "data/demo-base";
  auto straight = test::run_r1train(lora_run(dir.path / "straight", 4));
  ASSERT_EQ(straight.exit_code, 0) << straight.output;
  EXPECT_NE(straight.output.find("LoRA r 8 alpha 16"), std::string::npos) << straight.output;
  auto first = test::run_r1train(lora_run(dir.path / "split", 2, "--set lora.save_merged=true"));
  ASSERT_EQ(first.exit_code, 0) << first.output;
  auto resumed = test::run_r1train(lora_run(dir.path / "split", 4, "--set lora.save_merged=true --resume auto"));
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  auto a = test::read_jsonl(dir.path / "straight/metrics.jsonl"), b = test::read_jsonl(dir.path / "split/metrics.jsonl");
  ASSERT_EQ(a.size(), 4u);
  ASSERT_EQ(b.size(), 4u);
  for (std::size_t i = 0; i < a.size(); ++i)
    for (const char* key : {"reward", "loss", "kl", "grad_norm", "entropy"}) EXPECT_EQ(a[i][key], b[i][key]) << i << key;
  EXPECT_GT(a[3]["kl"].get<double>(), 0.0);  // the reference (adapters off) differs from the policy

  const fs::path last = dir.path / "split/checkpoints/step-000004";
  for (const char* f : {"adapter_config.json", "adapter_model.safetensors", "optimizer.pt", "trainer_state.json",
                        "tokenizer.json", "merged/model.safetensors"})
    EXPECT_TRUE(fs::exists(last / f)) << f;
  EXPECT_FALSE(fs::exists(last / "model.safetensors"));
  const auto expected = merged_from_files(base, last, 16.0 / 8.0);
  auto merged = SafetensorsFile::open(last / "merged/model.safetensors");
  for (const auto& e : merged.entries()) EXPECT_TRUE(torch::equal(merged.view(e), expected.at(e.name))) << e.name;

  auto merge = test::run_r1train(fmt::format("merge --model '{}' --adapter '{}' --output '{}'", base.string(),
                                             last.string(), (dir.path / "out").string()));
  ASSERT_EQ(merge.exit_code, 0) << merge.output;
  auto out = SafetensorsFile::open(dir.path / "out/model.safetensors");
  for (const auto& e : out.entries()) EXPECT_TRUE(torch::equal(out.view(e), expected.at(e.name))) << e.name;

  // eval on base + adapter equals eval on the merged model (greedy, 8 problems).
  const std::string eval = fmt::format("eval --config '{}' --max-problems 8 --set eval.data='{}'",
                                       (test::source_dir() / "configs/demo.yaml").string(),
                                       (test::source_dir() / "data/demo-test.jsonl").string());
  auto with_adapter = test::run_r1train(eval + " --adapter '" + last.string() + "' --output '" +
                                       (dir.path / "a.jsonl").string() + "'");
  ASSERT_EQ(with_adapter.exit_code, 0) << with_adapter.output;
  auto with_merged = test::run_r1train(eval + " --model '" + (dir.path / "out").string() + "' --output '" +
                                      (dir.path / "m.jsonl").string() + "'");
  ASSERT_EQ(with_merged.exit_code, 0) << with_merged.output;
  auto ra = test::read_jsonl(dir.path / "a.jsonl"), rm = test::read_jsonl(dir.path / "m.jsonl");
  ASSERT_EQ(ra.size(), 8u);
  ASSERT_EQ(rm.size(), 8u);
  for (std::size_t i = 0; i < ra.size(); ++i) EXPECT_EQ(ra[i]["completions"], rm[i]["completions"]) << i;
  auto gen = test::run_r1train(fmt::format("generate --model '{}' --adapter '{}' --prompt '2+2=' --max-new-tokens 4",
                                           base.string(), last.string()));
  EXPECT_EQ(gen.exit_code, 0) << gen.output;
}

// The demo (40 steps, as DemoRun.GrpoTeachesTheBaseToThinkAndAccuracyRises runs it) training LoRA
// adapters only: r 16, alpha 32 on every linear layer, lr 2e-3 (10x the full fine-tuning rate, as
// usual for LoRA), KL to the base with the adapters off. It meets the same targets.
TEST(LoraRun, DemoWithLoraMeetsTheDemoTargets) {
  test::TempDir dir;
  auto r = test::run_r1train(fmt::format(
      "train --config '{}' --set train.steps=40 --set eval.every=40 --set train.checkpoint_every=0 "
      "--set train.log_samples_every=0 --set lora.r=16 --set lora.alpha=32 --set optim.lr=2e-3 "
      "--set train.output_dir='{}' {}",
      (test::source_dir() / "configs/demo.yaml").string(), (dir.path / "run").string(), kLoraDemo));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  test::expect_demo_targets(dir.path / "run");
}

// Bad LoRA input: exit 2 with the key, module or tensor named.
TEST(LoraRun, BadLoraInputIsExit2WithTheProblemNamed) {
  test::TempDir dir;
  const std::string config = fmt::format("--config '{}' --set train.output_dir='{}' {}",
                                         (test::source_dir() / "configs/demo.yaml").string(), (dir.path / "x").string(),
                                         kLoraDemo);
  auto off = test::run_r1train("validate " + config + " --set lora.alpha=32");
  EXPECT_EQ(off.exit_code, 2) << off.output;
  EXPECT_NE(off.output.find("lora.r: is 0 (LoRA off) but other lora keys are set"), std::string::npos) << off.output;
  auto negative = test::run_r1train("validate " + config + " --set lora.r=-1");
  EXPECT_EQ(negative.exit_code, 2);
  EXPECT_NE(negative.output.find("lora.r: is -1"), std::string::npos) << negative.output;
  auto unknown = test::run_r1train("train " + config + " --set lora.r=4 --set lora.target_modules=[c_attn]");
  EXPECT_EQ(unknown.exit_code, 2) << unknown.output;
  EXPECT_NE(unknown.output.find("'c_attn' is not a linear module of this model; its linear modules are q_proj"),
            std::string::npos)
      << unknown.output;
  auto missing = test::run_r1train("train " + config + " --set lora.r=4 --set lora.adapter_path=" + dir.path.string());
  EXPECT_EQ(missing.exit_code, 2) << missing.output;
  EXPECT_NE(missing.output.find("adapter_config.json: not found"), std::string::npos) << missing.output;
  // An adapter for another base (made on a fixture: down_proj's input 64 there, 256 in the demo's).
  auto fixture_model = load_model(fixture("qwen2_bias"), torch::kFloat32, torch::kCPU);
  add_lora(fixture_model.model, lora_config(4, 8), 1);
  save_adapter(fixture_model.model, lora_config(4, 8), dir.path / "other", "x");
  auto other = test::run_r1train(fmt::format("generate --model '{}' --adapter '{}' --prompt hi",
                                             (test::source_dir() / "data/demo-base").string(),
                                             (dir.path / "other").string()));
  EXPECT_EQ(other.exit_code, 2) << other.output;
  EXPECT_NE(other.output.find("has shape [4, 64]; this model with r = 4 needs [4, 256]"), std::string::npos)
      << other.output;
}

}  // namespace
}  // namespace r1
