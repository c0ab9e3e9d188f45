// Rewards: format, tag_count, math, gsm8k, countdown, exact, regex, choice, command, overlong, cosine,
// repetition, RewardSet, `score`.
#include <gtest/gtest.h>

#include <chrono>

#include "r1/core/error.h"
#include "r1/rewards/expression.h"
#include "r1/rewards/math_verify.h"
#include "r1/rewards/reward_set.h"
#include "r1/tokenizer/tokenizer.h"
#include "test_util.h"

namespace r1 {
namespace {

using test::TempDir;

const nlohmann::json kNoMetadata = nlohmann::json::object();

double score_one(const std::string& reward, const std::string& completion, const std::string& answer = "",
                 const nlohmann::json& metadata = kNoMetadata, const std::string& prompt = "",
                 RewardConfig config = {}) {
  config.name = *parse_option<RewardKind>(reward);
  auto fn = make_reward(config);
  return fn->score({{prompt, completion, answer, metadata}}).at(0);
}

TEST(RewardsFormat, StrictAndLenientShapes) {
  struct Case {
    std::string completion;
    double strict, lenient;
  };
  const std::vector<Case> cases = {
      {"<think>a</think><answer>4</answer>", 1, 1},
      {"  <think>\nreason\n</think>\n<answer> 4 </answer>\n", 1, 1},
      {"<think>a</think> text <answer>4</answer>", 0, 1},       // text between the blocks
      {"Sure! <think>a</think><answer>4</answer>", 0, 1},        // text before
      {"<think>a</think><answer>4</answer> and more", 0, 1},     // text after
      {"<think>a</think><answer>   </answer>", 0, 0},            // empty answer
      {"<answer>4</answer><think>a</think>", 0, 0},              // wrong order
      {"<think>a</think>", 0, 0},                                // no answer
      {"<think>a<think>b</think><answer>4</answer>", 0, 1},      // a repeated tag
      {"<think>a</think><answer>4", 0, 0},                       // unclosed answer
  };
  for (const auto& c : cases) {
    EXPECT_EQ(format_score("", c.completion, true), c.strict) << c.completion;
    EXPECT_EQ(format_score("", c.completion, false), c.lenient) << c.completion;
  }
}

TEST(RewardsFormat, PromptEndingInThinkOpensTheBlock) {
  const std::string prompt = "Assistant: Let me solve this step by step.\n<think>";
  EXPECT_EQ(format_score(prompt, " 3+4=7 </think>\n<answer>7</answer>", true), 1);
  EXPECT_EQ(format_score("User: 1+1. Assistant:", " 3+4=7 </think>\n<answer>7</answer>", true), 0);
  // The config mode reaches the reward; default is strict.
  EXPECT_EQ(score_one("format", "x <think>a</think><answer>1</answer>"), 0);
  EXPECT_EQ(score_one("format", "x <think>a</think><answer>1</answer>", "", kNoMetadata, "", {.mode = "lenient"}), 1);
  FormatTags tags{"<reasoning>", "</reasoning>", "<final>", "</final>"};
  EXPECT_EQ(format_score("", "<reasoning>r</reasoning><final>2</final>", true, tags), 1);
}

TEST(RewardsFormat, TagCountGivesQuarterPerWellPlacedTag) {
  EXPECT_EQ(tag_count_score("", "<think>a</think><answer>1</answer>"), 1.0);
  EXPECT_EQ(tag_count_score("", "<think>a</think>"), 0.5);                         // two tags
  EXPECT_EQ(tag_count_score("", "<think>a</think><think>b</think><answer>1</answer>"), 0.5);  // think tags twice
  EXPECT_EQ(tag_count_score("", "</answer><answer>1"), 0.25);                      // close before open: only <answer>
  EXPECT_EQ(tag_count_score("...<think>", "a</think><answer>1</answer>"), 1.0);    // prompt opened <think>
  EXPECT_EQ(tag_count_score("", "nothing"), 0.0);
}

TEST(RewardsMath, ExtractionTakesAnswerTagThenLastBoxed) {
  EXPECT_EQ(last_boxed("a \\boxed{1} b \\boxed{\\frac{1}{2}} c").value(), "\\frac{1}{2}");
  EXPECT_EQ(last_boxed("\\fbox{x^{2}}").value(), "x^{2}");
  EXPECT_EQ(last_boxed("so $\\boxed 5$.").value(), "5");
  EXPECT_FALSE(last_boxed("\\boxed{unclosed").has_value());
  EXPECT_EQ(extract_math_answer("<think>\\boxed{3}</think><answer>The answer is \\boxed{4}.</answer>").value(), "4");
  EXPECT_EQ(extract_math_answer("<think>x</think><answer> 12 </answer>").value(), "12");
  EXPECT_EQ(extract_math_answer("no tags but \\boxed{7}").value(), "7");
  EXPECT_FALSE(extract_math_answer("no answer at all").has_value());
}

TEST(RewardsMath, EquivalenceTable) {
  struct Case {
    const char* predicted;
    const char* reference;
    bool equal;
  };
  const std::vector<Case> cases = {
      {"\\dfrac{1}{2}", "\\frac12", true},
      {"0.5", "\\frac{1}{2}", true},
      {"1/2", "\\tfrac{1}{2}", true},
      {"2\\frac{1}{2}", "\\frac{5}{2}", true},              // mixed number: 2 + 1/2
      {"-2\\frac{1}{2}", "-2.5", true},
      {"1.5e3", "1500", true},                               // scientific notation
      {"1.5\\times10^{3}", "1,500", true},                   // thousands separator
      {"10{,}000", "10000", true},
      {"\\left( 3, \\frac{\\pi}{2} \\right)", "(3,\\frac{\\pi}{2})", true},
      {"(3, 1.5707963267949)", "\\left( 3, \\frac{\\pi}{2} \\right)", true},  // element-wise numeric
      {"(3, \\frac{\\pi}{3})", "\\left( 3, \\frac{\\pi}{2} \\right)", false},
      {"[2,5)", "[2, 5)", true},
      {"(2,5)", "[2,5)", false},                             // interval ends differ
      {"\\{3, 1, 2\\}", "\\{1,2,3\\}", true},                // sets ignore order
      {"1, -2", "-2, 1", true},                              // list of solutions
      {"(1,2)", "(2,1)", false},                             // tuples keep order
      {"90^\\circ", "90", true},
      {"50\\%", "50", true},
      {"\\$18.90", "18.9", true},
      {"10\\text{ inches}", "10", true},
      {"5 cm", "5", true},
      {"x = 5", "5", true},
      {"5.", "5", true},
      {"2\\sqrt{2}", "\\sqrt{8}", true},
      {"\\frac{\\sqrt{2}}{2}", "\\frac{1}{\\sqrt2}", true},
      {"2^{10}", "1024", true},
      {"\\sqrt[3]{27}", "3", true},
      {"\\pi", "3.14", false},                               // tolerance 1e-6 relative
      {"3.0000000001", "3", true},
      {"2x+3", "3+2x", true},                                // evaluated at fixed points
      {"x^2+2x+1", "(x+1)^2", true},
      {"x^2+1", "(x+1)^2", false},
      {"\\text{(C)}", "C", true},
      {"\\text{Evelyn}", "\\text{Evelyn}", true},
      {"Evelyn", "Nevyle", false},                           // words are not products of variables
      {"\\begin{pmatrix} 1 \\\\ 0.5 \\end{pmatrix}", "\\begin{pmatrix} 1 \\\\ \\frac{1}{2} \\end{pmatrix}", true},
      {"\\begin{pmatrix} 1 & 2 \\end{pmatrix}", "\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}", false},
      {"(-\\infty, 2) \\cup (3, \\infty)", "(-\\infty,2)\\cup(3,\\infty)", true},
      {"7", "8", false},
      {"", "0", false},
      {"1/0", "1/0", true},                                  // identical strings, though not a number
  };
  for (const auto& c : cases)
    EXPECT_EQ(math_answers_equal(c.predicted, c.reference), c.equal) << c.predicted << " vs " << c.reference;
}

// The categories of answer checking, both verdicts each (reference first, as datasets give it).
struct VerdictCase {
  const char* reference;
  const char* predicted;
  bool equal;
};

void expect_verdicts(const std::vector<VerdictCase>& cases, const MathCompareOptions& options = {}) {
  for (const auto& c : cases)
    EXPECT_EQ(check_math_answer(c.predicted, c.reference, options).equal, c.equal)
        << "reference " << c.reference << " | predicted " << c.predicted;
}

TEST(RewardsMathVerify, WhereTheAnswerIs) {
  // Several boxes in one answer form a list, as Math-Verify joins them.
  EXPECT_EQ(extract_math_answer("<answer>\\boxed{1} and \\boxed{-2}</answer>").value(), "1,-2");
  EXPECT_EQ(extract_math_answer("\\boxed{1} no no no no no no no no no no no no no no no no no no no no no no no no no "
                                "no no no no no no no \\boxed{2}")
                .value(),
            "2");  // far apart without a separator: only the last
  EXPECT_EQ(extract_math_answer("<answer>**21**</answer>").value(), "21");
  // tagged (default) takes the block as it is; any also reads prose.
  EXPECT_EQ(extract_math_answer("<answer>The answer is $5$.</answer>").value(), "The answer is $5$.");
  EXPECT_EQ(extract_math_answer("<answer>The answer is $5$.</answer>", MathExtract::Any).value(), "5");
  EXPECT_EQ(extract_math_answer("So the final answer is $\\frac{1}{2}$. I hope it is correct.", MathExtract::Any).value(),
            "\\frac{1}{2}");
  EXPECT_EQ(extract_math_answer("Final Answer: The largest $n$ is 34.", MathExtract::Any).value(), "34");
  EXPECT_EQ(extract_math_answer("Therefore $x \\geq 5$ is the solution.", MathExtract::Any).value(), "x \\geq 5");
  EXPECT_EQ(extract_math_answer("We get 3 apples, then 18 in all", MathExtract::Any).value(), "18");
  EXPECT_EQ(extract_math_answer("<answer>x^2 + 1</answer>", MathExtract::Any).value(), "x^2 + 1");
  EXPECT_FALSE(extract_math_answer("no number here", MathExtract::Any).has_value());
  EXPECT_FALSE(extract_math_answer("prose without a box").has_value());
  // References: their boxes, or GSM8K's number after ####.
  EXPECT_EQ(math_reference("so $\\boxed{12}$."), "12");
  EXPECT_EQ(math_reference("Janet sells 16 - 3 - 4 = 9 eggs.\n#### 18"), "18");
}

TEST(RewardsMathVerify, LabelledAnswers) {
  expect_verdicts({
      {"5", "x = 5", true},
      {"x = 5", "5", true},
      {"(3, 2)", "(p, q) = (3, 2)", true},
      {"(p,q)=(3,2)", "(3,2)", true},
      {"4, 5", "AB = 4, CD = 5", true},
      {"AB=4,CD=5", "4, 5", true},
      {"1", "f(x) = 1", true},
      {"11", "x = 5 + 5 + 1 = 11", true},         // a chain: its last side
      {"x = 11", "x = 5 + 5 + 1 = 7 = 11", true},
      {"11", "x \\approx 11", true},
      {"\\frac{1}{3}", "x = \\frac{1}{3} \\approx 0.33", true},
      {"11", "x = 12", false},
      {"0", "a + 3z = 0", true},                  // a predicted equation: its last side
      {"a + 3z = 0", "0", false},                 // a reference equation that is not a label
      {"x = 1", "y = 1", false},
  });
}

TEST(RewardsMathVerify, RelationsAndIntervals) {
  expect_verdicts({
      {"x \\le 5", "x \\leq 5", true},
      {"x \\leq 5", "x <= 5", true},
      {"x \\le 5", "x \\leqslant 5", true},
      {"x \\le 5", "5 \\ge x", true},
      {"x < 1", "-x > -1", true},
      {"x < 1", "x > -1", false},
      {"x \\ge 5", "x \\le 5", false},
      {"x \\neq 5", "x != 5", true},
      {"x > 2", "x \\gt 2", true},
      {"-2 \\le x \\le 7", "x \\in [-2, 7]", true},
      {"x \\in [-2, 7]", "-2 \\le x \\le 7", true},
      {"-2 \\le x \\le 7", "x \\in [-2, 7)", false},
      {"(0, 1)", "0 < y < 1", true},
      {"(0, 1]", "0 < y < 1", false},
      {"(5, \\infty)", "x > 5", true},
      {"(5,\\infty)", "(5, +\\infty)", true},
      {"(-\\infty, 2) \\cup (3, \\infty)", "x < 2 \\text{ or } x > 3", true},
      {"(-\\infty, 2) \\cup (3, \\infty)", "(3, \\infty) \\cup (-\\infty, 2)", true},
      {"(-\\infty, 2) \\cup (3, \\infty)", "(-\\infty, 2] \\cup (3, \\infty)", false},
      {"0 < f(x) < 1", "(0, 1)", true},
  });
}

TEST(RewardsMathVerify, EquationsAsEquations) {
  expect_verdicts({
      {"2x + 3y = 6", "-2x - 3y + 6 = 0", true},
      {"2x + 3y = 6", "4x + 6y = 12", true},
      {"2x + 3y = 6", "2x + 3y = 7", false},
      {"2x + 4y - 3 = 0", "y = -\\frac{1}{2}x + \\frac{3}{4}", true},
      {"y = 2x + 3", "y = 3 + 2x", true},
      {"y = 2x + 3", "y = 2x - 3", false},
      {"x^2/4 + y^2/3 = 1", "x^2/16 + y^2/12 = 1/4", true},
  });
}

TEST(RewardsMathVerify, ListsAndSets) {
  expect_verdicts({
      {"1, 2, 3", "1, 2 and 3", true},
      {"1, 2", "1 or 2", true},
      {"1, 2", "1; 2", true},
      {"\\pm 3", "\\{-3, 3\\}", true},
      {"\\pm 3", "3", false},
      {"1 \\pm \\sqrt{19}", "1 + \\sqrt{19}, 1 - \\sqrt{19}", true},
      {"\\{1, 2, 3\\}", "\\{3, 2, 1, 1\\}", true},   // sets: order and repeats aside
      {"\\{1, 2, 3\\}", "\\{1, 2\\}", false},
      {"(1, 2, 3)", "(1, 2, 3)", true},
      {"(1, 2, 3)", "(3, 2, 1)", false},            // tuples keep their order
      {"(3, 1)", "\\{1, 3\\}", false},
      // A list of two numbers is not one number with a thousands separator: a comma followed by a
      // space separates items; "1,234" (no space, groups of three) is a number only against a number.
      {"32349", "32, 349", false},
      {"32349", "32,\\! 349", true},
      {"1234", "1,234", true},
      {"1, 234", "1,234", true},
      {"12", "1,2", false},
  });
}

TEST(RewardsMathVerify, FunctionsAndConstants) {
  expect_verdicts({
      {"\\sec^2 y", "\\tan^2 y + 1", true},
      {"\\sin^2 x", "1 - \\cos^2 x", true},
      {"\\cot x", "\\frac{\\cos x}{\\sin x}", true},
      {"\\frac{\\pi}{6}", "\\arcsin \\frac{1}{2}", true},
      {"\\frac{\\pi}{6}", "\\sin^{-1}(0.5)", true},
      {"\\ln 8", "3 \\ln 2", true},
      {"3", "\\log_2 8", true},
      {"2", "\\log 100", true},                    // \log is base 10, as Math-Verify reads it
      {"e^2", "\\exp(2)", true},
      {"\\mathrm{e}", "e", true},
      {"120", "5!", true},
      {"10", "\\binom{5}{2}", true},
      {"2", "\\sqrt[3]{8}", true},
      {"3", "\\lfloor \\pi \\rfloor", true},
      {"4", "\\lceil \\pi \\rceil", true},
      {"\\sqrt{2}", "\\sqrt{3}", false},
      {"x^2 + 2x + 1", "(x + 1)^2", true},
      {"x^2 + 1", "(x + 1)^2", false},
      {"7:32", "\\frac{7}{32}", true},
  });
}

TEST(RewardsMathVerify, Matrices) {
  expect_verdicts({
      {"\\begin{pmatrix} 1 & 2 \\\\ 3 & 4 \\end{pmatrix}", "\\begin{bmatrix} 1 & 2 \\\\ 3 & 4 \\end{bmatrix}", true},
      {"\\begin{pmatrix} 1 & 2 \\\\ 3 & 4 \\end{pmatrix}", "\\left[\\begin{array}{cc} 1 & 2 \\\\ 3 & 4 \\end{array}\\right]",
       true},
      {"\\begin{pmatrix} 1 & 2 \\\\ 3 & 4 \\end{pmatrix}", "\\begin{pmatrix} 1 & 2 \\\\ 3 & 5 \\end{pmatrix}", false},
      {"\\begin{pmatrix} 1 & 2 \\end{pmatrix}", "\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}", false},
      {"\\begin{pmatrix} -1/3 \\\\ 2/3 \\end{pmatrix}", "\\frac{1}{3}\\begin{pmatrix} -1 \\\\ 2 \\end{pmatrix}", true},
      {"\\begin{pmatrix} -1 \\\\ 2 \\end{pmatrix}", "-\\begin{pmatrix} 1 \\\\ -2 \\end{pmatrix}", true},
      {"\\begin{pmatrix} 6 & 8 \\\\ 10 & 12 \\end{pmatrix}",
       "\\begin{pmatrix} 1 & 2 \\\\ 3 & 4 \\end{pmatrix} + \\begin{pmatrix} 5 & 6 \\\\ 7 & 8 \\end{pmatrix}", true},
  });
}

TEST(RewardsMathVerify, Numbers) {
  expect_verdicts({
      {"1000.99", "1000,99", true},                 // a decimal comma where it cannot be thousands
      {"1.22", "1,22", true},
      {"0.111", "0,111", true},
      {"\\frac{1}{3}", "0.333333", true},           // rounded to float_rounding (6) places
      {"\\frac{1}{3}", "0.333", false},
      {"\\pi", "3.14", false},
      {"16386.17", "16386.169", false},
      {"11111111100", "11111111101", false},
      {"0.5", "50\\%", true},
      {"50", "50\\%", true},
      {"1500", "1.5 \\times 10^{3}", true},
      {"1500", "1.5e3", true},
      {"\\frac{5}{2}", "2\\frac{1}{2}", true},     // a mixed number
      {"5", "5 \\text{ cm}", true},
      {"10", "10\\text{ inches}^2", true},
      {"18.9", "\\$18.90", true},
      {"90", "90^\\circ", true},
      {"3.14", "\\approx 3.14", true},
      {"1+2i", "2i + 1", true},
      {"\\text{Evelyn}", "Evelyn", true},
      {"\\text{(C)}", "C", true},
      {"Evelyn", "Nevyle", false},
  });
  MathCompareOptions fraction;
  fraction.percent = PercentMode::Fraction;
  expect_verdicts({{"0.5", "50\\%", true}, {"50", "50\\%", false}}, fraction);
  MathCompareOptions three;
  three.float_rounding = 3;
  expect_verdicts({{"\\frac{1}{3}", "0.333", true}, {"\\frac{1}{3}", "0.334", false}}, three);
}

TEST(RewardsMathVerify, BoundedCost) {
  // A deterministic budget of steps, not a clock: past it the answer is wrong and over_budget.
  std::string nested = "1";
  for (int i = 0; i < 400; ++i) nested = "\\frac{1}{1+" + nested + "}";
  std::string long_sum;
  for (int i = 0; i < 3000; ++i) {
    if (i) long_sum += '+';
    long_sum += static_cast<char>('0' + i % 10);
  }
  const std::vector<std::string> hard = {nested, "10^{10^{10}}", "2^{2^{2^{2^{2^{2}}}}}", long_sum,
                                         std::string(10000, '('), "(" + std::string(5000, 'x') + ")",
                                         "9999999999!"};
  for (const auto& h : hard) EXPECT_FALSE(check_math_answer(h, "1").equal) << h.substr(0, 40);  // timed: bench_rewards.sh
  EXPECT_TRUE(check_math_answer(std::string(10000, '('), "1").over_budget);
  EXPECT_FALSE(check_math_answer("10^{10^{10}}", "10^{10^{11}}").equal);  // overflow is not infinity
  EXPECT_TRUE(check_math_answer("10^{10^{10}}", "10^{10^{10}}").equal);   // the same text
}

TEST(RewardsMath, RewardScoresCompletions) {
  EXPECT_EQ(score_one("math", "<think>..</think><answer>\\boxed{\\dfrac{3}{4}}</answer>", "0.75"), 1);
  EXPECT_EQ(score_one("math", "<think>..</think><answer>0.7</answer>", "\\frac34"), 0);
  EXPECT_EQ(score_one("math", "no final answer", "1"), 0);
  // A reference given as a whole solution is compared by its last \boxed.
  EXPECT_EQ(score_one("math", "\\boxed{12}", "so the total is $\\boxed{12}$."), 1);
}

TEST(RewardsExpression, CountdownParser) {
  auto v = evaluate_countdown(" (95 - 3) / 4 + 1 ");
  ASSERT_TRUE(v.has_value());
  EXPECT_DOUBLE_EQ(v->value, 24.0);  // 92 / 4 = 23, + 1
  EXPECT_EQ(v->numbers, (std::vector<long long>{95, 3, 4, 1}));
  EXPECT_DOUBLE_EQ(evaluate_countdown("-(2 - 7) * 3")->value, 15.0);
  for (const char* bad : {"1 / (2 - 2)", "2 ** 3", "2 + x", "(1 + 2", "1 + 2)", "", "3 4", "1.5 + 2", "abs(1)",
                          "__import__('os')"})
    EXPECT_FALSE(evaluate_countdown(bad).has_value()) << bad;
  std::string deep(200, '(');
  EXPECT_FALSE(evaluate_countdown(deep + "1" + std::string(200, ')')).has_value());  // depth limit, no crash
}

TEST(RewardsExpression, LatexParser) {
  EXPECT_DOUBLE_EQ(*evaluate_latex("2^{3}\\cdot\\frac{1}{4}"), 2.0);        // 8 * 1/4
  EXPECT_DOUBLE_EQ(*evaluate_latex("3\\sqrt{16}-1"), 11.0);                 // 3*4 - 1
  EXPECT_DOUBLE_EQ(*evaluate_latex("-2^{2}"), -4.0);                        // unary minus binds looser than ^
  EXPECT_DOUBLE_EQ(*evaluate_latex("2x", {{'x', 1.5}}), 3.0);
  EXPECT_FALSE(evaluate_latex("2x").has_value());                           // unknown variable
  EXPECT_FALSE(evaluate_latex("\\sqrt{-1}").has_value());
  EXPECT_FALSE(evaluate_latex("10^{1000}").has_value());                    // not finite
  EXPECT_FALSE(evaluate_latex("1e999").has_value());
}

TEST(RewardsGsm8k, StrictAndFlexibleExtraction) {
  EXPECT_EQ(extract_gsm8k_answer("so 5*2=10\n#### 1,234", true).value(), "1234");
  EXPECT_EQ(extract_gsm8k_answer("#### $18.", true).value(), "18");
  EXPECT_FALSE(extract_gsm8k_answer("the answer is 18", true).has_value());
  EXPECT_EQ(extract_gsm8k_answer("3 apples, then 18 dollars", false).value(), "18");
  EXPECT_EQ(extract_gsm8k_answer("<think>1 2 3</think><answer>-7.5 total, step 2</answer>", false).value(), "2");
  EXPECT_EQ(extract_gsm8k_answer("<answer>$1,000,000</answer> 5", false).value(), "1000000");
  EXPECT_EQ(score_one("gsm8k", "<answer>18</answer>", "Janet ... #### 18"), 1);
  EXPECT_EQ(score_one("gsm8k", "<answer>18.0</answer>", "18"), 1);
  EXPECT_EQ(score_one("gsm8k", "<answer>18</answer>", "18", kNoMetadata, "", {.mode = "strict"}), 0);
  EXPECT_EQ(score_one("gsm8k", "<answer>17</answer>", "18"), 0);
  EXPECT_EQ(score_one("gsm8k", "<answer>1450001</answer>", "#### 1,450,000"), 0);
}

TEST(RewardsGsm8k, FlexibleTakesOnlyStandaloneNumbers) {
  // Digits glued to letters, inside a LaTeX command's argument, or an operand are not the answer.
  for (const char* glued : {"<answer>\\frac{1}{70}</answer>", "<answer>\\sqrt{60}</answer>", "<answer>x_{60}</answer>",
                            "<answer>2^{34}</answer>", "<answer>34\\pi</answer>", "<answer>q1</answer>",
                            "<answer>460x</answer>", "<answer>1 + 48</answer>", "<answer>AZYUK2A</answer>"})
    EXPECT_FALSE(extract_gsm8k_answer(glued, false).has_value()) << glued;
  EXPECT_EQ(extract_gsm8k_answer("<answer>\\boxed{18}</answer>", false).value(), "18");   // the whole argument
  EXPECT_EQ(extract_gsm8k_answer("<answer>\\text{18}</answer>", false).value(), "18");
  EXPECT_EQ(extract_gsm8k_answer("so 20 + 28 = 48 eggs", false).value(), "48");
  EXPECT_EQ(extract_gsm8k_answer("she pays \\$18.", false).value(), "18");
  EXPECT_EQ(extract_gsm8k_answer("the answer is -3.", false).value(), "-3");
}

TEST(RewardsCountdown, TinyZeroScoring) {
  const nlohmann::json meta = {{"numbers", {3, 5, 7}}, {"target", 22}};
  // (3 + 5) * 7 = 56 is wrong; 3 * 5 + 7 = 22 is right.
  EXPECT_EQ(score_one("countdown", "<think>..</think><answer>3 * 5 + 7</answer>", "22", meta), 1.0);
  EXPECT_EQ(score_one("countdown", "<think>..</think><answer>(3 + 5) * 7</answer>", "22", meta), 0.1);
  EXPECT_EQ(score_one("countdown", "<answer>3 * 5 + 7 + 0</answer>", "22", meta), 0.1);   // extra number
  EXPECT_EQ(score_one("countdown", "<answer>15 + 7</answer>", "22", meta), 0.1);          // numbers not given
  EXPECT_EQ(score_one("countdown", "<answer>3 * 5 + 7 = 22</answer>", "22", meta), 0.1);  // '=' not allowed
  EXPECT_EQ(score_one("countdown", "<answer>7 / (5 - 5)</answer>", "22", meta), 0.1);     // division by zero
  EXPECT_EQ(score_one("countdown", "3 * 5 + 7", "22", meta), 0.0);                        // no answer tag
  // The target may come from the answer; "nums" is accepted (TinyZero's field name).
  EXPECT_EQ(score_one("countdown", "<answer>7*5 - 3</answer>", "32", {{"nums", {3, 5, 7}}}), 1.0);
  RewardConfig c{.format_score = 0.0};
  EXPECT_EQ(score_one("countdown", "<answer>7+5+3</answer>", "22", meta, "", c), 0.0);
  EXPECT_THROW(score_one("countdown", "<answer>1</answer>", "22", {{"target", 22}}), InputError);
}

TEST(RewardsSimple, ExactRegexChoice) {
  EXPECT_EQ(score_one("exact", "<answer>  Paris\n</answer>", "Paris"), 1);
  EXPECT_EQ(score_one("exact", "<answer>paris</answer>", "Paris"), 0);
  EXPECT_EQ(score_one("exact", "New   York", "New York"), 1);
  RewardConfig re{.pattern = "^<think>[\\s\\S]*</think>\\s*<answer>\\d+</answer>$"};
  EXPECT_EQ(score_one("regex", "<think>x\ny</think> <answer>42</answer>", "", kNoMetadata, "", re), 1);
  EXPECT_EQ(score_one("regex", "<think>x</think><answer>4a</answer>", "", kNoMetadata, "", re), 0);
  EXPECT_THROW(score_one("regex", "x", "", kNoMetadata, "", {.pattern = "(unclosed"}), InputError);
  EXPECT_EQ(extract_choice("<answer>(B)</answer>").value(), 'B');
  EXPECT_EQ(extract_choice("I think the answer is C because A is wrong").value(), 'C');
  EXPECT_EQ(extract_choice("\\boxed{D}").value(), 'D');
  EXPECT_EQ(extract_choice("Options (A) and (E): pick (E)").value(), 'E');
  EXPECT_FALSE(extract_choice("no letter here").has_value());
  EXPECT_EQ(score_one("choice", "<answer>A.</answer>", "(A)"), 1);
  EXPECT_EQ(score_one("choice", "<answer>B</answer>", "A"), 0);
}

TEST(RewardsSet, WeightedSumPerRewardScoresAndNames) {
  RewardSet set({{.name = RewardKind::Format, .weight = 0.5}, {.name = RewardKind::Math}, {.name = RewardKind::Math, .weight = 2.0}});
  EXPECT_EQ(set.names(), (std::vector<std::string>{"format", "math", "math_2"}));
  std::string p, c1 = "<think>a</think><answer>4</answer>", c2 = "<answer>5</answer>", a = "4";
  auto s = set.score({{p, c1, a, kNoMetadata}, {p, c2, a, kNoMetadata}});
  // c1: 0.5*1 + 1 + 2*1 = 3.5; c2: format 0, math 0.
  EXPECT_EQ(s.total, (std::vector<double>{3.5, 0.0}));
  EXPECT_EQ(s.per_reward.at("format"), (std::vector<double>{1, 0}));
  EXPECT_EQ(s.per_reward.at("math_2"), (std::vector<double>{1, 0}));
  EXPECT_EQ(s.failures.at("math"), 0);
  EXPECT_THROW(RewardSet({{.name = RewardKind::Format, .mode = "nope"}}), InputError);
}

TEST(RewardsEval, ExtractAndMatchPerTask) {
  EXPECT_EQ(extract_answer(EvalTask::Math, "<answer>\\boxed{2}</answer>").value(), "2");
  EXPECT_TRUE(answers_match(EvalTask::Math, "\\frac{4}{2}", "2", kNoMetadata));
  EXPECT_EQ(extract_answer(EvalTask::Gsm8k, "<answer>$1,200</answer>").value(), "1200");
  EXPECT_TRUE(answers_match(EvalTask::Gsm8k, "1200", "#### 1,200", kNoMetadata));
  EXPECT_EQ(extract_answer(EvalTask::Countdown, "<answer> 3*5+7 </answer>").value(), "3*5+7");
  EXPECT_TRUE(answers_match(EvalTask::Countdown, "3*5+7", "22", {{"numbers", {3, 5, 7}}}));
  EXPECT_FALSE(answers_match(EvalTask::Countdown, "3*5*7", "22", {{"numbers", {3, 5, 7}}}));
  EXPECT_EQ(extract_answer(EvalTask::Choice, "answer is (B)").value(), "B");
  // Only verifiers grade: the table of eval tasks has no format or regex.
  EXPECT_FALSE(parse_option<EvalTask>("format").has_value());
  EXPECT_EQ(parse_option<EvalTask>("gsm8k"), EvalTask::Gsm8k);
}

// A reward program in a temp dir (shell script, made executable).
std::string program(const TempDir& dir, const std::string& name, const std::string& body) {
  auto p = dir.write(name, "#!/bin/sh\n" + body);
  std::filesystem::permissions(p, std::filesystem::perms::owner_all);
  return p.string();
}

TEST(RewardsCommand, ScoresThroughAnExternalProgram) {
  TempDir dir;
  // Scores 1 when the line's completion contains the answer text "\"answer\":\"7\"" ... via grep on the JSON.
  std::string prog = program(dir, "judge.sh",
                             "while IFS= read -r line; do\n"
                             "  case \"$line\" in *'\"completion\":\"7\"'*) echo 1;; *) echo 0.25;; esac\n"
                             "done\n");
  RewardConfig c{.name = RewardKind::Command, .command = prog};
  auto fn = make_reward(c);
  std::string p, a = "7", seven = "7", eight = "8";
  std::vector<RewardInput> batch;
  for (int i = 0; i < 300; ++i) batch.push_back({p, i % 2 ? eight : seven, a, kNoMetadata});
  auto s = fn->score(batch);
  ASSERT_EQ(s.size(), 300u);
  EXPECT_EQ(s[0], 1.0);
  EXPECT_EQ(s[1], 0.25);
  EXPECT_EQ(s[299], 0.25);
  EXPECT_EQ(fn->score(batch)[2], 1.0);  // the program stays up between batches
  EXPECT_EQ(fn->failures(), 0);
}

TEST(RewardsCommand, FailuresGiveDefaultOrAClearError) {
  TempDir dir;
  std::string p, c = "x", a = "y";
  const nlohmann::json m = kNoMetadata;
  std::vector<RewardInput> batch = {{p, c, a, m}, {p, c, a, m}};
  struct Case {
    const char* name;
    std::string body;
    const char* message;
  };
  const std::vector<Case> cases = {
      {"crash", "read line\nexit 3\n", "exited before answering"},
      {"garbage", "while read line; do echo hello; done\n", "answered 'hello', not a number"},
      {"hang", "sleep 30\n", "no score within timeout_s"},
  };
  for (const auto& k : cases) {
    std::string prog = program(dir, std::string(k.name) + ".sh", k.body);
    RewardConfig def{.name = RewardKind::Command, .command = prog, .timeout_s = 0.3, .default_score = -1, .on_error = OnError::Default};
    auto fn = make_reward(def);
    auto t0 = std::chrono::steady_clock::now();
    EXPECT_EQ(fn->score(batch), (std::vector<double>{-1, -1})) << k.name;
    EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 5.0) << k.name;
    EXPECT_EQ(fn->failures(), 2) << k.name;
    RewardConfig err = def;
    err.on_error = OnError::Error;
    auto strict = make_reward(err);
    try {
      strict->score(batch);
      ADD_FAILURE() << k.name << ": no error";
    } catch (const std::runtime_error& e) {
      EXPECT_NE(std::string(e.what()).find(k.message), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("on_error: default"), std::string::npos) << e.what();
    }
  }
  RewardSet set({{.name = RewardKind::Command, .command = program(dir, "g.sh", "while read l; do echo x; done\n"),
                  .on_error = OnError::Default}});
  EXPECT_EQ(set.score(batch).failures.at("command"), 2);
  EXPECT_EQ(set.score(batch).failures.at("command"), 2);  // per call, not cumulative
}

TEST(RewardsCommand, MissingOrNonExecutableProgramIsInputError) {
  TempDir dir;
  auto plain = dir.write("not_exec.sh", "#!/bin/sh\necho 1\n");
  std::filesystem::permissions(plain, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  for (const std::string& cmd : {(dir.path / "missing").string(), plain.string(), std::string("no-such-program-r1 x")}) {
    try {
      make_reward({.name = RewardKind::Command, .command = cmd});
      ADD_FAILURE() << cmd;
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find(cmd.substr(0, cmd.find(' '))), std::string::npos) << e.what();
    }
  }
  EXPECT_NO_THROW(make_reward({.name = RewardKind::Command, .command = "sh -c 'cat >/dev/null'"}));  // found on PATH
}

TEST(RewardsCli, ScoreWritesPerRewardAndWeightedSum) {
  TempDir dir;
  auto in = dir.write("in.jsonl",
                      "{\"completion\": \"<think>a</think><answer>3*5+7</answer>\", \"answer\": \"22\", "
                      "\"numbers\": [3, 5, 7], \"target\": 22}\n"
                      "\n"
                      "{\"completion\": \"<answer>3+5+7</answer>\", \"answer\": 22, \"numbers\": [3, 5, 7]}\n");
  auto out = dir.path / "out.jsonl";
  auto r = test::run_r1train("score --reward format:0.5,countdown --input " + in.string() + " --output " + out.string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::ifstream f(out);
  std::string l1, l2;
  std::getline(f, l1);
  std::getline(f, l2);
  auto j1 = nlohmann::json::parse(l1);
  auto j2 = nlohmann::json::parse(l2);
  EXPECT_EQ(j1["rewards"]["format"], 1.0);
  EXPECT_EQ(j1["rewards"]["countdown"], 1.0);
  EXPECT_EQ(j1["reward"], 1.5);  // 0.5 * 1 + 1
  EXPECT_EQ(j1["target"], 22);   // input fields kept
  EXPECT_EQ(j2["rewards"]["format"], 0.0);
  EXPECT_DOUBLE_EQ(j2["reward"].get<double>(), 0.1);  // 3+5+7 = 15: well-formed, wrong
}

TEST(RewardsCli, BadInputNamesFileAndLine) {
  TempDir dir;
  struct Case {
    std::string content, flags, message;
  };
  const std::vector<Case> cases = {
      {"{\"completion\": \"x\", \"answer\": \"1\"}\n{oops\n", "--reward math", "in.jsonl:2: not valid JSON"},
      {"{\"completion\": \"x\", \"solution\": \"1\"}\n", "--reward math", "in.jsonl:1: no 'answer' field; the line has: completion, solution"},
      {"", "--reward math", "in.jsonl: no lines to score"},
      {"{\"completion\": \"x\", \"answer\": \"1\"}\n", "--reward mth", "--reward mth: unknown value 'mth'; use one of format, tag_count, math"},
      {"{\"completion\": \"x\", \"answer\": \"1\"}\n", "--reward math:heavy", "weight 'heavy' of math is not a number"},
      {"{\"completion\": \"x\", \"answer\": \"1\"}\n", "--reward command --command /nonexistent/judge", "/nonexistent/judge"},
      {"{\"completion\": \"<answer>1</answer>\", \"answer\": \"1\"}\n", "--reward countdown", "no 'numbers' (or 'nums') list"},
  };
  for (const auto& c : cases) {
    auto in = dir.write("in.jsonl", c.content);
    auto r = test::run_r1train("score " + c.flags + " --input " + in.string());
    EXPECT_EQ(r.exit_code, 2) << c.message << "\n" << r.output;
    EXPECT_NE(r.output.find(c.message), std::string::npos) << r.output;
  }
}

// DAPO's soft overlong punishment, limit 20, buffer 5, penalty 1: no penalty through 20 - 5 = 15
// tokens, then (15 - L) / 5: 16 -> -0.2, 18 -> -0.6, 20 -> -1; past the limit -1. Penalty 0.5
// halves it: 18 -> -0.3.
TEST(RewardsShaping, OverlongByHand) {
  EXPECT_EQ(overlong_score(0, 20, 5, 1.0), 0.0);
  EXPECT_EQ(overlong_score(15, 20, 5, 1.0), 0.0);
  EXPECT_NEAR(overlong_score(16, 20, 5, 1.0), -0.2, 1e-12);
  EXPECT_NEAR(overlong_score(18, 20, 5, 1.0), -0.6, 1e-12);
  EXPECT_NEAR(overlong_score(20, 20, 5, 1.0), -1.0, 1e-12);
  EXPECT_EQ(overlong_score(25, 20, 5, 1.0), -1.0);
  EXPECT_NEAR(overlong_score(18, 20, 5, 0.5), -0.3, 1e-12);
  // Through the reward: the limit is the input's max_new_tokens unless max_len is set.
  std::string p, c = "x", a;
  auto fn = make_reward({.name = RewardKind::Overlong, .buffer = 5});
  EXPECT_NEAR(fn->score({{p, c, a, kNoMetadata, 18, 20}}).at(0), -0.6, 1e-12);
  auto fixed = make_reward({.name = RewardKind::Overlong, .buffer = 5, .max_len = 40});
  EXPECT_EQ(fixed->score({{p, c, a, kNoMetadata, 18, 20}}).at(0), 0.0);
  try {
    fn->score({{p, c, a, kNoMetadata, -1, 20}});
    FAIL() << "an unknown length must be an error";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("length in tokens is unknown"), std::string::npos) << e.what();
  }
  EXPECT_THROW(make_reward({.name = RewardKind::Overlong}), InputError);  // buffer 0
}

// open-r1's cosine reward with its defaults (correct 1.0 -> 0.5, wrong -0.5 -> 0.0), max_len 100:
// lo + (hi - lo)(1 + cos(pi L / 100)) / 2. Correct: L 0 -> 1.0, L 50 -> 0.5 + 0.5 x 0.5 = 0.75,
// L 100 -> 0.5. Wrong: L 0 -> -0.5, L 50 -> 0 + (-0.5)(0.5) = -0.25, L 100 -> 0. Past max_len the
// progress stays at 1.
TEST(RewardsShaping, CosineByHand) {
  RewardConfig v;
  EXPECT_NEAR(cosine_score(true, 0, 100, v), 1.0, 1e-12);
  EXPECT_NEAR(cosine_score(true, 50, 100, v), 0.75, 1e-12);
  EXPECT_NEAR(cosine_score(true, 100, 100, v), 0.5, 1e-12);
  EXPECT_NEAR(cosine_score(true, 150, 100, v), 0.5, 1e-12);
  EXPECT_NEAR(cosine_score(false, 0, 100, v), -0.5, 1e-12);
  EXPECT_NEAR(cosine_score(false, 50, 100, v), -0.25, 1e-12);
  EXPECT_NEAR(cosine_score(false, 100, 100, v), 0.0, 1e-12);
  // Through the reward, graded by the math verifier: \frac{4}{2} equals 2.
  std::string p, right = "<answer>\\frac{4}{2}</answer>", wrong = "<answer>3</answer>", a = "2";
  auto fn = make_reward({.name = RewardKind::Cosine, .max_len = 100});
  auto s = fn->score({{p, right, a, kNoMetadata, 50, 0}, {p, wrong, a, kNoMetadata, 50, 0}});
  EXPECT_NEAR(s.at(0), 0.75, 1e-12);
  EXPECT_NEAR(s.at(1), -0.25, 1e-12);
  // gsm8k's verifier reads the last number.
  auto gsm = make_reward({.name = RewardKind::Cosine, .mode = "gsm8k"});
  EXPECT_NEAR(gsm->score({{p, "so 1,200 apples", "#### 1200", kNoMetadata, 0, 64}}).at(0), 1.0, 1e-12);
  EXPECT_THROW(make_reward({.name = RewardKind::Cosine, .mode = "nope"}), InputError);
}

// open-r1's repetition penalty: "The cat saw the cat saw the cat" has 8 words and 6 trigrams,
// (the cat saw) (cat saw the) (saw the cat) (the cat saw) (cat saw the) (saw the cat): 3 distinct,
// 1 - 3/6 = 0.5, x -1 = -0.5. Case is folded ("The" = "the"); fewer words than n scores 0; no
// repeats score 0.
TEST(RewardsShaping, RepetitionByHand) {
  EXPECT_NEAR(repetition_score("The cat saw the cat saw the cat", 3, -1.0), -0.5, 1e-12);
  EXPECT_NEAR(repetition_score("the  cat\nsaw the CAT saw the cat", 3, -2.0), -1.0, 1e-12);
  EXPECT_EQ(repetition_score("a b", 3, -1.0), 0.0);
  EXPECT_EQ(repetition_score("", 3, -1.0), 0.0);
  EXPECT_EQ(repetition_score("one two three four", 2, -1.0), 0.0);
  // Bigrams of "a a a a": 3, all (a a): 1 - 1/3 = 0.666667 x -0.3 = -0.2.
  EXPECT_NEAR(score_one("repetition", "a a a a", "", kNoMetadata, "", {.ngram = 2, .max_penalty = -0.3}), -0.2, 1e-12);
  EXPECT_THROW(score_one("repetition", "x", "", kNoMetadata, "", {.max_penalty = 0.5}), InputError);
}

// `score` takes the length from a completion_tokens field, or counts it with --model's tokenizer.
TEST(RewardsCli, ScoreShapingRewardsCountTokens) {
  TempDir dir;
  auto in = dir.write("in.jsonl",
                      "{\"completion\": \"x\", \"answer\": \"1\", \"completion_tokens\": 18}\n"
                      "{\"completion\": \"<think>count</think><answer>1</answer>\", \"answer\": \"1\"}\n");
  auto out = dir.path / "out.jsonl";
  auto r = test::run_r1train("score --reward overlong,cosine --buffer 5 --max-new-tokens 20 --model data/demo-base --input " +
                             in.string() + " --output " + out.string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto rows = test::read_jsonl(out);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_NEAR(rows[0]["rewards"]["overlong"].get<double>(), -0.6, 1e-12);  // (15 - 18) / 5
  const auto n = static_cast<int64_t>(
      Tokenizer::load("data/demo-base")->encode("<think>count</think><answer>1</answer>").size());
  EXPECT_NEAR(rows[1]["rewards"]["overlong"].get<double>(), overlong_score(n, 20, 5, 1.0), 1e-12) << n;
  EXPECT_NEAR(rows[1]["rewards"]["cosine"].get<double>(), cosine_score(true, n, 20, {}), 1e-12) << n;
  // Without a length or a limit: exit 2 naming what to add.
  auto no_len = test::run_r1train("score --reward overlong --buffer 5 --max-new-tokens 20 --input " +
                                  dir.write("b.jsonl", "{\"completion\": \"x\", \"answer\": \"1\"}\n").string());
  EXPECT_EQ(no_len.exit_code, 2) << no_len.output;
  EXPECT_NE(no_len.output.find("completion_tokens"), std::string::npos) << no_len.output;
  auto no_limit = test::run_r1train("score --reward overlong --buffer 5 --input " + in.string());
  EXPECT_EQ(no_limit.exit_code, 2) << no_limit.output;
  EXPECT_NE(no_limit.output.find("no length limit"), std::string::npos) << no_limit.output;
}

}  // namespace
}  // namespace r1
