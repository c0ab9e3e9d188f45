// The decoder against reference logits and greedy tokens, KV-cache decoding, save/load, and bad model directories.
#include <gtest/gtest.h>

#include "r1/core/error.h"
#include "r1/model/decoder.h"
#include "r1/model/safetensors.h"
#include "test_util.h"

namespace r1 {
namespace {

using test::TempDir;
namespace fs = std::filesystem;

const std::vector<std::string> kFixtures = {"llama_tied", "qwen2_bias", "qwen3_qknorm", "llama3_rope"};

fs::path fixture(const std::string& name) { return test::source_dir() / "tests/fixtures/models" / name; }

std::map<std::string, torch::Tensor> expected_of(const std::string& name) {
  auto f = SafetensorsFile::open(fixture(name) / "expected.safetensors");
  std::map<std::string, torch::Tensor> out;
  for (const auto& e : f.entries()) out[e.name] = f.view(e).clone();
  return out;
}

// Copies a fixture into `dir` so that a test can damage it.
void copy_fixture(const std::string& name, const fs::path& dir) {
  for (const auto& entry : fs::directory_iterator(fixture(name)))
    fs::copy_file(entry.path(), dir / entry.path().filename(), fs::copy_options::overwrite_existing);
}

std::string load_error(const fs::path& dir) {
  try {
    load_model(dir, torch::kFloat32, torch::kCPU);
  } catch (const InputError& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(Model, LogitsMatchTheReferenceOnAPaddedBatch) {
  torch::NoGradGuard no_grad;
  for (const auto& name : kFixtures) {
    auto loaded = load_model(fixture(name), torch::kFloat32, torch::kCPU);
    auto expected = expected_of(name);
    auto mask = expected["attention_mask"];
    auto logits = loaded.model->logits(expected["input_ids"], mask);  // [3, 7, V]
    ASSERT_EQ(logits.sizes(), expected["logits"].sizes()) << name;
    // Only real tokens are compared: padding positions are garbage in both.
    auto real = mask.to(torch::kBool).unsqueeze(-1).expand_as(logits);
    double diff = (logits - expected["logits"]).abs().masked_select(real).max().item<double>();
    EXPECT_LE(diff, 1e-4) << name;
    double scale = expected["logits"].abs().max().item<double>();
    EXPECT_GT(scale, 0.1) << name << ": reference logits should not be trivially small";
  }
}

// Rows without left padding (the fixtures' row 1 is right-padded, row 2 unpadded) through the
// mask-free causal path: the same logits as transformers' at the real positions, and as the masked path.
TEST(Model, MaskFreeCausalPathMatchesTheReference) {
  torch::NoGradGuard no_grad;
  for (const auto& name : kFixtures) {
    auto loaded = load_model(fixture(name), torch::kFloat32, torch::kCPU);
    auto expected = expected_of(name);
    auto ids = expected["input_ids"].narrow(0, 1, 2);     // [2, 7]
    auto mask = expected["attention_mask"].narrow(0, 1, 2);
    ASSERT_EQ(mask.select(1, 0).sum().item<int64_t>(), 2) << name << ": rows 1-2 must start with a token";
    auto logits = loaded.model->logits(ids, torch::Tensor());  // [2, 7, V]
    auto real = mask.to(torch::kBool).unsqueeze(-1).expand_as(logits);
    auto reference = expected["logits"].narrow(0, 1, 2);
    EXPECT_LE((logits - reference).abs().masked_select(real).max().item<double>(), 1e-4) << name;
    auto masked = loaded.model->logits(ids, mask);
    EXPECT_LE((logits - masked).abs().masked_select(real).max().item<double>(), 1e-5) << name;
  }
}

TEST(Model, GreedyContinuationMatchesTheReference) {
  torch::NoGradGuard no_grad;
  for (const auto& name : kFixtures) {
    auto loaded = load_model(fixture(name), torch::kFloat32, torch::kCPU);
    auto expected = expected_of(name);
    auto ids = expected["greedy_prompt"].unsqueeze(0);  // [1, 5]
    for (int step = 0; step < expected["greedy_tokens"].size(0); ++step) {
      auto logits = loaded.model->logits(ids, torch::ones_like(ids));
      auto next = logits.select(1, ids.size(1) - 1).argmax(-1, true);  // [1, 1]
      ids = torch::cat({ids, next}, 1);
    }
    auto got = ids.narrow(1, 5, ids.size(1) - 5).squeeze(0);
    EXPECT_TRUE(torch::equal(got, expected["greedy_tokens"])) << name << ": " << got;
  }
}

TEST(Model, HiddenStatesTimesLmHeadAreTheLogits) {
  torch::NoGradGuard no_grad;
  auto loaded = load_model(fixture("llama_tied"), torch::kFloat32, torch::kCPU);
  auto expected = expected_of("llama_tied");
  auto h = loaded.model->hidden_states(expected["input_ids"], expected["attention_mask"]);  // [3, 7, 32]
  EXPECT_EQ(h.sizes().vec(), (std::vector<int64_t>{3, 7, 32}));
  auto w = loaded.model->lm_head_weight();
  EXPECT_EQ(w.data_ptr(), loaded.model->model->embed_tokens->weight.data_ptr()) << "tied";
  EXPECT_TRUE(torch::allclose(torch::matmul(h, w.t()), loaded.model->logits(expected["input_ids"],
                                                                              expected["attention_mask"])));
}

TEST(Model, TrainingPathHasGradients) {
  auto loaded = load_model(fixture("qwen3_qknorm"), torch::kFloat32, torch::kCPU);
  auto expected = expected_of("qwen3_qknorm");
  auto loss = loaded.model->logits(expected["input_ids"], expected["attention_mask"]).logsumexp(-1).mean();
  loss.backward();
  for (const auto& p : loaded.model->named_parameters()) {
    ASSERT_TRUE(p.value().grad().defined()) << p.key();
    EXPECT_GT(p.value().grad().abs().sum().item<double>(), 0) << p.key();
  }
}

// Prefill two left-padded prompts of different lengths, then decode token by token: every
// step's logits equal the full forward over the whole sequence at that position.
TEST(Model, KvCacheDecodingEqualsTheFullForward) {
  torch::NoGradGuard no_grad;
  for (const auto& name : kFixtures) {
    auto loaded = load_model(fixture(name), torch::kFloat32, torch::kCPU);
    auto& m = loaded.model;
    auto prompt = torch::tensor({0, 0, 11, 12, 13, 21, 22, 23, 24, 25}, torch::kInt64).view({2, 5});
    auto prompt_mask = torch::tensor({0, 0, 1, 1, 1, 1, 1, 1, 1, 1}, torch::kInt64).view({2, 5});
    auto cont = torch::tensor({31, 32, 33, 34, 41, 42, 43, 44}, torch::kInt64).view({2, 4});
    auto cache = m->make_prefill_cache(2, 9);
    auto h = m->forward_cached(prompt, prompt_mask, cache);  // [2, 5, width]
    std::vector<torch::Tensor> step_logits = {torch::linear(h.select(1, 4), m->lm_head_weight())};
    for (int t = 0; t < 4; ++t) {
      auto tok = cont.narrow(1, t, 1);
      auto ht = m->forward_cached(tok, torch::ones_like(tok), cache);
      step_logits.push_back(torch::linear(ht.select(1, 0), m->lm_head_weight()));
    }
    EXPECT_EQ(cache.length(), 9);
    auto full_ids = torch::cat({prompt, cont}, 1);
    auto full_mask = torch::cat({prompt_mask, torch::ones_like(cont)}, 1);
    auto full = m->logits(full_ids, full_mask);  // [2, 9, V]
    for (int t = 0; t < 5; ++t) {
      double diff = (step_logits[t] - full.select(1, 4 + t)).abs().max().item<double>();
      EXPECT_LE(diff, 1e-5) << name << " step " << t;
    }
    // The left-padded row equals the same prompt run alone without padding.
    auto alone = m->logits(full_ids.narrow(1, 2, 7).narrow(0, 0, 1), torch::ones({1, 7}, torch::kInt64));
    EXPECT_LE((alone.squeeze(0) - full[0].narrow(0, 2, 7)).abs().max().item<double>(), 1e-5) << name;
  }
}

TEST(Model, SaveThenLoadIsBitIdenticalAndCopiesTokenizerFiles) {
  for (const auto& name : kFixtures) {
    TempDir src, out;
    copy_fixture(name, src.path);
    src.write("tokenizer.json", "{\"model\": {}}");
    src.write("tokenizer_config.json", "{}");
    auto a = load_model(src.path, torch::kBFloat16, torch::kCPU);
    save_model(a.model, a.config, out.path, src.path);
    for (const char* f : {"config.json", "generation_config.json", "model.safetensors", "tokenizer.json",
                          "tokenizer_config.json"})
      EXPECT_TRUE(fs::exists(out.path / f)) << name << " " << f;
    EXPECT_FALSE(fs::exists(out.path / "tokenizer.model"));
    auto b = load_model(out.path, torch::kBFloat16, torch::kCPU);
    auto pa = a.model->named_parameters(), pb = b.model->named_parameters();
    ASSERT_EQ(pa.size(), pb.size());
    for (const auto& p : pa) EXPECT_TRUE(torch::equal(p.value(), pb[p.key()])) << name << " " << p.key();
    EXPECT_EQ(b.config.to_json(), a.config.to_json()) << name;
    // The saved bf16 file holds the same bytes the fixture held for every tensor.
    auto orig = SafetensorsSet::open(src.path), saved = SafetensorsSet::open(out.path);
    for (const auto& t : saved.names())
      EXPECT_TRUE(torch::equal(saved.file_of(t).view(saved.entry(t)), orig.file_of(t).view(orig.entry(t)))) << t;
    auto meta = SafetensorsFile::open(out.path / "model.safetensors").metadata();
    EXPECT_EQ(meta.at("format"), "pt");
  }
}

TEST(Model, SavingAgainLeavesNoStaleShards) {
  TempDir src, out;
  copy_fixture(kFixtures[0], src.path);
  auto a = load_model(src.path, torch::kFloat32, torch::kCPU);
  auto count_weight_files = [&] {
    int n = 0;
    for (const auto& e : fs::directory_iterator(out.path)) n += e.path().extension() == ".safetensors";
    return n;
  };
  save_model(a.model, a.config, out.path, src.path, /*max_shard_bytes=*/4096);  // many shards + index
  const int shards = count_weight_files();
  ASSERT_GT(shards, 2);
  EXPECT_TRUE(fs::exists(out.path / "model.safetensors.index.json"));
  save_model(a.model, a.config, out.path, src.path, /*max_shard_bytes=*/1ull << 40);  // one file
  EXPECT_EQ(count_weight_files(), 1);
  EXPECT_TRUE(fs::exists(out.path / "model.safetensors"));
  EXPECT_FALSE(fs::exists(out.path / "model.safetensors.index.json"));
  save_model(a.model, a.config, out.path, src.path, /*max_shard_bytes=*/4096);  // shards again, none left over
  EXPECT_EQ(count_weight_files(), shards);
  EXPECT_FALSE(fs::exists(out.path / "model.safetensors"));
  auto b = load_model(out.path, torch::kFloat32, torch::kCPU);
  for (const auto& p : a.model->named_parameters()) EXPECT_TRUE(torch::equal(p.value(), b.model->named_parameters()[p.key()]));
}

TEST(Model, ConfigFieldsAreRead) {
  auto c = TransformerConfig::from_json_file(fixture("qwen2_bias") / "config.json");
  EXPECT_EQ(c.architecture, "Qwen2ForCausalLM");
  EXPECT_TRUE(c.attention_bias);
  EXPECT_FALSE(c.qk_norm);
  EXPECT_EQ(c.eos_token_ids, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(c.head_dim, 8);  // 32 / 4
  EXPECT_EQ(c.num_key_value_heads, 2);
  auto q3 = TransformerConfig::from_json_file(fixture("qwen3_qknorm") / "config.json");
  EXPECT_TRUE(q3.qk_norm);
  EXPECT_EQ(q3.head_dim, 16);
  auto l3 = TransformerConfig::from_json_file(fixture("llama3_rope") / "config.json");
  EXPECT_EQ(l3.rope_scaling.type, "llama3");
  EXPECT_EQ(l3.rope_scaling.original_max_position_embeddings, 16);
  EXPECT_TRUE(TransformerConfig::from_json_file(fixture("llama_tied") / "config.json").tie_word_embeddings);
}

// llama3 scaling on head_dim 8, theta 500000, factor 8, low 1, high 4: plain inv_freq =
// 500000^(-i/8) for i = 0, 2, 4, 6 = 1, 0.0376, 0.00141, 5.32e-5 (wavelengths 2pi/f = 6.28,
// 167, 4443, 118000). Original context 16: low_freq_wavelen 16/1 = 16, high 16/4 = 4, so band 0
// (4 <= 6.28 <= 16) is interpolated with s = (16/6.28 - 1) / 3 = 0.515 and bands 1-3 (> 16) are
// divided by 8. Original context 400 (wavelens 400 and 100): band 0 kept, band 1 interpolated
// with s = (400/167.1 - 1) / 3 = 0.4646, bands 2-3 divided by 8.
TEST(Model, Llama3RopeScalingFollowsTheWavelengthBands) {
  auto c = TransformerConfig::from_json_file(fixture("llama3_rope") / "config.json");
  auto plain = 1.0 / torch::pow(torch::scalar_tensor(500000.0f), torch::arange(0, 8, 2).to(torch::kFloat32) / 8);
  auto smoothed = [&](int band, double context) {
    double f = plain[band].item<double>();
    double s = (context / (2 * M_PI / f) - 1) / 3;
    return (1 - s) * f / 8 + s * f;
  };
  auto f = rope_inv_freq(c);
  EXPECT_NEAR(f[0].item<double>(), smoothed(0, 16), 1e-6);
  for (int b = 1; b < 4; ++b) EXPECT_FLOAT_EQ(f[b].item<float>(), plain[b].item<float>() / 8) << b;
  c.rope_scaling.original_max_position_embeddings = 400;
  auto g = rope_inv_freq(c);
  EXPECT_FLOAT_EQ(g[0].item<float>(), 1.0f);
  EXPECT_NEAR(g[1].item<double>(), smoothed(1, 400), 1e-8);
  for (int b = 2; b < 4; ++b) EXPECT_FLOAT_EQ(g[b].item<float>(), plain[b].item<float>() / 8) << b;
}

TEST(Model, BadModelDirectoriesNameTheFileAndTheFix) {
  {
    TempDir dir;
    copy_fixture("llama_tied", dir.path);
    fs::remove(dir.path / "config.json");
    EXPECT_NE(load_error(dir.path).find((dir.path / "config.json").string() + ": missing"), std::string::npos);
  }
  {
    TempDir dir;
    copy_fixture("llama_tied", dir.path);
    fs::remove(dir.path / "model.safetensors");
    EXPECT_NE(load_error(dir.path).find("no model weights"), std::string::npos);
  }
  {
    TempDir dir;
    copy_fixture("llama_tied", dir.path);
    dir.write("config.json", R"({"architectures": ["GPT2LMHeadModel"], "vocab_size": 10})");
    auto msg = load_error(dir.path);
    EXPECT_NE(msg.find("unsupported architecture 'GPT2LMHeadModel'; supported: LlamaForCausalLM, "
                       "MistralForCausalLM, Qwen2ForCausalLM, Qwen3ForCausalLM"),
              std::string::npos)
        << msg;
  }
  // A fixture whose config.json has one key changed: the load error it gives.
  auto error_with = [](const std::string& fixture_name, const std::string& key, const nlohmann::json& value) {
    TempDir dir;
    copy_fixture(fixture_name, dir.path);
    auto j = nlohmann::json::parse(std::ifstream(dir.path / "config.json"));
    j[key] = value;
    dir.write("config.json", j.dump());
    return load_error(dir.path);
  };
  // qwen2 weights with a Llama config: the biases are unexpected.
  auto msg = error_with("qwen2_bias", "architectures", nlohmann::json::array({"LlamaForCausalLM"}));
  EXPECT_NE(msg.find("unexpected tensor 'model.layers.0.self_attn.k_proj.bias'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("model.safetensors"), std::string::npos) << msg;
  // A config with one layer more than the weights: tensors of layer 3 are missing.
  msg = error_with("llama_tied", "num_hidden_layers", 4);
  EXPECT_NE(msg.find("tensor 'model.layers.3."), std::string::npos) << msg;
  EXPECT_NE(msg.find("is missing from the weights (expected shape"), std::string::npos) << msg;
  msg = error_with("llama_tied", "intermediate_size", 48);
  EXPECT_NE(msg.find("tensor 'model.layers.0.mlp.gate_proj.weight' has shape [64, 32]; the config expects [48, 32]"),
            std::string::npos)
      << msg;
  {
    TempDir dir;
    copy_fixture("llama_tied", dir.path);
    dir.write("config.json", "{\"architectures\": [\"LlamaForCausalLM\"],");
    EXPECT_NE(load_error(dir.path).find("malformed JSON"), std::string::npos);
    dir.write("config.json", R"({"architectures": ["LlamaForCausalLM"], "vocab_size": "many"})");
    EXPECT_NE(load_error(dir.path).find("vocab_size: expected an integer, got \"many\""), std::string::npos);
  }
  EXPECT_NE(load_error("/nonexistent/model").find("model directory not found"), std::string::npos);
}

TEST(Model, DeviceAndDtypeNames) {
  EXPECT_EQ(resolve_device("cpu"), torch::Device(torch::kCPU));
  // One rule for every command: auto is bfloat16 on CUDA, float32 on the CPU.
  EXPECT_EQ(resolve_dtype(Dtype::BFloat16, torch::kCPU), torch::kBFloat16);
  EXPECT_EQ(resolve_dtype(Dtype::Float32, torch::kCUDA), torch::kFloat32);
  EXPECT_EQ(resolve_dtype(Dtype::Auto, torch::kCPU), torch::kFloat32);
  EXPECT_EQ(resolve_dtype(Dtype::Auto, torch::kCUDA), torch::kBFloat16);
  EXPECT_FALSE(parse_option<Dtype>("float8").has_value());
  EXPECT_THROW(resolve_device("tpu"), InputError);
  if (!torch::cuda::is_available()) {
    EXPECT_EQ(resolve_device("auto"), torch::Device(torch::kCPU));
    EXPECT_THROW(resolve_device("cuda"), InputError);
  }
}

}  // namespace
}  // namespace r1
