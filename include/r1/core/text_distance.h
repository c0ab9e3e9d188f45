// Edit distance and "did you mean" suggestions for keys and values in error messages.
#pragma once

#include <string>
#include <vector>

namespace r1 {

// Levenshtein distance between a and b (insertions, deletions, substitutions).
std::size_t edit_distance(const std::string& a, const std::string& b);

// The candidate closest to `word` if it is close enough to be a likely typo
// (distance <= max(2, |word| / 3)), else an empty string.
std::string closest(const std::string& word, const std::vector<std::string>& candidates);

}  // namespace r1
