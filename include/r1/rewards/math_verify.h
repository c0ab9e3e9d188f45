// Math answer checking: where the final answer is (<answer>, \boxed, prose) and whether it equals
// the reference (the comparison itself is rewards/latex_math.h).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "r1/core/options.h"
#include "r1/rewards/latex_math.h"

namespace r1 {

// The content of the last \boxed{...} or \fbox{...} in `text` (nested braces kept), if any.
std::optional<std::string> last_boxed(std::string_view text);

// The content of the last <answer>...</answer> in `text`, if any.
std::optional<std::string> answer_tag(std::string_view text);

// The last \boxed of `text` and the boxes just before it that belong to the same answer (as
// Math-Verify joins them: at most 10 characters apart, or 70 with "and", "or", "," or ";" between),
// joined with "," into one list; nullopt without a box.
std::optional<std::string> joined_boxes(std::string_view text);

// The last number in `text` that stands alone: not glued to letters, not inside a LaTeX command's
// argument (unless the argument is the whole number, "\boxed{18}"), not an operand of + - * / ^ ;
// thousands separators removed ("$1,234." -> "1234"). nullopt when there is none.
std::optional<std::string> last_standalone_number(std::string_view text);

// A completion's final answer.
//   tagged: the last <answer> block (its boxes when it has any), else the boxes of the completion.
//   any: within the <answer> block when there is one, else the whole completion: the boxes; the
//        whole text when it is math; "final answer is X" / "answer: X"; the last $...$, \(...\)
//        or \[...\]; the last standalone number.
std::optional<std::string> extract_math_answer(std::string_view completion, MathExtract mode = MathExtract::Tagged);

// A reference as datasets give it, reduced to the answer: its boxes when it holds \boxed, the
// number after "####" (GSM8K), else the text.
std::string math_reference(std::string_view reference);

// Whether `predicted` (an extracted answer) equals `reference` (given as datasets give it).
MathCheck check_math_answer(std::string_view predicted, std::string_view reference,
                            const MathCompareOptions& options = {});
bool math_answers_equal(std::string_view predicted, std::string_view reference);

}  // namespace r1
