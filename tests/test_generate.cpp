// The rollout engine on the tiny fixture models: cache vs recomputation, padding, seeds, stopping, log-probs.
#include <gtest/gtest.h>

#include <optional>
#include <random>
#include <set>

#include "r1/core/error.h"
#include "r1/generation/generate.h"
#include "r1/generation/stop.h"
#include "test_util.h"

namespace r1 {
namespace {

namespace fs = std::filesystem;

fs::path fixture(const std::string& name) { return test::source_dir() / "tests/fixtures/models" / name; }

// Token ids as text "[12][7]": every stop string position maps to a known token.
std::string bracket_text(const std::vector<int>& ids) {
  std::string s;
  for (int id : ids) {
    s += '[';
    s += std::to_string(id);
    s += ']';
  }
  return s;
}

const TextDecoder kBrackets = bracket_text;

std::vector<int> tokens_of(const torch::Tensor& t) {
  std::vector<int> v;
  for (int64_t i = 0; i < t.numel(); ++i) v.push_back(static_cast<int>(t[i].item<int64_t>()));
  return v;
}

// Decoding by full recomputation: the whole sequence through the model at every step.
struct Naive {
  std::vector<int> tokens;
  std::vector<float> logprobs;
};
// Draws come from completion (prompt 0, sample 0)'s stream at token position i, as generate's do.
Naive naive_generate(CausalLM& model, const std::vector<int>& prompt, int steps, const SamplingOptions& o,
                     uint64_t seed) {
  torch::NoGradGuard no_grad;
  Naive out;
  std::vector<int64_t> seq(prompt.begin(), prompt.end());
  auto stream = stream_tensor({sample_stream(seed, 0, 0)}, torch::kCPU);  // [1, 2]
  for (int i = 0; i < steps; ++i) {
    auto ids = torch::tensor(seq, torch::kInt64).unsqueeze(0);
    auto logits = model->logits(ids, torch::ones_like(ids)).select(1, ids.size(1) - 1);  // [1, V]
    auto s = sample_tokens(logits, o, sampling_uniforms(stream, torch::full({1}, i, torch::kInt64)));
    out.tokens.push_back(static_cast<int>(s.tokens[0].item<int64_t>()));
    out.logprobs.push_back(s.logprobs[0].item<float>());
    seq.push_back(out.tokens.back());
  }
  return out;
}

TEST(Generate, CachedDecodingEqualsFullRecomputation) {
  for (const char* name : {"llama_tied", "qwen3_qknorm", "llama3_rope"}) {
    auto loaded = load_model(fixture(name), torch::kFloat32, torch::kCPU);
    const std::vector<int> prompt = {1, 55, 123, 9, 280};
    for (double temperature : {0.0, 0.8}) {
      GenerateOptions o;
      o.max_new_tokens = 12;
      o.sampling.temperature = temperature;
      o.sampling.top_k = 40;
      o.seed = 11;
      auto c = generate(loaded.model, kBrackets, {}, {prompt}, o);
      auto naive = naive_generate(loaded.model, prompt, 12, o.sampling, 11);
      ASSERT_EQ(c.size(), 1u);
      EXPECT_EQ(c[0].token_ids, naive.tokens) << name << " T=" << temperature;
      ASSERT_EQ(c[0].logprobs.size(), naive.logprobs.size());
      for (size_t i = 0; i < naive.logprobs.size(); ++i) EXPECT_NEAR(c[0].logprobs[i], naive.logprobs[i], 1e-4);
      EXPECT_EQ(c[0].finish_reason, FinishReason::Length);
      EXPECT_EQ(c[0].text, bracket_text(c[0].token_ids));
    }
  }
}

TEST(Generate, GreedyMatchesTheReferenceContinuation) {
  auto loaded = load_model(fixture("qwen2_bias"), torch::kFloat32, torch::kCPU);
  auto expected = SafetensorsFile::open(fixture("qwen2_bias") / "expected.safetensors");
  auto prompt = tokens_of(expected.view(*expected.find("greedy_prompt")));
  auto want = tokens_of(expected.view(*expected.find("greedy_tokens")));
  GenerateOptions o;
  o.max_new_tokens = static_cast<int>(want.size());
  o.sampling.temperature = 0;
  auto c = generate(loaded.model, kBrackets, {}, {prompt}, o);
  EXPECT_EQ(c[0].token_ids, want);
}

// Padding must not leak: a prompt's greedy output is the same alone, batched with prompts of
// other lengths (left padding), with G > 1, and split across batches of 3 rows.
TEST(Generate, GreedyIsTheSameAloneOrBatched) {
  auto loaded = load_model(fixture("qwen2_bias"), torch::kFloat32, torch::kCPU);
  const std::vector<std::vector<int>> prompts = {{5, 6}, {1, 55, 123, 9, 280, 17, 3}, {200, 201, 202}};
  GenerateOptions o;
  o.max_new_tokens = 10;
  o.sampling.temperature = 0;
  std::vector<std::vector<int>> alone;
  for (const auto& p : prompts) {
    alone.push_back(generate(loaded.model, kBrackets, {}, {p}, o)[0].token_ids);
  }
  o.group_size = 2;
  for (int batch : {64, 3}) {
    o.batch_size = batch;
    auto c = generate(loaded.model, kBrackets, {}, prompts, o);
    ASSERT_EQ(c.size(), 6u);
    for (size_t i = 0; i < c.size(); ++i) {
      EXPECT_EQ(c[i].prompt_index, static_cast<int>(i / 2));
      EXPECT_EQ(c[i].sample, static_cast<int>(i % 2));
      EXPECT_EQ(c[i].token_ids, alone[i / 2]) << "batch " << batch << " row " << i;
    }
  }
}

TEST(Generate, SameSeedSameSamplesDifferentSeedDifferent) {
  auto loaded = load_model(fixture("llama_tied"), torch::kFloat32, torch::kCPU);
  GenerateOptions o;
  o.group_size = 4;
  o.max_new_tokens = 16;
  o.sampling.temperature = 1.0;
  auto run = [&](uint64_t seed) {
    o.seed = seed;
    std::vector<std::vector<int>> out;
    for (const auto& c : generate(loaded.model, kBrackets, {}, {{5, 6, 7}, {9}}, o)) out.push_back(c.token_ids);
    return out;
  };
  auto a = run(42), b = run(42), c = run(43);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  EXPECT_NE(a[0], a[1]) << "samples of one prompt differ";
}

// The reference greedy continuation of llama_tied is 235 51 203 16 235 ...
TEST(Generate, EosStopTokensAndStopStringsCutExactly) {
  auto loaded = load_model(fixture("llama_tied"), torch::kFloat32, torch::kCPU);
  const std::vector<int> prompt = {1, 55, 123, 9, 280};
  GenerateOptions o;
  o.max_new_tokens = 8;
  o.sampling.temperature = 0;
  auto run = [&](const std::vector<int>& eos, const GenerateOptions& opts) {
    return generate(loaded.model, kBrackets, eos, {prompt}, opts)[0];
  };
  auto full = run({}, o);
  ASSERT_EQ(std::vector<int>(full.token_ids.begin(), full.token_ids.begin() + 4), (std::vector<int>{235, 51, 203, 16}));
  EXPECT_EQ(full.finish_reason, FinishReason::Length);
  EXPECT_EQ(full.token_ids.size(), 8u);

  auto eos = run({999, 203}, o);  // several EOS ids
  EXPECT_EQ(eos.token_ids, (std::vector<int>{235, 51, 203}));
  EXPECT_EQ(eos.finish_reason, FinishReason::Stop);
  EXPECT_EQ(eos.logprobs.size(), 3u);

  GenerateOptions with_stop_id = o;
  with_stop_id.stop_token_ids = {51};
  auto sid = run({}, with_stop_id);
  EXPECT_EQ(sid.token_ids, (std::vector<int>{235, 51}));
  EXPECT_EQ(sid.finish_reason, FinishReason::Stop);

  // "51][2" is completed by token 203: the completion keeps it and its text is decode(kept).
  GenerateOptions strings = o;
  strings.stop = {"zzz", "51][2"};
  auto s = run({}, strings);
  EXPECT_EQ(s.token_ids, (std::vector<int>{235, 51, 203}));
  EXPECT_EQ(s.text, "[235][51][203]");
  EXPECT_EQ(s.finish_reason, FinishReason::Stop);
  strings.stop = {"[5"};
  EXPECT_EQ(run({}, strings).token_ids, (std::vector<int>{235, 51}));

  GenerateOptions short_run = o;
  short_run.max_new_tokens = 2;
  auto len = run({}, short_run);
  EXPECT_EQ(len.token_ids, (std::vector<int>{235, 51}));
  EXPECT_EQ(len.finish_reason, FinishReason::Length);
}

// Hugging Face's repetition penalty, by hand: every token already in the prompt or the completion
// has its logit divided by the penalty when positive, multiplied when negative; greedy then takes
// the argmax. The engine (shared prefill, KV cache, batched rows) must pick the same tokens.
TEST(Generate, RepetitionPenaltyMatchesTheRuleAppliedToFullForwards) {
  auto loaded = load_model(fixture("llama_tied"), torch::kFloat32, torch::kCPU);
  const std::vector<std::vector<int>> prompts = {{1, 55, 123, 9, 280}, {7, 7, 7}};
  GenerateOptions o;
  o.max_new_tokens = 10;
  o.sampling.temperature = 0;
  o.sampling.repetition_penalty = 3.0;
  auto out = generate(loaded.model, kBrackets, {}, prompts, o);
  torch::NoGradGuard no_grad;
  bool differs_from_plain = false;
  for (std::size_t p = 0; p < prompts.size(); ++p) {
    std::vector<int64_t> seq(prompts[p].begin(), prompts[p].end());
    for (int step = 0; step < o.max_new_tokens; ++step) {
      auto ids = torch::tensor(seq, torch::kInt64).unsqueeze(0);
      auto logits = loaded.model->logits(ids, torch::ones_like(ids))[0][-1].clone();  // [V]
      const int64_t plain = logits.argmax().item<int64_t>();
      for (int64_t id : std::set<int64_t>(seq.begin(), seq.end())) {
        const float v = logits[id].item<float>();
        logits[id] = v > 0 ? v / 3.0f : v * 3.0f;
      }
      const int64_t want = logits.argmax().item<int64_t>();
      differs_from_plain |= want != plain;
      ASSERT_EQ(out[p].token_ids.at(static_cast<std::size_t>(step)), want) << "prompt " << p << " step " << step;
      seq.push_back(want);
    }
  }
  EXPECT_TRUE(differs_from_plain);  // the penalty changed at least one choice
}

// The stop check decodes only a tail of the completion: it must stop at exactly the token where the
// full decode first contains a stop string, also when tokens are raw bytes that split UTF-8
// characters (a tail may start mid-character) and stop strings span several tokens.
TEST(StopChecker, TailWindowStopsWhereTheFullDecodeDoes) {
  test::TempDir dir;
  write_byte_level_tokenizer(dir.path, {"<s>", "</s>"});
  auto tok = Tokenizer::load(dir.path);
  const TextDecoder decode = [&](const std::vector<int>& ids) { return tok->decode(ids, true); };
  std::mt19937 rng(5);
  // The bytes of "é" (C3 A9), which random draws also leave unpaired, and a few ASCII ones.
  const std::string alphabet = std::string("\xC3\xA9z\nx ");
  for (unsigned char b : alphabet) ASSERT_EQ(tok->decode_bytes({b}), std::string(1, static_cast<char>(b)));
  int stops = 0;
  for (int trial = 0; trial < 300; ++trial) {
    std::vector<int> ids;
    for (int i = 0; i < 60; ++i) {
      const auto byte = static_cast<unsigned char>(alphabet[rng() % alphabet.size()]);
      ids.push_back(byte);  // the first 256 ids of this tokenizer are the bytes
    }
    const std::vector<std::string> stop_strings = {"</answer>", "\xC3\xA9\xC3\xA9", "z\nx"};
    StopChecker checker(decode, {}, stop_strings);
    std::optional<std::size_t> full_stop, tail_stop;
    for (std::size_t n = 1; n <= ids.size(); ++n) {
      std::vector<int> prefix(ids.begin(), ids.begin() + static_cast<std::ptrdiff_t>(n));
      const std::string text = decode(prefix);
      const bool found = std::any_of(stop_strings.begin(), stop_strings.end(),
                                     [&](const std::string& s) { return text.find(s) != std::string::npos; });
      if (found && !full_stop) full_stop = n;
      if (checker.finish_reason(prefix, 1000) == FinishReason::Stop && !tail_stop) tail_stop = n;
    }
    EXPECT_EQ(full_stop, tail_stop) << "trial " << trial;
    stops += full_stop ? 1 : 0;
  }
  EXPECT_GT(stops, 50);  // the trials do meet stop strings (about 30% of them)
}

// Sampled rows that end at different steps (stop string "[1": any token starting with 1) free
// their slots for the next completions (prefilled into them); every completion's log-probs still equal a teacher-forced
// full forward over prompt + completion, log_softmax(logits / T) at the chosen tokens.
TEST(Generate, LogprobsEqualATeacherForcedForwardAcrossRefills) {
  auto loaded = load_model(fixture("qwen3_qknorm"), torch::kFloat32, torch::kCPU);
  const std::vector<std::vector<int>> prompts = {{3, 4, 5, 6, 7, 8}, {100}, {250, 251, 252}};
  GenerateOptions o;
  o.group_size = 5;
  o.max_new_tokens = 12;
  o.sampling.temperature = 0.7;
  o.stop = {"[1"};
  o.seed = 5;
  o.batch_size = 4;  // 15 completions through 4 slots: refilled as rows stop
  auto completions = generate(loaded.model, kBrackets, {}, prompts, o);
  ASSERT_EQ(completions.size(), 15u);
  std::set<size_t> lengths;
  torch::NoGradGuard no_grad;
  for (const auto& c : completions) {
    lengths.insert(c.token_ids.size());
    if (c.finish_reason == FinishReason::Stop) {
      EXPECT_EQ(bracket_text(c.token_ids).find("[1"), bracket_text(c.token_ids).rfind("[")) << "stops at first";
    } else {
      EXPECT_EQ(c.token_ids.size(), 12u);
    }
    const auto& p = prompts[c.prompt_index];
    std::vector<int64_t> seq(p.begin(), p.end());
    seq.insert(seq.end(), c.token_ids.begin(), c.token_ids.end());
    auto ids = torch::tensor(seq, torch::kInt64).unsqueeze(0);
    auto logp = torch::log_softmax(loaded.model->logits(ids, torch::ones_like(ids))[0] / 0.7, -1);  // [T, V]
    for (size_t i = 0; i < c.token_ids.size(); ++i) {
      float want = logp[static_cast<int64_t>(p.size() + i - 1)][c.token_ids[i]].item<float>();
      EXPECT_NEAR(c.logprobs[i], want, 1e-4) << "prompt " << c.prompt_index << " sample " << c.sample << " t " << i;
    }
  }
  EXPECT_GE(lengths.size(), 3u) << "rows should finish at different steps";
}

// Continuous batching: slots freed by rows that stop early take the next completions. Each
// completion draws from its own (seed, prompt, sample) stream, so the sampled completions are the
// same whatever the number of slots (1: one row at a time; 4: refills and a shrink; 64: all at
// once), whatever the thread count, and their log-probs equal the teacher-forced ones (above).
TEST(Generate, SampledCompletionsDoNotDependOnSlotsOrThreads) {
  auto loaded = load_model(fixture("qwen3_qknorm"), torch::kFloat32, torch::kCPU);
  const std::vector<std::vector<int>> prompts = {{3, 4, 5, 6, 7, 8}, {100}, {250, 251, 252}, {9, 9}};
  GenerateOptions o;
  o.group_size = 3;
  o.max_new_tokens = 10;
  o.sampling.temperature = 0.9;
  o.sampling.top_p = 0.95;
  o.sampling.repetition_penalty = 1.2;
  o.stop = {"[1"};
  o.seed = 21;
  auto run = [&](int batch, int threads) {
    const int before = torch::get_num_threads();
    torch::set_num_threads(threads);
    o.batch_size = batch;
    GenerateStats stats;
    o.stats = &stats;
    auto c = generate(loaded.model, kBrackets, {}, prompts, o);
    torch::set_num_threads(before);
    int64_t tokens = 0;
    for (const auto& x : c) tokens += static_cast<int64_t>(x.token_ids.size());
    EXPECT_EQ(stats.tokens, tokens);
    EXPECT_GE(stats.row_steps, tokens);
    if (batch == 1) {
      EXPECT_EQ(stats.row_steps, tokens) << "one slot wastes nothing";
    }
    return c;
  };
  auto one = run(1, 1);
  std::set<size_t> lengths;
  for (const auto& c : one) lengths.insert(c.token_ids.size());
  EXPECT_GE(lengths.size(), 3u) << "rows should finish at different steps";
  for (auto [batch, threads] : {std::pair{4, 1}, std::pair{64, 1}, std::pair{4, 2}}) {
    auto other = run(batch, threads);
    ASSERT_EQ(other.size(), one.size());
    for (std::size_t i = 0; i < one.size(); ++i) {
      EXPECT_EQ(other[i].token_ids, one[i].token_ids) << "batch " << batch << " threads " << threads << " row " << i;
      EXPECT_EQ(other[i].finish_reason, one[i].finish_reason);
      ASSERT_EQ(other[i].logprobs.size(), one[i].logprobs.size());
      for (std::size_t t = 0; t < one[i].logprobs.size(); ++t) EXPECT_NEAR(other[i].logprobs[t], one[i].logprobs[t], 1e-5);
    }
  }
}

TEST(Generate, TextComesFromTheTokenizer) {
  test::TempDir dir;
  write_byte_level_tokenizer(dir.path, {"<s>", "</s>"});
  auto tok = Tokenizer::load(dir.path);
  auto loaded = load_model(fixture("llama_tied"), torch::kFloat32, torch::kCPU);
  GenerateOptions o;
  o.max_new_tokens = 6;
  o.sampling.temperature = 0;
  auto c = generate(loaded.model, *tok, {tok->encode("hi")}, o);
  // The model's vocabulary (320) is larger than the tokenizer's (258): ids past it decode to nothing.
  std::vector<int> known;
  for (int id : c[0].token_ids)
    if (id < tok->vocab_size()) known.push_back(id);
  EXPECT_LT(known.size(), c[0].token_ids.size()) << "this greedy run samples an id past the tokenizer";
  EXPECT_FALSE(known.empty());
  EXPECT_EQ(c[0].text, tok->decode(known, true));
}

TEST(Generate, BadArgumentsAreInputErrors) {
  auto loaded = load_model(fixture("llama_tied"), torch::kFloat32, torch::kCPU);
  GenerateOptions o;
  EXPECT_THROW(generate(loaded.model, kBrackets, {}, {{}}, o), InputError);
  EXPECT_THROW(generate(loaded.model, kBrackets, {}, {{5, 320}}, o), InputError);
  o.group_size = 0;
  EXPECT_THROW(generate(loaded.model, kBrackets, {}, {{5}}, o), InputError);
}

}  // namespace
}  // namespace r1

