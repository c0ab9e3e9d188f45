// Core pieces: option tables, the run-defining settings, JSONL reading, regex, strings, log files.
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <fstream>

#include "r1/core/config.h"
#include "r1/core/error.h"
#include "r1/core/jsonl.h"
#include "r1/core/log.h"
#include "r1/core/options.h"
#include "r1/core/regex.h"
#include "r1/core/strings.h"
#include "test_util.h"

namespace r1 {
namespace {

using test::TempDir;

TEST(Options, EachTableNamesEveryValueOnceAndRoundTrips) {
  EXPECT_EQ(option_names<LossType>(), (std::vector<std::string>{"grpo", "bnpo", "dr_grpo", "dapo", "cispo", "sapo"}));
  EXPECT_EQ(option_name(LossType::DrGrpo), "dr_grpo");
  EXPECT_EQ(parse_option<ScaleRewards>("none"), ScaleRewards::None);
  EXPECT_FALSE(parse_option<KlEstimator>("k4").has_value());
  for (const auto& name : option_names<RewardKind>()) EXPECT_EQ(option_name(*parse_option<RewardKind>(name)), name);
  EXPECT_EQ(option_list<Schedule>(), "constant | linear | cosine");
  EXPECT_EQ(unknown_option_message<Schedule>("cosin"),
            "unknown value 'cosin'; use one of constant, linear, cosine (did you mean 'cosine'?)");
  try {
    require_option<OnError>("ignore", "rewards[0].on_error");
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("rewards[0].on_error: unknown value 'ignore'; use one of error, default"),
              std::string::npos)
        << e.what();
  }
}

TEST(Config, RunDefiningLinesComeFromTheFieldTags) {
  Config c;
  const auto grpo = run_defining_lines(c, ConfigUse::Train);
  auto has = [](const std::vector<std::string>& lines, const std::string& prefix) {
    return std::any_of(lines.begin(), lines.end(), [&](const std::string& l) { return l.rfind(prefix, 0) == 0; });
  };
  EXPECT_TRUE(has(grpo, "grpo.loss_type: \"dapo\""));
  EXPECT_TRUE(has(grpo, "rollout.group_size: 8"));
  EXPECT_TRUE(has(grpo, "rewards.{name: format"));
  EXPECT_TRUE(has(grpo, "train.seed: 42"));
  // Free fields and sections another command uses are not compared on resume.
  for (const char* free : {"train.steps", "train.output_dir", "train.micro_batch_size", "rollout.batch_size",
                           "model.device", "eval.", "sft."})
    EXPECT_FALSE(has(grpo, free)) << free;
  const auto sft = run_defining_lines(c, ConfigUse::Sft);
  EXPECT_TRUE(has(sft, "sft.lr: 0.0001"));
  EXPECT_TRUE(has(sft, "optim.betas"));
  for (const char* other : {"grpo.", "rollout.", "rewards.", "train.", "sft.output_dir", "sft.log_every"})
    EXPECT_FALSE(has(sft, other)) << other;
  // A change to a defining field shows; a change to a free one does not.
  Config changed = c;
  changed.grpo.epsilon = 0.1;
  changed.train.steps = 3;
  EXPECT_NE(run_defining_lines(changed, ConfigUse::Train), grpo);
  changed.grpo.epsilon = c.grpo.epsilon;
  EXPECT_EQ(run_defining_lines(changed, ConfigUse::Train), grpo);
}

TEST(Jsonl, ReaderNamesFileAndLineAndSkipsBlankLines) {
  TempDir dir;
  auto good = dir.write("a.jsonl", "{\"x\": 1}\n\n  \n{\"x\": 2}\r\n");
  std::vector<std::string> where;
  read_jsonl(good, {}, [&](JsonlRow& r) { where.push_back(r.where + "=" + r.value["x"].dump()); });
  EXPECT_EQ(where, (std::vector<std::string>{good.string() + ":1=1", good.string() + ":4=2"}));
  auto bad = dir.write("b.jsonl", "{\"x\": 1}\n[1]\n");
  try {
    read_jsonl(bad, {}, [](JsonlRow&) {});
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("b.jsonl:2: expected a JSON object per line, got array"), std::string::npos);
  }
  auto torn = dir.write("c.jsonl", "{\"step\": 1}\n{\"step\": 2, \"lo");
  int rows = 0;
  read_jsonl(torn, {.skip_malformed = true}, [&](JsonlRow&) { ++rows; });
  EXPECT_EQ(rows, 1);  // a log line cut by a crash is skipped
  EXPECT_THROW(read_jsonl(dir.path, {}, [](JsonlRow&) {}), InputError);  // a directory
  EXPECT_THROW(read_jsonl(dir.path / "none.jsonl", {}, [](JsonlRow&) {}), InputError);
}

TEST(Regex, SearchFindAndUtf8EmptyMatches) {
  Regex digits("[0-9]+", Regex::Encoding::Bytes, "test");
  EXPECT_TRUE(digits.search("ab12"));
  EXPECT_FALSE(digits.search("abc"));
  auto m = digits.find("a12b345", 3);
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(*m, (std::pair<std::size_t, std::size_t>{4, 7}));
  // An empty match moves on by one character: "é" is two bytes in UTF-8.
  Regex letters("\\p{L}*", Regex::Encoding::Utf8, "test");
  std::vector<std::string> words;
  const std::string s = "ab é1c";
  letters.for_each_match(s, [&](std::size_t b, std::size_t e) { words.push_back(s.substr(b, e - b)); });
  EXPECT_EQ(words, (std::vector<std::string>{"ab", "é", "c"}));
  try {
    Regex broken("(", Regex::Encoding::Bytes, "rewards[0].pattern");
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("rewards[0].pattern: regex /(/ does not compile at offset 1"),
              std::string::npos)
        << e.what();
  }
}

TEST(Strings, TrimRemovesAsciiWhitespaceOnly) {
  EXPECT_EQ(trim(" \t a b \r\n"), "a b");
  EXPECT_EQ(trim(""), "");
  EXPECT_EQ(trim("\xC2\xA0x"), "\xC2\xA0x");  // a no-break space is not ASCII whitespace
}

TEST(Log, ARunsLogFileLeavesTheLoggerWhenTheRunEnds) {
  TempDir dir;
  init_logging("info");
  {
    LogFile first(dir.path / "first.log");
    spdlog::info("one");
  }
  {
    LogFile second(dir.path / "second.log");
    spdlog::info("two");
  }
  auto read = [](const std::filesystem::path& p) {
    std::ifstream in(p);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  };
  EXPECT_NE(read(dir.path / "first.log").find("one"), std::string::npos);
  EXPECT_EQ(read(dir.path / "first.log").find("two"), std::string::npos);
  EXPECT_NE(read(dir.path / "second.log").find("two"), std::string::npos);
}

}  // namespace
}  // namespace r1
