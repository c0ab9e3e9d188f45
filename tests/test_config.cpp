// Config: defaults, precedence (default < file < --set), and the error messages.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <sstream>

#include "r1/core/config.h"
#include "r1/core/error.h"
#include "r1/core/text_distance.h"
#include "r1/data/dataset.h"
#include "test_util.h"

namespace r1 {
namespace {

using test::TempDir;

TEST(TextDistance, EditDistanceByHand) {
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);  // k->s, e->i, +g
  EXPECT_EQ(edit_distance("", "abc"), 3u);
  EXPECT_EQ(edit_distance("epsilon_hi", "epsilon_high"), 2u);
  EXPECT_EQ(closest("epsilon_hi", {"epsilon", "epsilon_high", "beta"}), "epsilon_high");
  EXPECT_EQ(closest("zzzzzz", {"epsilon", "beta"}), "");
}

TEST(Config, DefaultsMatchDesign) {
  Config c;
  EXPECT_EQ(c.model.dtype, Dtype::Auto);  // DESIGN's bfloat16 on a GPU; float32 on the CPU
  EXPECT_EQ(c.rollout.group_size, 8);
  EXPECT_EQ(c.rollout.stop, std::vector<std::string>{"</answer>"});
  EXPECT_EQ(c.grpo.loss_type, LossType::Dapo);
  EXPECT_DOUBLE_EQ(c.grpo.epsilon_high, 0.28);
  EXPECT_EQ(c.optim.betas, (std::vector<double>{0.9, 0.99}));
  ASSERT_EQ(c.rewards.size(), 2u);
  EXPECT_EQ(c.rewards[0].name, RewardKind::Format);
  EXPECT_EQ(c.rewards[1].name, RewardKind::Math);
}

TEST(Config, FileThenOverridesTakePrecedence) {
  TempDir dir;
  auto file = dir.write("c.yaml",
                        "grpo:\n  epsilon: 0.1\n  beta: 0.04\noptim:\n  lr: 3e-6\n"
                        "rewards:\n  - {name: format, weight: 0.5}\n  - {name: gsm8k}\n");
  Config c;
  auto problems = check_config({file, {"grpo.beta=0.0", "rewards.1.weight=2", "rollout.stop=[\"</a>\", \"\\n\\n\"]"}}, c,
                               ConfigUse::Any);
  ASSERT_TRUE(problems.empty()) << problems.front();
  EXPECT_DOUBLE_EQ(c.grpo.epsilon, 0.1);       // from the file
  EXPECT_DOUBLE_EQ(c.grpo.beta, 0.0);          // --set beats the file
  EXPECT_DOUBLE_EQ(c.optim.lr, 3e-6);          // file, scientific notation
  EXPECT_DOUBLE_EQ(c.grpo.epsilon_high, 0.28); // default kept
  ASSERT_EQ(c.rewards.size(), 2u);
  EXPECT_DOUBLE_EQ(c.rewards[0].weight, 0.5);
  EXPECT_EQ(c.rewards[1].name, RewardKind::Gsm8k);
  EXPECT_DOUBLE_EQ(c.rewards[1].weight, 2.0);
  EXPECT_EQ(c.rollout.stop, (std::vector<std::string>{"</a>", "\n\n"}));
}

// A value as YAML: numbers, booleans and lists as they are, other text quoted.
std::string yaml_value(const std::string& v) {
  char* end = nullptr;
  std::strtod(v.c_str(), &end);
  const bool number = !v.empty() && *end == '\0';
  if (number || v == "true" || v == "false" || (!v.empty() && (v.front() == '[' || v.front() == '{'))) return v;
  return nlohmann::json(v).dump();
}

// The --set that sets `key` (reward fields as "rewards[I].field", in an entry of their own) to `value`.
std::string set_of(const std::string& key, const std::string& value) {
  if (key.rfind("rewards[", 0) != 0) return key + "=" + yaml_value(value);
  const std::string field = key.substr(key.find("].") + 2);
  return std::string("rewards=[{") + (field == "name" ? "" : "name: format, ") + field + ": " + yaml_value(value) + "}]";
}

// A value away from the default `value` of `key`: numbers up, booleans flipped, lists emptied (or
// given an entry), option values moved to another option (read from the parser's "use one of"
// list), other strings extended.
std::string perturbed(const std::string& key, const std::string& value) {
  if (value == "true" || value == "false") return value == "true" ? "false" : "true";
  if (!value.empty() && value.front() == '[') return value == "[]" ? "[\"x\"]" : "[]";
  if (!value.empty() && value.front() == '{') return value == "{}" ? "{\"x\":1}" : "{}";  // a map
  char* end = nullptr;
  const double d = std::strtod(value.c_str(), &end);
  if (!value.empty() && *end == '\0') {
    const bool integer = value.find_first_of(".eE") == std::string::npos;
    return integer ? std::to_string(static_cast<long long>(d) + 1) : fmt::format("{}", d + 0.25);
  }
  Config ignored;
  for (const auto& problem : check_config({"", {set_of(key, value + "_x")}}, ignored, ConfigUse::Any)) {
    const auto at = problem.find("use one of ");
    if (at == std::string::npos) continue;
    std::istringstream options(problem.substr(at + 11));
    for (std::string option; std::getline(options, option, ',');) {
      option.erase(0, option.find_first_not_of(' '));
      option = option.substr(0, option.find(" ("));  // the last may carry "(did you mean ...)"
      if (option != value) return option;
    }
  }
  return value + "_x";
}

// Every setting moved off its default survives to_yaml and parsing back, compared field by field
// (config_values), so a field the emitter drops fails here. Value rules are not the point: the
// parsed config is compared whatever they say of the odd combination.
TEST(Config, ResolvedYamlRoundTrips) {
  TempDir dir;
  const Config defaults;
  std::vector<std::string> sets;
  std::map<std::string, std::string> reward_entries;  // "rewards[I]" -> "k: v, ..."
  for (const auto& [key, value] : config_values(defaults)) {
    const std::string moved = perturbed(key, value);
    if (key.rfind("rewards[", 0) == 0) {
      auto& entry = reward_entries[key.substr(0, key.find(']') + 1)];
      entry += (entry.empty() ? "" : ", ") + key.substr(key.find("].") + 2) + ": " + yaml_value(moved);
    } else {
      sets.push_back(set_of(key, moved));
    }
  }
  std::string rewards;
  for (const auto& [index, entry] : reward_entries) rewards += (rewards.empty() ? "" : ", ") + ("{" + entry + "}");
  sets.push_back("rewards=[" + rewards + "]");
  Config c;
  const auto problems = check_config({"", sets}, c, ConfigUse::Any);
  const auto before = config_values(defaults), moved = config_values(c);
  ASSERT_EQ(moved.size(), before.size()) << (problems.empty() ? "" : problems.front());
  for (std::size_t i = 0; i < moved.size(); ++i)
    EXPECT_NE(moved[i].second, before[i].second) << moved[i].first << " stayed at its default: extend perturbed() ("
                                                 << problems.size() << " problems, the first: "
                                                 << (problems.empty() ? "" : problems.front()) << ")";
  auto file = dir.write("resolved.yaml", to_yaml(c));
  Config back;
  check_config({file, {}}, back, ConfigUse::Any);
  const auto read = config_values(back);
  ASSERT_EQ(read.size(), moved.size());
  for (std::size_t i = 0; i < read.size(); ++i)
    EXPECT_EQ(read[i], moved[i]) << "lost between to_yaml and parsing: " << moved[i].first;
  // Quoting survives too.
  c.rollout.stop = {"</answer>", "\"quoted\""};
  auto quoted = dir.write("quoted.yaml", to_yaml(c));
  check_config({quoted, {}}, back, ConfigUse::Any);
  EXPECT_EQ(back.rollout.stop[1], "\"quoted\"");
}

TEST(Config, UnknownKeySuggestsClosest) {
  TempDir dir;
  auto file = dir.write("c.yaml", "grpo:\n  epsilon: 0.2\n  epsilon_hi: 0.3\n");
  Config c;
  auto problems = check_config({file, {}}, c, ConfigUse::Any);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].find(file.string() + ":3:3"), std::string::npos) << problems[0];
  EXPECT_NE(problems[0].find("grpo.epsilon_hi: unknown key; did you mean 'grpo.epsilon_high'?"), std::string::npos)
      << problems[0];
}

