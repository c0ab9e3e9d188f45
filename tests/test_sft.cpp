// SFT: corpus loading and loss masks, random init, and `r1train sft` end to end on a tiny model.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <fstream>

#include "r1/core/error.h"
#include "r1/model/decoder.h"
#include "r1/model/init.h"
#include "r1/sft/sft.h"
#include "r1/tokenizer/tokenizer.h"
#include "test_util.h"

namespace r1 {
namespace {

using test::run_r1train;
using test::TempDir;

// A byte-level tokenizer (ids 0-255 are bytes in GPT-2 order, 256 bos, 257 eos, 258 pad) and a
// tiny Qwen2 config.json in `dir`: what `sft.init: random` starts from.
void write_tiny_spec(const std::filesystem::path& dir, int hidden = 32, int layers = 2) {
  write_byte_level_tokenizer(dir, {"<|bos|>", "<|endoftext|>", "<|pad|>"});
  nlohmann::json config = {{"architectures", {"Qwen2ForCausalLM"}},
                           {"model_type", "qwen2"},
                           {"vocab_size", 259},
                           {"hidden_size", hidden},
                           {"intermediate_size", 2 * hidden},
                           {"num_hidden_layers", layers},
                           {"num_attention_heads", 4},
                           {"num_key_value_heads", 2},
                           {"max_position_embeddings", 128},
                           {"rms_norm_eps", 1e-6},
                           {"rope_theta", 10000.0},
                           {"tie_word_embeddings", true},
                           {"bos_token_id", 256},
                           {"eos_token_id", 257},
                           {"torch_dtype", "float32"}};
  std::ofstream(dir / "config.json") << config.dump(2);
}

TEST(SftCorpus, CompletionOnlyLossStartsAfterThePrompt) {
  TempDir dir;
  write_tiny_spec(dir.path);
  auto tok = Tokenizer::load(dir.path);
  auto data = dir.write("c.jsonl", "{\"prompt\": \"Q: 1+2\\n\", \"completion\": \"3\"}\n\n"
                                   "{\"text\": \"ab\", \"prompt\": \"a\", \"completion\": \"b\"}\n");
  SftConfig cfg;
  cfg.completion_only_loss = true;
  auto ex = load_sft_corpus(data, cfg, *tok);
  ASSERT_EQ(ex.size(), 2u);
  // "Q: 1+2\n" is 7 bytes, then "3", then eos (257): loss on ids 7 and 8.
  EXPECT_EQ(ex[0].ids.size(), 9u);
  EXPECT_EQ(ex[0].loss_start, 7u);
  EXPECT_EQ(ex[0].ids[7], static_cast<int>('3'));
  EXPECT_EQ(ex[0].ids[8], 257);

  cfg.completion_only_loss = false;  // the text field wins; the first token has no context
  ex = load_sft_corpus(data, cfg, *tok);
  EXPECT_EQ(ex[0].loss_start, 1u);   // no text field: prompt + completion
  EXPECT_EQ(ex[0].ids.size(), 9u);
  EXPECT_EQ(ex[1].ids, (std::vector<int>{'a', 'b', 257}));
  EXPECT_EQ(ex[1].loss_start, 1u);

  cfg.add_eos = false;
  cfg.max_length = 4;
  ex = load_sft_corpus(data, cfg, *tok);
  EXPECT_EQ(ex[0].ids, (std::vector<int>{'Q', ':', ' ', '1'}));
}

TEST(SftCorpus, BadLinesNameFileLineAndFields) {
  TempDir dir;
  write_tiny_spec(dir.path);
  auto tok = Tokenizer::load(dir.path);
  SftConfig cfg;
  auto data = dir.write("c.jsonl", "{\"text\": \"ok\"}\n{\"question\": \"x\"}\n");
  try {
    load_sft_corpus(data, cfg, *tok);
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("c.jsonl:2"), std::string::npos) << msg;
    EXPECT_NE(msg.find("'prompt'"), std::string::npos) << msg;
    EXPECT_NE(msg.find("question"), std::string::npos) << msg;
  }
  auto broken = dir.write("b.jsonl", "{\"text\": \n");
  EXPECT_THROW(load_sft_corpus(broken, cfg, *tok), InputError);
  auto empty = dir.write("e.jsonl", "\n");
  EXPECT_THROW(load_sft_corpus(empty, cfg, *tok), InputError);
}

TEST(SftBatch, TargetsShiftAndMaskCountsOnlyTrainedTokens) {
  SftExample a{{10, 11, 12, 13}, 2};  // trained on 12, 13
  SftExample b{{20, 21}, 1};          // trained on 21
  auto batch = make_sft_batch({&a, &b}, /*pad_id=*/0, torch::kCPU);
  EXPECT_TRUE(torch::equal(batch.input_ids, torch::tensor({{10, 11, 12, 13}, {20, 21, 0, 0}}, torch::kLong)));
  EXPECT_TRUE(torch::equal(batch.attention_mask, torch::tensor({{1, 1, 1, 1}, {1, 1, 0, 0}}, torch::kLong)));
  EXPECT_TRUE(torch::equal(batch.targets, torch::tensor({{11, 12, 13}, {21, 0, 0}}, torch::kLong)));
  EXPECT_TRUE(torch::equal(batch.loss_mask, torch::tensor({{0.f, 1.f, 1.f}, {1.f, 0.f, 0.f}})));
}

TEST(ModelInit, SeededDrawsLikeTransformers) {
  TempDir dir;
  write_tiny_spec(dir.path, 64, 2);
  auto config = TransformerConfig::from_json_file(dir.path / "config.json");
  auto m1 = init_model(config, 7, torch::kFloat32, torch::kCPU);
  auto m2 = init_model(config, 7, torch::kFloat32, torch::kCPU);
  auto m3 = init_model(config, 8, torch::kFloat32, torch::kCPU);
  auto p1 = m1->named_parameters(), p2 = m2->named_parameters(), p3 = m3->named_parameters();
  EXPECT_TRUE(torch::equal(p1["model.layers.0.self_attn.q_proj.weight"], p2["model.layers.0.self_attn.q_proj.weight"]));
  EXPECT_FALSE(torch::equal(p1["model.layers.0.self_attn.q_proj.weight"], p3["model.layers.0.self_attn.q_proj.weight"]));
  EXPECT_TRUE(torch::equal(p1["model.norm.weight"], torch::ones({64})));
  EXPECT_TRUE(torch::equal(p1["model.layers.1.self_attn.k_proj.bias"], torch::zeros({32})));  // 2 kv heads x 16
  // 259 x 64 = 16576 draws from N(0, 0.02^2): the sample std is within 3% of 0.02.
  double std_dev = p1["model.embed_tokens.weight"].std().item<double>();
  EXPECT_NEAR(std_dev, 0.02, 0.0006);
  auto bf16 = init_model(config, 7, torch::kBFloat16, torch::kCPU);
  EXPECT_EQ(bf16->named_parameters()["model.embed_tokens.weight"].scalar_type(), torch::kBFloat16);
}

TEST(SftCli, LearnsARepeatedStringAndSavesALoadableModel) {
  TempDir dir;
  write_tiny_spec(dir.path / "spec");
  std::string corpus;
  for (int i = 0; i < 64; ++i) corpus += "{\"prompt\": \"say:\", \"completion\": \" hello world\"}\n";
  dir.write("corpus.jsonl", corpus);
  auto cfg = dir.write("sft.yaml", "model:\n  path: spec\n  dtype: float32\n  device: cpu\n"
                                   "sft:\n  data: corpus.jsonl\n  init: random\n  completion_only_loss: true\n"
                                   "  epochs: 10\n  batch_size: 16\n  micro_batch_size: 8\n  lr: 0.01\n"
                                   "  warmup_steps: 4\n  output_dir: " + (dir.path / "run").string() + "\n");
  auto r = run_r1train("sft --config " + cfg.string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  // 64 examples x 10 epochs / 16 = 40 steps.
  std::ifstream in(dir.path / "run" / "metrics.jsonl");
  std::vector<nlohmann::json> rows;
  for (std::string line; std::getline(in, line);) rows.push_back(nlohmann::json::parse(line));
  ASSERT_EQ(rows.size(), 40u);
  // Uniform guessing over 259 tokens costs ln 259 = 5.56 nats; the 13 trained tokens are fixed.
  EXPECT_GT(rows.front()["loss"].get<double>(), 4.5);
  EXPECT_LT(rows.back()["loss"].get<double>(), 0.5);  // measured 0.29: the string is nearly learned
  EXPECT_EQ(rows.back()["tokens"].get<int>(), 16 * 13);  // " hello world" + eos per example
  auto ckpt = dir.path / "run" / "checkpoints" / "step-000040";
  ASSERT_TRUE(std::filesystem::exists(ckpt / "trainer_state.json")) << r.output;
  EXPECT_TRUE(std::filesystem::exists(ckpt / "tokenizer.json"));
  auto loaded = load_model(ckpt, torch::kFloat32, torch::kCPU);
  auto tok = Tokenizer::load(ckpt);
  auto ids = tok->encode("say: hello");
  auto input = torch::tensor(std::vector<int64_t>(ids.begin(), ids.end())).unsqueeze(0);
  auto logits = loaded.model->logits(input, torch::ones_like(input));  // [1, T, V]
  EXPECT_EQ(logits[0][-1].argmax().item<int64_t>(), static_cast<int64_t>(' '));  // "say: hello| world"
}

std::vector<nlohmann::json> read_rows(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::vector<nlohmann::json> rows;
  for (std::string line; std::getline(in, line);) {
    auto row = nlohmann::json::parse(line);
    for (const char* timing : {"timing/step_s", "throughput/tokens_per_s"}) row.erase(timing);
    rows.push_back(row);
  }
  return rows;
}

TEST(SftCli, ResumedRunContinuesExactlyAndChangedSettingsAreRefused) {
  TempDir dir;
  write_tiny_spec(dir.path / "spec");
  std::string corpus;
  for (int i = 0; i < 64; ++i) corpus += fmt::format("{{\"prompt\": \"{}+{}=\", \"completion\": \"{}\"}}\n", i, 2 * i, 3 * i);
  dir.write("corpus.jsonl", corpus);
  // 64 examples x 2 epochs / 16 = 8 steps, a checkpoint every 2.
  auto cfg = dir.write("sft.yaml", "model:\n  path: spec\n  dtype: float32\n  device: cpu\n"
                                   "sft:\n  data: corpus.jsonl\n  init: random\n  epochs: 2\n  batch_size: 16\n"
                                   "  micro_batch_size: 8\n  lr: 0.01\n  warmup_steps: 2\n  save_every: 2\n"
                                   "  keep_last: 0\n");
  const std::string sft = "--threads 1 sft --config " + cfg.string();
  const auto a = dir.path / "a", b = dir.path / "b";
  auto r = run_r1train(sft + " --set sft.output_dir=" + a.string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto full = read_rows(a / "metrics.jsonl");
  ASSERT_EQ(full.size(), 8u);

  // Continue a copy of the run from its step-4 checkpoint: steps 5-8 and the final weights match.
  r = run_r1train(sft + " --set sft.output_dir=" + b.string() + " --resume " +
                  (a / "checkpoints" / "step-000004").string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto resumed = read_rows(b / "metrics.jsonl");
  ASSERT_EQ(resumed.size(), 4u);
  for (std::size_t i = 0; i < 4; ++i) EXPECT_EQ(resumed[i], full[i + 4]) << "step " << i + 5;
  auto wa = load_model(a / "checkpoints" / "step-000008", torch::kFloat32, torch::kCPU);
  auto wb = load_model(b / "checkpoints" / "step-000008", torch::kFloat32, torch::kCPU);
  for (const auto& p : wa.model->named_parameters())
    EXPECT_TRUE(torch::equal(p.value(), wb.model->named_parameters()[p.key()])) << p.key();

  // A finished run resumes to nothing left to do.
  r = run_r1train(sft + " --set sft.output_dir=" + a.string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("step-000008"), std::string::npos) << r.output;
  EXPECT_EQ(read_rows(a / "metrics.jsonl"), full);

  // A changed learning rate is refused with the key named; --resume none does not overwrite.
  r = run_r1train(sft + " --set sft.output_dir=" + a.string() + " --set sft.lr=0.02");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("now sft.lr: 0.02"), std::string::npos) << r.output;
  r = run_r1train(sft + " --set sft.output_dir=" + a.string() + " --resume none");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("sft.output_dir"), std::string::npos) << r.output;
  EXPECT_EQ(read_rows(a / "metrics.jsonl"), full);
}

TEST(SftCli, MissingDataIsBadInput) {
  TempDir dir;
  write_tiny_spec(dir.path / "spec");
  auto cfg = dir.write("sft.yaml", "model:\n  path: spec\nsft:\n  data: nowhere.jsonl\n  init: random\n");
  auto r = run_r1train("sft --config " + cfg.string());
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("sft.data"), std::string::npos) << r.output;
  auto bad = dir.write("bad.yaml", "model:\n  path: spec\nsft:\n  data: sft.yaml\n  init: pretraind\n");
  r = run_r1train("sft --config " + bad.string());
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("did you mean 'pretrained'"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace r1
