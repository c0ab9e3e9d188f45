// Prompt templates: turn a dataset question into the text the model continues (R1-Zero, countdown, chat).
#pragma once

#include <string>
#include <vector>

namespace r1 {

// Renders `prompt` with a named template or a custom string:
//   r1_zero    the DeepSeek-R1-Zero prompt ("A conversation between User and Assistant. ... User: {prompt}. Assistant:")
//   countdown  TinyZero's base-model countdown prompt, ending in "<think>" (the prompt is the
//              "Using the numbers [...], create an equation that equals N." question)
//   plain      the prompt unchanged
//   chat, chatml  ChatML (Qwen): a system turn with the think/answer instructions, then the user turn
//   llama3     the Llama-3 chat format with the same system turn
//   anything containing {prompt} or {question}: a custom template, the placeholder replaced.
// InputError for any other name.
std::string apply_template(const std::string& template_name_or_text, const std::string& prompt);

// Whether prompts rendered with this template end inside an opened <think> block (so the
// completion starts with the reasoning, not with the tag).
bool template_ends_in_think(const std::string& template_name_or_text, const std::string& think_open = "<think>");

}  // namespace r1
