// Math answer checking: final-answer extraction (<answer>, \boxed), LaTeX normalisation, equivalence.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace r1 {

// The content of the last \boxed{...} or \fbox{...} in `text` (nested braces kept), if any.
std::optional<std::string> last_boxed(std::string_view text);

// The content of the last <answer>...</answer> in `text`, if any.
std::optional<std::string> answer_tag(std::string_view text);

// A completion's final answer: the last <answer> block (its last \boxed if it holds one), else the
// last \boxed in the whole completion.
std::optional<std::string> extract_math_answer(std::string_view completion);

// Canonical form used for comparison: no spaces, \left/\right, \!, units in \text, ^\circ, \%, \$,
// thousands separators, trailing period, or "x =" prefix; \dfrac/\tfrac -> \frac; \frac12 -> \frac{1}{2}.
std::string normalize_math_answer(std::string_view answer);

// Whether a predicted final answer equals the reference: normalised strings, numbers and numeric
// expressions (with tolerance), tuples, intervals and sets element-wise, and expressions in one-letter
// variables by evaluation at fixed points. A reference holding \boxed is compared by its boxed content.
bool math_answers_equal(std::string_view predicted, std::string_view reference);

}  // namespace r1
