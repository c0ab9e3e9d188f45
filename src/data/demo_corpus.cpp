#include "r1/data/demo_corpus.h"

#include <string>

#include "r1/data/prompt_template.h"

namespace r1 {

namespace {

struct Operands {
  int a = 0;
  int b = 0;
};

Operands draw_operands(TaskRng& rng, bool held_out) {
  while (true) {
    Operands o{static_cast<int>(rng.uniform(100, 999)), static_cast<int>(rng.uniform(100, 999))};
    if (is_held_out(o.a, o.b) == held_out) return o;
  }
}

double uniform01(TaskRng& rng) { return static_cast<double>(rng.uniform(0, 999'999)) / 1'000'000.0; }

}  // namespace

bool is_held_out(int a, int b) {
  // splitmix64 finaliser of the pair's index: platform-independent and well mixed.
  uint64_t z = static_cast<uint64_t>(a) * 1000u + static_cast<uint64_t>(b) + 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  return z % 10 == 0;
}

std::string addition_scratchpad(int a, int b) {
  std::string out;
  int carry = 0;
  for (int place = 0; place < 3; ++place) {
    int da = a % 10, db = b % 10;
    a /= 10;
    b /= 10;
    int s = da + db + carry;
    if (place > 0) out += ",";
    out += std::to_string(da) + "+" + std::to_string(db) + "+" + std::to_string(carry) + "=" + (s < 10 ? "0" : "") +
           std::to_string(s);
    carry = s / 10;
  }
  return out;
}

std::string carry_free_sum(int a, int b) {
  int out = 0;
  for (int place = 1; place <= 100; place *= 10) out += ((a / place % 10 + b / place % 10) % 10) * place;
  return std::to_string(out);
}

std::string perturbed_sum(int sum, TaskRng& rng) {
  const std::string right = std::to_string(sum);
  while (true) {
    std::string s = right;
    int changes = uniform01(rng) < 0.3 ? 2 : 1;
    for (int i = 0; i < changes; ++i) {
      auto pos = static_cast<std::size_t>(rng.uniform(0, static_cast<long long>(s.size()) - 1));
      s[pos] = static_cast<char>('0' + rng.uniform(pos == 0 ? 1 : 0, 9));
    }
    if (s != right) return s;
  }
}

nlohmann::json make_addition(TaskRng& rng) {
  auto o = draw_operands(rng, false);
  return {{"prompt", std::to_string(o.a) + "+" + std::to_string(o.b)}, {"answer", std::to_string(o.a + o.b)}};
}

nlohmann::json make_addition_test(TaskRng& rng) {
  auto o = draw_operands(rng, true);
  return {{"prompt", std::to_string(o.a) + "+" + std::to_string(o.b)}, {"answer", std::to_string(o.a + o.b)}};
}

namespace {

std::string thinking_completion(int a, int b) {
  return "<think>" + addition_scratchpad(a, b) + "</think> <answer>" + std::to_string(a + b) + "</answer>";
}

}  // namespace

nlohmann::json make_addition_scratchpad(TaskRng& rng) {
  auto o = draw_operands(rng, false);
  const std::string question = std::to_string(o.a) + "+" + std::to_string(o.b);
  return {{"prompt", apply_template(kDemoTemplate, question)}, {"completion", thinking_completion(o.a, o.b)}};
}

nlohmann::json make_addition_corpus(TaskRng& rng) {
  auto o = draw_operands(rng, false);
  const int sum = o.a + o.b;
  std::string completion;
  if (uniform01(rng) < kThinkRate) {
    completion = thinking_completion(o.a, o.b);
  } else {
    std::string guess = std::to_string(sum);
    if (uniform01(rng) >= kDirectCorrectRate) {
      guess = carry_free_sum(o.a, o.b);
      if (guess == std::to_string(sum)) guess = perturbed_sum(sum, rng);
    }
    completion = "<answer>" + guess + "</answer>";
  }
  const std::string question = std::to_string(o.a) + "+" + std::to_string(o.b);
  return {{"prompt", apply_template(kDemoTemplate, question)}, {"completion", completion}};
}

namespace {

Operands draw_product_operands(TaskRng& rng, bool held_out) {
  while (true) {
    Operands o{static_cast<int>(rng.uniform(100, 999)), static_cast<int>(rng.uniform(10, 99))};
    if (is_held_out(o.a, o.b) == held_out) return o;
  }
}

std::string product_question(const Operands& o) { return std::to_string(o.a) + "*" + std::to_string(o.b); }

std::string calc_completion(const Operands& o) {
  const std::string product = std::to_string(o.a * o.b);
  return "<calc>" + product_question(o) + "</calc>=" + product + " <answer>" + product + "</answer>";
}

}  // namespace

nlohmann::json make_multiplication(TaskRng& rng) {
  auto o = draw_product_operands(rng, false);
  return {{"prompt", product_question(o)}, {"answer", std::to_string(o.a * o.b)}};
}

nlohmann::json make_multiplication_test(TaskRng& rng) {
  auto o = draw_product_operands(rng, true);
  return {{"prompt", product_question(o)}, {"answer", std::to_string(o.a * o.b)}};
}

nlohmann::json make_multiplication_corpus(TaskRng& rng) {
  auto o = draw_product_operands(rng, false);
  std::string completion;
  if (uniform01(rng) < kCalcRate) {
    completion = calc_completion(o);
  } else {
    const int product = o.a * o.b;
    const std::string guess = uniform01(rng) < kDirectProductRate ? std::to_string(product) : perturbed_sum(product, rng);
    completion = "<answer>" + guess + "</answer>";
  }
  return {{"prompt", apply_template(kDemoTemplate, product_question(o))}, {"completion", completion}};
}

nlohmann::json make_multiplication_calc(TaskRng& rng) {
  auto o = draw_product_operands(rng, false);
  return {{"prompt", apply_template(kDemoTemplate, product_question(o))}, {"completion", calc_completion(o)}};
}

const std::vector<TaskGenerator>& demo_task_generators() {
  static const std::vector<TaskGenerator> generators = {
      {"addition", "3-digit addition prompts for the CPU demo ({prompt: \"345+537\", answer: \"882\"})",
       make_addition},
      {"addition-test", "the held-out split of addition (about 1 pair in 10, never in training data)",
       make_addition_test},
      {"addition-corpus",
       "the demo base model's corpus: {prompt, completion}, mostly direct guesses, sometimes a <think> scratchpad",
       make_addition_corpus},
      {"addition-scratchpad", "addition-corpus rows that all think (a curriculum stage of the demo base model)",
       make_addition_scratchpad},
      {"multiplication", "3-digit by 2-digit products for the tool demo ({prompt: \"347*58\", answer: \"20126\"})",
       make_multiplication},
      {"multiplication-test", "the held-out split of multiplication", make_multiplication_test},
      {"multiplication-corpus",
       "the tool demo base model's corpus: mostly guesses, sometimes a <calc> call whose answer it copies",
       make_multiplication_corpus},
      {"multiplication-calc", "multiplication-corpus rows that all call the calculator (a curriculum stage)",
       make_multiplication_calc},
  };
  return generators;
}

std::optional<std::vector<nlohmann::json>> generate_demo_task(const std::string& task, std::size_t n, uint64_t seed) {
  return generate_rows(demo_task_generators(), task, n, seed);
}

}  // namespace r1