TEST(Config, DistSectionIsValidated) {
  Config c;
  auto problems = check_config({"", {"dist.backend=mpi"}}, c, ConfigUse::Any);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].find("dist.backend: unknown value 'mpi'; use one of auto, gloo, nccl"), std::string::npos)
      << problems[0];
  problems = check_config({"", {"dist.timeout_s=0"}}, c, ConfigUse::Any);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].find("dist.timeout_s: is 0; must be >= 1"), std::string::npos) << problems[0];
  EXPECT_TRUE(check_config({"", {"dist.backend=gloo", "dist.timeout_s=60"}}, c, ConfigUse::Any).empty());
  EXPECT_EQ(c.dist.backend, DistBackend::Gloo);
  EXPECT_EQ(c.dist.timeout_s, 60);
}

// `--set` overrides that make exactly one problem, whose text holds `expected`.
void expect_one_problem(std::vector<std::string> sets, const std::string& expected) {
  Config c;
  auto problems = check_config({"", std::move(sets)}, c, ConfigUse::Any);
  ASSERT_EQ(problems.size(), 1u) << expected << (problems.empty() ? "" : "\n" + problems[0]);
  EXPECT_NE(problems[0].find(expected), std::string::npos) << problems[0];
}

// The algorithm options of issue 19 are validated like every other key, each problem named.
TEST(Config, AlgorithmOptionsAreValidated) {
  Config c;
  expect_one_problem({"grpo.loss_type=ppo"}, "grpo.loss_type: unknown value 'ppo'; use one of grpo, bnpo, dr_grpo, dapo, cispo, sapo");
  expect_one_problem({"grpo.importance_sampling_level=group"}, "use one of token, sequence");
  expect_one_problem({"grpo.advantage=ppo"}, "use one of grpo, rloo, reinforce_pp");
  expect_one_problem({"grpo.clip_ratio_c=0.5"}, "grpo.clip_ratio_c: is 0.5; must be > 1");
  expect_one_problem({"grpo.delta=1.1"}, "grpo.delta: is 1.1; must be > 1 + epsilon_high = 1.28");
  expect_one_problem({"grpo.top_entropy_quantile=0"}, "grpo.top_entropy_quantile: is 0; must be in (0, 1]");
  expect_one_problem({"grpo.sapo_temperature_neg=0"}, "grpo.sapo_temperature_neg: is 0; must be > 0");
  expect_one_problem({"eval.temperature=-0.5"}, "eval.temperature: is -0.5; must be >= 0 (0 = greedy) or -1");
  expect_one_problem({"eval.top_p=0"}, "eval.top_p: is 0; must be in (0, 1]");
  expect_one_problem({"grpo.advantage=reinforce_pp"}, "grpo.scale_rewards: grpo.advantage reinforce_pp whitens");
  expect_one_problem({"grpo.loss_type=cispo", "grpo.clip_ratio_c=3"}, "cispo and sapo have no clipped surrogate");
  EXPECT_TRUE(check_config({"", {"grpo.importance_sampling_level=sequence", "grpo.advantage=reinforce_pp",
                                 "grpo.scale_rewards=batch", "grpo.clip_ratio_c=3", "grpo.delta=4",
                                 "grpo.top_entropy_quantile=0.2"}},
                           c, ConfigUse::Any)
                  .empty());
  EXPECT_EQ(c.grpo.importance_sampling_level, ImportanceLevel::Sequence);
  EXPECT_EQ(c.grpo.advantage, AdvantageEstimator::ReinforcePP);
}

