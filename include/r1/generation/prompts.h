// Prompts as the model sees them: templated, encoded, and checked against the model's context.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "r1/core/config.h"
#include "r1/data/dataset.h"
#include "r1/tokenizer/chat_template.h"
#include "r1/tokenizer/tokenizer.h"
#include "r1/tools/tools.h"

namespace r1 {

// A dataset example as the model's prompt text: data.template, or with `model` the model's own
// chat template (data.chat_template instead when set) over the row's messages (a plain prompt is
// one user turn), data.system_prompt first, add_generation_prompt, data.chat_template_kwargs.
class PromptRenderer {
 public:
  // InputError when data.template is `model` and neither the model directory nor
  // data.chat_template has a chat template.
  PromptRenderer(const DataConfig& data, const std::filesystem::path& model_dir);
  // InputError naming the row (FILE:LINE) when the template raises, or when the row is a message
  // list and data.template is not `model`.
  std::string render(const Example& ex) const;
  // With a chat template: the text that follows a tool call the model wrote in its assistant turn,
  // as the template renders it: the assistant turn closed, a tool message holding `output`, and
  // the next assistant turn opened (Qwen2.5: "<|im_end|>\n<|im_start|>user\n<tool_response>\n...").
  // Rendered after an assistant turn holding a marker, and cut after the marker. nullopt without a chat
  // template; InputError with the template's message when it cannot render a tool message.
  std::optional<std::string> tool_answer(const std::string& output) const;

 private:
  std::string template_;
  std::string system_prompt_;
  nlohmann::ordered_json kwargs_;
  std::shared_ptr<const ChatTemplate> chat_;
};

// How multi-turn rollouts put a tool's answer back: with a chat template (data.template: model), as
// the template's tool turn (PromptRenderer::tool_answer, tried once here: InputError when the
// template cannot render one); otherwise empty (the tools' own output_template).
std::function<std::string(std::size_t tool, const ToolResult&)> tool_answer_renderer(
    std::shared_ptr<const PromptRenderer> prompts);

// Token ids of a templated prompt, with the tokenizer's special tokens (BOS when it adds one),
// but a single BOS when the template text already starts with it (e.g. the llama3 chat format).
std::vector<int> encode_prompt(const Tokenizer& tokenizer, const std::string& text);

// InputError naming `where` when `prompt_tokens` + `max_new_tokens` exceed the model's context
// (max_position_embeddings), with the numbers and what to change.
void check_fits_context(int64_t prompt_tokens, int64_t max_new_tokens, int64_t context, const std::string& where,
                        const std::string& max_new_tokens_key);

// Every example of `data`, templated and encoded, checked with check_fits_context (its FILE:LINE
// named), before any work: one long row must not take a run down hours in. Prompts longer than the
// context are refused rather than cut or skipped: either would change the experiment unseen.
void check_dataset_fits_context(const Dataset& data, const PromptRenderer& prompts,
                                const Tokenizer& tokenizer, int64_t max_new_tokens, int64_t context,
                                const std::string& max_new_tokens_key);

}  // namespace r1
