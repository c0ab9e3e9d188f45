#include "r1/data/prompt_template.h"

#include <cctype>

#include "r1/core/error.h"
#include "r1/core/options.h"

namespace r1 {

namespace {

// DeepSeek-R1 paper, Table 1 (the R1-Zero training template).
constexpr const char* kR1Zero =
    "A conversation between User and Assistant. The user asks a question, and the Assistant solves it. The "
    "assistant first thinks about the reasoning process in the mind and then provides the user with the answer. "
    "The reasoning process and answer are enclosed within <think> </think> and <answer> </answer> tags, "
    "respectively, i.e., <think> reasoning process here </think> <answer> answer here </answer>. User: {prompt}. "
    "Assistant:";

// TinyZero examples/data_preprocess/countdown.py, template_type "base"; {prompt} stands for its
// "Using the numbers {numbers}, create an equation that equals {target}." sentence.
constexpr const char* kCountdown =
    "A conversation between User and Assistant. The user asks a question, and the Assistant solves it. The "
    "assistant first thinks about the reasoning process in the mind and then provides the user with the answer.\n"
    "User: {prompt} You can use basic arithmetic operations (+, -, *, /) and each number can only be used once. "
    "Show your work in <think> </think> tags. And return the final answer in <answer> </answer> tags, for example "
    "<answer> (1 + 2) / 3 </answer>.\nAssistant: Let me solve this step by step.\n<think>";

// The system turn of the chat templates: the R1-Zero instructions.
constexpr const char* kSystem =
    "A conversation between User and Assistant. The user asks a question, and the Assistant solves it. The "
    "assistant first thinks about the reasoning process in the mind and then provides the user with the answer. "
    "The reasoning process and answer are enclosed within <think> </think> and <answer> </answer> tags, "
    "respectively, i.e., <think> reasoning process here </think> <answer> answer here </answer>.";

std::string chatml(const std::string& prompt) {
  return std::string("<|im_start|>system\n") + kSystem + "<|im_end|>\n<|im_start|>user\n" + prompt +
         "<|im_end|>\n<|im_start|>assistant\n";
}

std::string llama3(const std::string& prompt) {
  return std::string("<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n") + kSystem +
         "<|eot_id|><|start_header_id|>user<|end_header_id|>\n\n" + prompt +
         "<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n";
}

std::string substitute(std::string text, const std::string& prompt) {
  for (std::string_view placeholder : {"{prompt}", "{question}"}) {
    std::size_t pos = 0;
    while ((pos = text.find(placeholder, pos)) != std::string::npos) {
      text.replace(pos, placeholder.size(), prompt);
      pos += prompt.size();
    }
  }
  return text;
}

}  // namespace

std::string apply_template(const std::string& template_name_or_text, const std::string& prompt) {
  const std::string& t = template_name_or_text;
  if (auto name = parse_option<TemplateName>(t)) {
    switch (*name) {
      case TemplateName::R1Zero: return substitute(kR1Zero, prompt);
      case TemplateName::Countdown: return substitute(kCountdown, prompt);
      case TemplateName::Plain: return prompt;
      case TemplateName::Chat:
      case TemplateName::ChatMl: return chatml(prompt);
      case TemplateName::Llama3: return llama3(prompt);
      case TemplateName::Model:
        throw InputError("data.template: model renders with the model's chat template (PromptRenderer), which "
                         "this caller does not have");
    }
  }
  if (t.find("{prompt}") != std::string::npos || t.find("{question}") != std::string::npos)
    return substitute(t, prompt);
  throw InputError("data.template: '" + t + "' is neither one of " + option_list<TemplateName>(", ") +
                   " nor a string containing {prompt}");
}

bool template_ends_in_think(const std::string& template_name_or_text, const std::string& think_open) {
  std::string text = apply_template(template_name_or_text, "");
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.pop_back();
  return text.size() >= think_open.size() && text.compare(text.size() - think_open.size(), think_open.size(), think_open) == 0;
}

}  // namespace r1