TEST(Config, RolloutCorrectionIsValidated) {
  Config c;
  expect_one_problem({"grpo.rollout_correction=is"}, "grpo.rollout_correction: unknown value 'is'; use one of none, tis, mis");
  expect_one_problem({"grpo.rollout_correction=tis", "grpo.rollout_correction_cap=1"},
                     "grpo.rollout_correction_cap: is 1; must be > 1");
  expect_one_problem({"grpo.rollout_correction_cap=3"}, "is set but grpo.rollout_correction is none");
  EXPECT_TRUE(check_config({"", {"grpo.rollout_correction=mis", "grpo.rollout_correction_cap=3"}}, c, ConfigUse::Any).empty());
  EXPECT_EQ(c.grpo.rollout_correction, RolloutCorrection::Mis);
  EXPECT_EQ(c.grpo.rollout_correction_cap, 3.0);
}

// sft trains the whole model: lora.r is refused when the config is checked for sft, not later.
TEST(Config, SftRefusesLoraInValidation) {
  Config c;
  const auto problems = check_config({"", {"lora.r=8"}}, c, ConfigUse::Sft);
  EXPECT_TRUE(std::any_of(problems.begin(), problems.end(), [](const std::string& p) {
    return p.find("lora.r: r1train sft trains the whole model") != std::string::npos;
  })) << (problems.empty() ? "" : problems.front());
  EXPECT_TRUE(check_config({"", {"lora.r=8"}}, c, ConfigUse::Any).empty());
}

