// Next-token sampling settings and the one statement of their valid ranges (config validation,
// the generate command and the engine all check through it).
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace r1 {

struct SamplingOptions {
  double temperature = 1.0;         // 0 = greedy (argmax)
  double top_p = 1.0;               // keep the smallest set of tokens whose probability reaches top_p
  double min_p = 0.0;               // drop tokens with probability < min_p * the top token's
  double repetition_penalty = 1.0;  // > 1 discourages tokens already in the prompt or completion
  int top_k = 0;                    // keep the k most likely tokens; 0 = all
};

// Every setting out of range as (name, "is VALUE; must be ..."), in the order temperature, top_p,
// top_k, min_p, repetition_penalty; empty when all are valid.
std::vector<std::pair<std::string, std::string>> sampling_range_problems(const SamplingOptions& o);

}  // namespace r1
