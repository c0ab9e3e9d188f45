// Datasets, prompt templates, seeded sampling with resumable cursors, and the task generators.
#include <gtest/gtest.h>

#include <set>

#include "r1/core/error.h"
#include "r1/data/dataset.h"
#include "r1/data/prompt_template.h"
#include "r1/data/task_generators.h"
#include "r1/rewards/reward_set.h"
#include "test_util.h"

namespace r1 {
namespace {

using test::TempDir;

std::string load_error(const std::string& content, const DataConfig& config = {}) {
  TempDir dir;
  auto p = dir.write("d.jsonl", content);
  try {
    Dataset::load_jsonl(p, config);
  } catch (const InputError& e) {
    return e.what();
  }
  return "no error";
}

TEST(Dataset, FieldsGsm8kAnswersAndMetadata) {
  TempDir dir;
  auto p = dir.write("d.jsonl",
                     "{\"question\": \"Q1\", \"answer\": \"Janet sells 9.\\n#### 1,018\"}\n"
                     "\n"
                     "{\"prompt\": \"Q2\", \"answer\": 27.5, \"numbers\": [3, 5], \"target\": 8}\r\n"
                     "{\"problem\": \"Q3\", \"solution\": \"\\\\boxed{4}\"}\n");
  auto ds = Dataset::load_jsonl(p, DataConfig{});
  ASSERT_EQ(ds.size(), 3u);
  EXPECT_EQ(ds[0].prompt, "Q1");
  EXPECT_EQ(ds[0].answer, "1018");
  EXPECT_EQ(ds[1].answer, "27.5");
  EXPECT_EQ(ds[1].metadata, (nlohmann::json{{"numbers", {3, 5}}, {"target", 8}}));
  EXPECT_EQ(ds[2].prompt, "Q3");
  EXPECT_EQ(ds[2].answer, "\\boxed{4}");
  EXPECT_EQ(ds[2].index, 2u);
  auto custom = dir.write("c.jsonl", "{\"q\": \"Q\", \"a\": \"A\", \"id\": 7}\n");
  auto dc = Dataset::load_jsonl(custom, DataConfig{.prompt_field = "q", .answer_field = "a"});
  EXPECT_EQ(dc[0].prompt, "Q");
  EXPECT_EQ(dc[0].metadata, (nlohmann::json{{"id", 7}}));
}

// The benchmarks shipped in data/benchmarks/ load with the settings the recipes use, with the line
// counts their README states.
TEST(Dataset, ShippedBenchmarksLoad) {
  auto data = test::benchmarks_dir();
  auto gsm = Dataset::load_jsonl(data / "gsm8k_test.jsonl", DataConfig{});
  EXPECT_EQ(gsm.size(), 1319u);
  EXPECT_EQ(gsm[0].answer, "18");  // Janet's ducks: ... #### 18
  EXPECT_EQ(Dataset::load_jsonl(data / "gsm8k_train.jsonl", DataConfig{}).size(), 7473u);
  auto math = Dataset::load_jsonl(data / "math500_test.jsonl", DataConfig{.prompt_field = "problem"});
  EXPECT_EQ(math.size(), 500u);
  EXPECT_EQ(math[0].answer, "\\left( 3, \\frac{\\pi}{2} \\right)");
  EXPECT_EQ(math[0].metadata["subject"], "Precalculus");
  EXPECT_TRUE(math[0].metadata.contains("solution"));
  auto aime = Dataset::load_jsonl(data / "aime24_test.jsonl", DataConfig{.prompt_field = "problem"});
  EXPECT_EQ(aime.size(), 30u);
  EXPECT_EQ(aime[0].answer, "204");  // Aya's walk: 204 minutes
  auto amc = Dataset::load_jsonl(data / "amc23_test.jsonl", DataConfig{.prompt_field = "problem"});
  EXPECT_EQ(amc.size(), 40u);
  EXPECT_EQ(amc[0].answer, "27.0");  // Alicia and Beth meet 27 miles from A (a JSON number)
}

TEST(Dataset, BadFilesNameLineAndFields) {
  EXPECT_NE(load_error("{\"prompt\": \"a\", \"answer\": \"1\"}\n{\"prompt\": \"b\",\n").find("d.jsonl:2: not valid JSON"),
            std::string::npos);
  EXPECT_NE(load_error("[1, 2]\n").find("d.jsonl:1: expected a JSON object per line, got array"), std::string::npos);
  EXPECT_NE(load_error("{\"text\": \"a\", \"answer\": \"1\"}\n")
                .find("d.jsonl:1: no prompt field 'prompt'; the line has: answer, text; set data.prompt_field"),
            std::string::npos);
  EXPECT_NE(load_error("{\"q\": \"a\", \"label\": \"1\"}\n", {.prompt_field = "q"})
                .find("d.jsonl:1: no answer field 'answer'; the line has: label, q"),
            std::string::npos);
  EXPECT_NE(load_error("{\"prompt\": [1], \"answer\": \"1\"}\n")
                .find("d.jsonl:1: prompt[0] is not a {\"role\": ..., \"content\": ...} message"),
            std::string::npos);
  EXPECT_NE(load_error("{\"prompt\": {\"a\": 1}, \"answer\": \"1\"}\n").find("field 'prompt' is object"), std::string::npos);
  EXPECT_NE(load_error("\n\n").find("no examples"), std::string::npos);
  EXPECT_THROW(Dataset::load_jsonl("/nonexistent/x.jsonl", DataConfig{}), InputError);
}

TEST(DatasetSampler, SeededEpochsCoverEveryExample) {
  DataSampler a(10, 7, true), b(10, 7, true), other(10, 8, true);
  auto first = a.next(10);
  EXPECT_EQ(first, b.next(10));
  EXPECT_NE(first, other.next(10));
  EXPECT_EQ(std::set<std::size_t>(first.begin(), first.end()).size(), 10u);  // a permutation
  auto second = a.next(10);
  EXPECT_NE(first, second);  // each epoch reshuffled
  EXPECT_EQ(std::set<std::size_t>(second.begin(), second.end()).size(), 10u);
  DataSampler ordered(5, 7, false);
  EXPECT_EQ(ordered.next(7), (std::vector<std::size_t>{0, 1, 2, 3, 4, 0, 1}));  // wraps into epoch 1
  EXPECT_EQ(ordered.cursor().epoch, 1u);
  EXPECT_EQ(ordered.cursor().position, 2u);
}

TEST(DatasetSampler, CursorRoundTripsThroughJsonAndResumesExactly) {
  DataSampler a(13, 42, true);
  a.next(20);  // into epoch 1
  auto saved = nlohmann::json::parse(a.cursor().to_json().dump());
  EXPECT_EQ(saved, (nlohmann::json{{"epoch", 1}, {"position", 7}}));  // 20 = 13 + 7
  auto expected = a.next(30);
  DataSampler b(13, 42, true);
  b.restore(DataCursor::from_json(saved));
  EXPECT_EQ(b.next(30), expected);
  EXPECT_THROW(DataCursor::from_json({{"epoch", 1}}), InputError);
  EXPECT_THROW(DataCursor::from_json({{"epoch", -1}, {"position", 0}}), InputError);
  EXPECT_THROW(b.restore({0, 14}), InputError);
}

TEST(PromptTemplate, NamedAndCustomTemplates) {
  EXPECT_EQ(apply_template("r1_zero", "What is 2+2?"),
            "A conversation between User and Assistant. The user asks a question, and the Assistant solves it. The "
            "assistant first thinks about the reasoning process in the mind and then provides the user with the "
            "answer. The reasoning process and answer are enclosed within <think> </think> and <answer> </answer> "
            "tags, respectively, i.e., <think> reasoning process here </think> <answer> answer here </answer>. User: "
            "What is 2+2?. Assistant:");
  // TinyZero's base prompt for numbers [3, 5, 7] and target 22, character for character.
  EXPECT_EQ(apply_template("countdown", "Using the numbers [3, 5, 7], create an equation that equals 22."),
            "A conversation between User and Assistant. The user asks a question, and the Assistant solves it. The "
            "assistant first thinks about the reasoning process in the mind and then provides the user with the "
            "answer.\nUser: Using the numbers [3, 5, 7], create an equation that equals 22. You can use basic "
            "arithmetic operations (+, -, *, /) and each number can only be used once. Show your work in <think> "
            "</think> tags. And return the final answer in <answer> </answer> tags, for example <answer> (1 + 2) / 3 "
            "</answer>.\nAssistant: Let me solve this step by step.\n<think>");
  EXPECT_EQ(apply_template("plain", "Q"), "Q");
  EXPECT_EQ(apply_template("Q: {question}\nA: ({prompt})", "2+2"), "Q: 2+2\nA: (2+2)");
  std::string chat = apply_template("chat", "Q");
  EXPECT_EQ(chat, apply_template("chatml", "Q"));
  EXPECT_EQ(chat.rfind("<|im_start|>system\n", 0), 0u);
  EXPECT_NE(chat.find("<|im_end|>\n<|im_start|>user\nQ<|im_end|>\n<|im_start|>assistant\n"), std::string::npos);
  std::string llama = apply_template("llama3", "Q");
  EXPECT_EQ(llama.rfind("<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n", 0), 0u);
  EXPECT_NE(llama.find("<|start_header_id|>user<|end_header_id|>\n\nQ<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"),
            std::string::npos);
  EXPECT_THROW(apply_template("alpaca", "Q"), InputError);
  EXPECT_TRUE(template_ends_in_think("countdown"));
  EXPECT_TRUE(template_ends_in_think("{prompt}\n<think>\n"));
  EXPECT_FALSE(template_ends_in_think("r1_zero"));
  EXPECT_FALSE(template_ends_in_think("chat"));
}

TEST(TaskGenerators, CountdownRowsAreSolvableAndDeterministic) {
  auto rows = generate_task("countdown", 200, 3);
  EXPECT_EQ(rows, generate_task("countdown", 200, 3));
  EXPECT_NE(rows, generate_task("countdown", 200, 4));
  for (const auto& r : rows) {
    auto numbers = r["numbers"].get<std::vector<long long>>();
    ASSERT_GE(numbers.size(), 3u);
    ASSERT_LE(numbers.size(), 4u);
    for (long long n : numbers) ASSERT_TRUE(n >= 1 && n <= 100) << r.dump();
    int target = r["target"].get<int>();
    ASSERT_TRUE(target >= 1 && target <= 1000) << r.dump();
    EXPECT_EQ(r["answer"], std::to_string(target));
    // The kept solution scores 1 with the countdown verifier.
    EXPECT_EQ(countdown_score("<answer>" + r["solution"].get<std::string>() + "</answer>", numbers, target, 0.1), 1.0)
        << r.dump();
    EXPECT_NE(r["prompt"].get<std::string>().find("Using the numbers ["), std::string::npos);
  }
}

TEST(TaskGenerators, ArithmeticAnswersAreRight) {
  for (const auto& r : generate_task("arithmetic", 100, 1)) {
    auto prompt = r["prompt"].get<std::string>();
    long long a = 0, b = 0;
    char op = 0;
    ASSERT_EQ(std::sscanf(prompt.c_str(), "What is %lld %c %lld?", &a, &op, &b), 3) << prompt;
    EXPECT_EQ(r["answer"], std::to_string(op == '+' ? a + b : a * b)) << prompt;
  }
  EXPECT_THROW(generate_task("sudoku", 1, 1), InputError);
}

TEST(TaskGenerators, GenDataCliWritesJsonl) {
  TempDir dir;
  auto out = dir.path / "cd.jsonl";
  auto r = test::run_r1train("gen-data countdown --n 5 --seed 9 --output " + out.string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto ds = Dataset::load_jsonl(out, DataConfig{});
  EXPECT_EQ(ds.size(), 5u);
  EXPECT_EQ(ds[0].prompt, generate_task("countdown", 5, 9)[0]["prompt"].get<std::string>());
  auto bad = test::run_r1train("gen-data sudoku --n 5 --seed 9 --output " + out.string());
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.output.find("unknown task 'sudoku'; tasks are: countdown, arithmetic"), std::string::npos) << bad.output;
}

}  // namespace
}  // namespace r1