TEST(Config, ShapingRewardsAndReferenceRefreshAreValidated) {
  Config c;
  expect_one_problem({"rewards=[{name: overlong}]"}, "rewards[0].buffer: is 0; the overlong reward needs the tokens before the limit (512)");
  expect_one_problem({"rewards=[{name: overlong, buffer: 600}]"}, "rewards[0].buffer: is 600");
  expect_one_problem({"rewards=[{name: overlong, buffer: 600, max_len: 400}]"}, "from 1 to 400");
  expect_one_problem({"rewards=[{name: overlong, buffer: 8, penalty: -1}]"}, "rewards[0].penalty: is -1; must be >= 0");
  expect_one_problem({"rewards=[{name: repetition, max_penalty: 0.5}]"}, "rewards[0].max_penalty: is 0.5; must be <= 0");
  expect_one_problem({"rewards=[{name: repetition, ngram: 0}]"}, "rewards[0].ngram: is 0; must be >= 1");
  expect_one_problem({"rewards=[{name: cosine, mode: nope}]"}, "rewards[0].mode: unknown value 'nope'; use one of math, gsm8k");
  expect_one_problem({"rewards=[{name: math, pattern: x}]"}, "rewards[0].pattern: the math reward does not read pattern; only regex");
  expect_one_problem({"rewards=[{name: format}, {name: math, buffer: 8}]"}, "rewards[1].buffer: the math reward does not read buffer");
  expect_one_problem({"grpo.ref_sync_every=10"}, "grpo.ref_sync_every: refreshes the KL reference, but grpo.beta is 0");
  expect_one_problem({"grpo.ref_mixup_alpha=0.9"}, "grpo.ref_mixup_alpha: is set but grpo.ref_sync_every is 0");
  expect_one_problem({"grpo.beta=0.04", "grpo.ref_sync_every=10", "grpo.ref_mixup_alpha=0"}, "grpo.ref_mixup_alpha: is 0; must be in (0, 1]");
  expect_one_problem({"grpo.beta=0.04", "grpo.ref_sync_every=10", "lora.r=8"}, "with LoRA the reference is the base model");
  expect_one_problem({"grpo.reward_aggregation=normalize_then_sum", "grpo.advantage=rloo"}, "grpo.reward_aggregation: normalize_then_sum");
  expect_one_problem({"grpo.reward_aggregation=sum"}, "use one of sum_then_normalize, normalize_then_sum");
  EXPECT_TRUE(check_config({"", {"rewards=[{name: format}, {name: overlong, buffer: 64, penalty: 0.5}, "
                                 "{name: cosine, mode: gsm8k, max_len: 256}, {name: repetition, ngram: 4}]",
                                 "grpo.beta=0.04", "grpo.ref_sync_every=64", "grpo.ref_mixup_alpha=0.9",
                                 "grpo.entropy_coef=0.001", "grpo.reward_aggregation=normalize_then_sum"}},
                           c, ConfigUse::Any)
                  .empty());
  EXPECT_EQ(c.rewards.at(1).buffer, 64);
  EXPECT_EQ(c.rewards.at(2).mode, "gsm8k");
  EXPECT_EQ(c.grpo.reward_aggregation, RewardAggregation::NormalizeThenSum);
  // The resolved config prints the keys that differ from their defaults, and reads back the same.
  const std::string yaml = to_yaml(c);
  EXPECT_NE(yaml.find("buffer: 64"), std::string::npos) << yaml;
  EXPECT_NE(yaml.find("ngram: 4"), std::string::npos) << yaml;
}

