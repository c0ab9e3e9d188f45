#include "r1/core/text_distance.h"

#include <algorithm>
#include <numeric>

namespace r1 {

std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> row(b.size() + 1);
  std::iota(row.begin(), row.end(), 0);
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diag = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

std::string closest(const std::string& word, const std::vector<std::string>& candidates) {
  std::string best;
  const std::size_t best_limit = std::max<std::size_t>(2, word.size() / 3);
  std::size_t best_d = best_limit + 1;
  for (const auto& c : candidates) {
    std::size_t d = edit_distance(word, c);
    // A prefix relation ("epsilon_hi" of "epsilon_high") is a strong hint too.
    bool prefix = (c.rfind(word, 0) == 0 && word.size() >= 3) || (word.rfind(c, 0) == 0 && c.size() >= 3);
    if (prefix) d = std::min(d, best_limit);
    if (d < best_d) {
      best_d = d;
      best = c;
    }
  }
  return best;
}

}  // namespace r1