namespace r1 {
namespace {

// `r1train generate` end to end: one JSON line per completion with the documented fields.
TEST(GenerateCli, WritesOneJsonObjectPerCompletion) {
  test::TempDir dir;
  for (const auto& f : fs::directory_iterator(fixture("llama_tied")))
    fs::copy_file(f.path(), dir.path / f.path().filename());
  write_byte_level_tokenizer(dir.path, {"<s>", "</s>"});
  auto out = dir.path / "out.jsonl";
  auto r = test::run_r1train("generate --model " + dir.path.string() +
                             " --prompt hi --prompt 'a longer prompt' -n 3 --max-new-tokens 5 --seed 3 --output " +
                             out.string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::ifstream in(out);
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    auto j = nlohmann::json::parse(line);
    for (const char* key : {"prompt", "prompt_ids", "sample", "completion", "completion_ids", "logprobs",
                            "finish_reason"})
      EXPECT_TRUE(j.contains(key)) << key << " in " << line;
    EXPECT_EQ(j["prompt"], n < 3 ? "hi" : "a longer prompt");
    EXPECT_EQ(j["sample"], n % 3);
    EXPECT_EQ(j["completion_ids"].size(), j["logprobs"].size());
    EXPECT_LE(j["completion_ids"].size(), 5u);
    ++n;
  }
  EXPECT_EQ(n, 6);
  auto bad = test::run_r1train("generate --model " + dir.path.string() + " --prompt hi --top-p 0");
  EXPECT_EQ(bad.exit_code, 2) << bad.output;
  EXPECT_NE(bad.output.find("top_p is 0"), std::string::npos) << bad.output;
  auto none = test::run_r1train("generate --model " + dir.path.string());
  EXPECT_EQ(none.exit_code, 2) << none.output;
}

}  // namespace
}  // namespace r1