TEST(Config, KeyInWrongSectionSuggestsTheRightOne) {
  Config c;
  auto problems = check_config({"", {"train.lr=1e-5"}}, c, ConfigUse::Any);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].find("--set train.lr=1e-5: train.lr: unknown key; did you mean 'optim.lr'?"),
            std::string::npos)
      << problems[0];
}

TEST(Config, EveryProblemIsReported) {
  TempDir dir;
  auto file = dir.write("c.yaml", "rollout:\n  group_size: 1\n  top_p: 1.5\noptim:\n  lr: -1\n");
  Config c;
  auto problems = check_config({file, {}}, c, ConfigUse::Any);
  ASSERT_EQ(problems.size(), 3u);
  EXPECT_NE(problems[0].find(":2:15: rollout.group_size: is 1"), std::string::npos) << problems[0];
  EXPECT_NE(problems[1].find(":3:10: rollout.top_p: is 1.5; must be in (0, 1]"), std::string::npos) << problems[1];
  EXPECT_NE(problems[2].find(":5:7: optim.lr: is -1"), std::string::npos) << problems[2];
}

TEST(Config, LoadThrowsInputError) {
  EXPECT_THROW(load_config({"", {"grpo.loss_type=ppo"}}, ConfigUse::Any), InputError);
}

TEST(Config, KeyListCoversDesign) {
  auto keys = config_keys();
  for (const char* k : {"model.path", "data.template", "rollout.min_p", "rewards[].weight", "grpo.kl_estimator",
                        "grpo.dynamic_sampling", "optim.schedule", "train.keep_last", "eval.num_samples"}) {
    EXPECT_NE(std::find(keys.begin(), keys.end(), k), keys.end()) << k;
  }
}

// Every config under configs/ validates (the model path pointed at the committed demo base, which
// every GPU recipe replaces with its own download) and its training and eval files load with its
// data settings: prompt and answer fields found on every line. The countdown files are generated
// first, as its header says.
TEST(ShippedConfigs, EveryConfigValidatesAndItsDataLoads) {
  test::TempDir dir;
  const auto root = test::source_dir();
  for (const auto& [split, seed] : {std::pair{"train", 1}, std::pair{"test", 2}}) {
    auto r = test::run_r1train(fmt::format("gen-data countdown --n 20 --seed {} --output '{}'", seed,
                                           (dir.path / fmt::format("countdown_{}.jsonl", split)).string()));
    ASSERT_EQ(r.exit_code, 0) << r.output;
  }
  int checked = 0;
  for (const auto& entry : std::filesystem::directory_iterator(root / "configs")) {
    if (entry.path().extension() != ".yaml") continue;
    std::vector<std::string> sets = {"model.path=" + (root / "data/demo-base").string()};
    if (entry.path().filename().string().find("countdown") != std::string::npos) {
      sets.push_back("data.train=" + (dir.path / "countdown_train.jsonl").string());
      sets.push_back("eval.data=" + (dir.path / "countdown_test.jsonl").string());
    }
    Config c;
    const auto problems = check_config({entry.path(), sets}, c, ConfigUse::Train);
    EXPECT_TRUE(problems.empty()) << entry.path() << ": " << (problems.empty() ? "" : problems.front());
    if (!problems.empty()) continue;
    EXPECT_NO_THROW(Dataset::load_jsonl(c.data.train, c.data)) << entry.path() << " " << c.data.train;
    if (!c.eval.data.empty()) {
      EXPECT_NO_THROW(Dataset::load_jsonl(c.eval.data, c.data)) << entry.path() << " " << c.eval.data;
    }
    ++checked;
  }
  EXPECT_GE(checked, 7);  // demo, math, qwen2.5-0.5b-gsm8k, qwen2.5-3b-countdown, dapo, dr_grpo, gspo
}

}  // namespace
}  // namespace r1

