#include "r1/generation/prompts.h"

#include <fmt/format.h>

#include "r1/core/error.h"
#include "r1/data/prompt_template.h"

namespace r1 {

std::vector<int> encode_prompt(const Tokenizer& tokenizer, const std::string& text) {
  auto ids = tokenizer.encode(text, /*add_special_tokens=*/true);
  const auto bos = tokenizer.bos_id();
  if (bos && ids.size() >= 2 && ids[0] == *bos && ids[1] == *bos) ids.erase(ids.begin());
  return ids;
}

void check_fits_context(int64_t prompt_tokens, int64_t max_new_tokens, int64_t context, const std::string& where,
                        const std::string& max_new_tokens_key) {
  if (prompt_tokens + max_new_tokens <= context) return;
  throw InputError(fmt::format(
      "{}: the prompt has {} tokens; with {} {} that is {}, past the model's context of {} tokens "
      "(max_position_embeddings in config.json); shorten or drop the prompt, or lower {}",
      where, prompt_tokens, max_new_tokens_key, max_new_tokens, prompt_tokens + max_new_tokens, context,
      max_new_tokens_key));
}

void check_dataset_fits_context(const Dataset& data, const std::string& template_name_or_text,
                                const Tokenizer& tokenizer, int64_t max_new_tokens, int64_t context,
                                const std::string& max_new_tokens_key) {
  for (std::size_t i = 0; i < data.size(); ++i) {
    const auto& ex = data[i];
    // Characters bound tokens from above for every tokenizer here, so most prompts need no encoding.
    const std::string text = apply_template(template_name_or_text, ex.prompt);
    if (static_cast<int64_t>(text.size()) + 4 + max_new_tokens <= context) continue;
    check_fits_context(static_cast<int64_t>(encode_prompt(tokenizer, text).size()), max_new_tokens, context, ex.where,
                       max_new_tokens_key);
  }
}

}  // namespace r1
