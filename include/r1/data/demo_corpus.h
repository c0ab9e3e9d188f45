// The CPU demo's synthetic task: 3-digit addition prompts, a held-out split, and the base model's pretraining corpus.
//
// The corpus teaches a tiny base model two ways to answer "Q: 345+537=?\n": a direct guess
// "<answer>872</answer>" (right only kDirectCorrectRate of the time, otherwise the answer of someone
// who forgets the carries, or a random digit slip when there is no carry; the wrong answer being the
// most likely one keeps greedy decoding wrong too) and, rarely (kThinkRate), a digit-by-digit scratchpad
// "<think>5+7+0=12,4+3+1=08,3+5+0=08</think> <answer>882</answer>" that is always right. GRPO
// with the format and accuracy rewards then has to discover that thinking pays.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "r1/data/task_generators.h"

namespace r1 {

inline constexpr double kThinkRate = 0.12;          // fraction of corpus examples that think first
inline constexpr double kDirectCorrectRate = 0.30;  // fraction of direct answers that are right
inline constexpr const char* kDemoTemplate = "Q: {prompt}=?\n";  // data.template of the demo

// Every pair of 3-digit operands belongs to one split, by a hash of the pair: about one in ten is
// held out for evaluation and never appears in training prompts or the corpus.
bool is_held_out(int a, int b);

// "5+7+0=12,4+3+1=08,3+5+0=08" for 345+537: one step per digit from the ones up, adding the carry
// that comes in, the digit sum always written with two digits (its first digit is the carry out).
// Every step has the same width, so each digit the model must read sits at a fixed distance: a
// tiny model with rotary positions learns the scratchpad in minutes.
std::string addition_scratchpad(int a, int b);

// The sum when every carry is forgotten: each digit is (a_i + b_i) mod 10, e.g. "872" for 345+537.
std::string carry_free_sum(int a, int b);

// `sum` with one or two digits changed (never a leading zero, never the sum itself).
std::string perturbed_sum(int sum, TaskRng& rng);

// Rows of the demo tasks:
//   addition         {"prompt": "345+537", "answer": "882"}, training split
//   addition-test    the same from the held-out split
//   addition-corpus  {"prompt": "Q: 345+537=?\n", "completion": "<answer>872</answer>"} or the
//                    thinking form, training split (for `r1train sft`)
//   addition-scratchpad  corpus rows that all think: scripts/make_demo_base.sh mixes them in for a
//                    middle stage so that a tiny model learns the scratchpad on a CPU in minutes
nlohmann::json make_addition(TaskRng& rng);
nlohmann::json make_addition_test(TaskRng& rng);
nlohmann::json make_addition_corpus(TaskRng& rng);
nlohmann::json make_addition_scratchpad(TaskRng& rng);

// The tool demo's task: multiplication of a 3-digit by a 2-digit number, which a tiny model cannot
// do in its head but can with a calculator. Its base model's corpus answers "Q: 347*58=?\n" mostly
// with a guess "<answer>20186</answer>" (right kDirectProductRate of the time) and rarely
// (kCalcRate) by calling the calculator and copying its answer:
// "<calc>347*58</calc>=20126 <answer>20126</answer>" (the "=20126" is what the tool answers).
inline constexpr double kCalcRate = 0.10;
inline constexpr double kDirectProductRate = 0.10;

//   multiplication         {"prompt": "347*58", "answer": "20126"}, training split
//   multiplication-test    the same from the held-out split
//   multiplication-corpus  {"prompt": "Q: 347*58=?\n", "completion": ...} as above (for `r1train sft`)
//   multiplication-calc    corpus rows that all call the calculator (a curriculum stage)
nlohmann::json make_multiplication(TaskRng& rng);
nlohmann::json make_multiplication_test(TaskRng& rng);
nlohmann::json make_multiplication_corpus(TaskRng& rng);
nlohmann::json make_multiplication_calc(TaskRng& rng);

// The demo tasks as generators (name, description, row maker), for `r1train gen-data`.
const std::vector<TaskGenerator>& demo_task_generators();

// n rows of demo task `task` from `seed`, or nullopt when `task` is not a demo task.
std::optional<std::vector<nlohmann::json>> generate_demo_task(const std::string& task, std::size_t n, uint64_t seed);

}  // namespace r1
