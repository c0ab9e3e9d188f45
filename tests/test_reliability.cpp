// Bad and hostile input to the commands: each is refused before any work with exit 2 and the key,
// flag or file named; failures during work are exit 1 with the file named; nothing crashes.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <fmt/format.h>

#include "r1/model/decoder.h"
#include "test_util.h"

namespace r1 {
namespace {

namespace fs = std::filesystem;
using test::run_command;
using test::run_r1train;
using test::TempDir;

std::string demo_base() { return (test::source_dir() / "data/demo-base").string(); }
std::string demo_test() { return (test::source_dir() / "data/demo-test.jsonl").string(); }

struct BadInput {
  const char* name;
  std::string args;      // r1train arguments
  std::string expected;  // substring of the message
};

TEST(Reliability, BadArgumentsAreRefusedBeforeAnyWorkWithExit2) {
  TempDir dir;
  const auto config = dir.write("c.yaml", "grpo:\n  beta: 0.1\nrewards:\n  - {name: format}\n").string();
  const auto two_docs = dir.write("two.yaml", "grpo:\n  beta: 0.1\n---\ngrpo:\n  beta: 0.2\n").string();
  const auto gen_dir = dir.path / "bad-gen";
  fs::create_directories(gen_dir);
  for (const auto& f : fs::directory_iterator(demo_base())) fs::copy_file(f.path(), gen_dir / f.path().filename());
  dir.write("bad-gen/generation_config.json", "{\"eos_token_id\": \"x\"}\n");
  const std::string eval = "eval --model " + demo_base() + " --data " + demo_test() + " --task math ";
  const std::string generate = "generate --model " + demo_base() + " ";
  const std::vector<BadInput> cases = {
      {"eval samples 0", eval + "--num-samples 0", "--num-samples: is 0; must be >= 1"},
      {"eval samples negative", eval + "--num-samples -3", "--num-samples: is -3; must be >= 1"},
      {"eval max problems negative", eval + "--max-problems -1", "--max-problems: is -1; must be >= 0"},
      {"eval temperature negative", eval + "--temperature -0.5", "--temperature: is -0.5; must be >= 0"},
      {"eval top_p zero", eval + "--top-p 0", "--top-p: is 0; must be > 0"},
      {"eval top_p above 1", eval + "--top-p 1.5", "--top-p"},
      {"eval unknown task", eval + "--task poetry", "--task"},
      // --device wins over the config's model.device (it was ignored with --config).
      {"eval --device with --config", "eval --config " + (test::source_dir() / "configs/demo.yaml").string() +
                                          " --device cuda:3 --max-problems 1",
       "device 'cuda:3'"},
      {"eval output unwritable", eval + "--output " + (dir.path / "no/such/dir/out.jsonl").string(),
       "cannot write " + (dir.path / "no/such/dir/out.jsonl").string()},
      {"eval float16 on cpu", eval + "--dtype float16 --device cpu", "float16 does not run on the CPU"},
      {"yaml second document", "validate --config " + two_docs, "holds 2 YAML documents"},
      {"huge --set index", "validate --config " + config + " --set rewards.99999999999999999999.weight=1",
       "index 99999999999999999999 is past the end of the list"},
      {"score timeout negative", "score --reward command --command true --input x.jsonl --timeout -1",
       "--timeout: is -1; must be > 0"},
      {"tokenize input is a directory", "tokenize --tokenizer " + demo_base() + " --input " + dir.path.string(),
       "is a directory"},
      {"tokenize id out of range", "tokenize --tokenizer " + demo_base() + " --decode --text '[1000000000000]'",
       "token id 1000000000000 is out of range"},
      {"generation_config eos not an id", "tokenize --tokenizer " + gen_dir.string() + " --text hi",
       "generation_config.json: eos_token_id: expected a token id"},
      {"prompt past the context", generate + "--max-new-tokens 2 --prompt " + std::string(300, 'a'),
       "past the model's context of 256 tokens"},
      {"max_new_tokens past the context", generate + "--max-new-tokens 1000000000 --prompt hi",
       "past the model's context"},
      {"float16 in config on cpu", "validate --config " + config + " --set model.dtype=float16 --set model.device=cpu",
       "model.dtype: float16 does not run on the CPU"},
  };
  for (const auto& c : cases) {
    auto r = run_r1train(c.args);
    EXPECT_EQ(r.exit_code, 2) << c.name << "\n" << r.output;
    EXPECT_NE(r.output.find(c.expected), std::string::npos) << c.name << ": expected '" << c.expected << "' in:\n"
                                                             << r.output;
    EXPECT_EQ(r.output.find("terminate called"), std::string::npos) << c.name;
  }
}

TEST(Reliability, ThreadsBeyondTheCoresAreClampedWithAWarning) {
  auto r = run_r1train("--threads 100000 generate --model " + demo_base() + " --prompt hi --max-new-tokens 2");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("100000 threads asked for"), std::string::npos) << r.output;
}

TEST(Reliability, WriteFailuresAreExit1NamingTheOutput) {
  // /dev/full fails every write with ENOSPC, like a full disk.
  auto tok = run_command(fmt::format("sh -c '\"{}\" tokenize --tokenizer {} --text hi > /dev/full'", R1_BINARY,
                                     demo_base()));
  EXPECT_EQ(tok.exit_code, 1) << tok.output;
  EXPECT_NE(tok.output.find("standard output: write failed: No space left on device"), std::string::npos)
      << tok.output;
  TempDir dir;
  auto input = dir.write("in.jsonl", "{\"completion\": \"<answer>2</answer>\", \"answer\": \"2\"}\n");
  auto score = run_r1train("score --reward math --input " + input.string() + " --output /dev/full");
  // (the output file is named, not standard output)
  EXPECT_EQ(score.exit_code, 1) << score.output;
  EXPECT_NE(score.output.find("/dev/full: write failed"), std::string::npos) << score.output;
}

TEST(Reliability, NonFiniteWeightsAreReportedAsOursAndEvalFails) {
  TempDir dir;
  auto m = load_model(demo_base(), torch::kFloat32, torch::kCPU);
  {
    torch::NoGradGuard no_grad;
    m.model->lm_head_weight()[3][0] = std::numeric_limits<float>::quiet_NaN();
  }
  save_model(m.model, m.config, dir.path / "nan", demo_base());
  auto data = dir.write("t.jsonl", "{\"prompt\": \"1+1\", \"answer\": \"2\"}\n");
  auto r = run_r1train("eval --model " + (dir.path / "nan").string() + " --data " + data.string() +
                       " --task math --max-new-tokens 8 --template plain");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("NaN or Inf logits at decode step 1"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("r1train inspect"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("probability tensor"), std::string::npos) << r.output;  // not libtorch's message
}

}  // namespace
}  // namespace r1