namespace r1 {
namespace {

// model.path as a hub id: the snapshot refs/<revision> names in the local Hugging Face cache (a
// cache laid out as huggingface_hub lays it out, made here); a missing model or revision is exit 2
// naming the cache and the download command. An existing directory of that name wins.
TEST(HubIds, ModelPathResolvesInTheLocalCache) {
  test::TempDir dir;
  const std::string hash = "0123456789abcdef0123456789abcdef01234567";
  const auto repo = dir.path / "hub/models--acme--tiny-demo";
  std::filesystem::create_directories(repo / "refs");
  std::filesystem::create_directories(repo / "snapshots");
  std::ofstream(repo / "refs/main") << hash;
  std::filesystem::create_directory_symlink(test::source_dir() / "data/demo-base", repo / "snapshots" / hash);
  const std::string env = "HF_HUB_CACHE='" + (dir.path / "hub").string() + "' ";
  const std::string config = " --config '" + (test::source_dir() / "configs/demo.yaml").string() + "' --set data.train='" +
                             (test::source_dir() / "data/demo-train.jsonl").string() + "' --set eval.data='" +
                             (test::source_dir() / "data/demo-test.jsonl").string() + "'";
  auto ok = test::run_command("cd '" + dir.path.string() + "' && " + env + "'" + R1_BINARY + "' validate" + config +
                              " --set model.path=acme/tiny-demo");
  EXPECT_EQ(ok.exit_code, 0) << ok.output;
  EXPECT_NE(ok.output.find((repo / "snapshots" / hash).string()), std::string::npos) << ok.output;
  auto by_commit = test::run_command("cd '" + dir.path.string() + "' && " + env + "'" + R1_BINARY + "' validate" + config +
                                     " --set model.path=acme/tiny-demo --set model.revision=" + hash);
  EXPECT_EQ(by_commit.exit_code, 0) << by_commit.output;
  auto gen = test::run_command(env + "'" + R1_BINARY + "' generate --model acme/tiny-demo --prompt 'Q: 1+2=?' "
                                     "--max-new-tokens 4");
  EXPECT_EQ(gen.exit_code, 0) << gen.output;
  auto no_rev = test::run_command("cd '" + dir.path.string() + "' && " + env + "'" + R1_BINARY + "' validate" + config +
                                  " --set model.path=acme/tiny-demo --set model.revision=v2");
  EXPECT_EQ(no_rev.exit_code, 2) << no_rev.output;
  EXPECT_NE(no_rev.output.find("has no refs/v2"), std::string::npos) << no_rev.output;
  auto missing = test::run_command("cd '" + dir.path.string() + "' && " + env + "'" + R1_BINARY + "' validate" + config +
                                   " --set model.path=acme/absent");
  EXPECT_EQ(missing.exit_code, 2) << missing.output;
  EXPECT_NE(missing.output.find("models--acme--absent"), std::string::npos) << missing.output;
  EXPECT_NE(missing.output.find("hf download acme/absent"), std::string::npos) << missing.output;
  // An existing directory named like a hub id wins over the cache.
  std::filesystem::create_directories(dir.path / "acme");
  std::filesystem::create_directory_symlink(test::source_dir() / "data/demo-base", dir.path / "acme/tiny-demo");
  auto local = test::run_command("cd '" + dir.path.string() + "' && " + env + "'" + R1_BINARY + "' validate" + config +
                                 " --set model.path=acme/tiny-demo");
  EXPECT_EQ(local.exit_code, 0) << local.output;
  EXPECT_EQ(local.output.find("snapshots"), std::string::npos) << local.output;
}

}  // namespace
}  // namespace r1
