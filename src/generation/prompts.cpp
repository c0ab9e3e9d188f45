#include "r1/generation/prompts.h"

#include <fmt/format.h>

#include "r1/core/error.h"
#include "r1/data/prompt_template.h"

namespace r1 {

PromptRenderer::PromptRenderer(const DataConfig& data, const std::filesystem::path& model_dir)
    : template_(data.template_), system_prompt_(data.system_prompt), kwargs_(data.chat_template_kwargs) {
  if (template_ != "model") return;
  if (!data.chat_template.empty()) {
    chat_ = std::make_shared<const ChatTemplate>(ChatTemplate::from_file(data.chat_template, model_dir));
    return;
  }
  auto chat = ChatTemplate::load(model_dir);
  if (!chat)
    throw InputError("data.template: model, but " + model_dir.string() +
                     " has no chat template (no chat_template.jinja, no \"chat_template\" in tokenizer_config.json); "
                     "name a Jinja file with data.chat_template, or use another data.template");
  chat_ = std::make_shared<const ChatTemplate>(std::move(*chat));
}

std::string PromptRenderer::render(const Example& ex) const {
  if (!chat_) {
    if (!ex.messages.is_null())
      throw InputError(ex.where + ": the prompt is a list of messages; set data.template: model (the model's chat "
                                  "template renders them)");
    return apply_template(template_, ex.prompt);
  }
  nlohmann::ordered_json messages = nlohmann::ordered_json::array();
  if (!ex.messages.is_null()) {
    messages = nlohmann::ordered_json::parse(ex.messages.dump());
  } else {
    messages.push_back({{"role", "user"}, {"content", ex.prompt}});
  }
  const bool has_system = !messages.empty() && messages[0].value("role", "") == "system";
  if (!system_prompt_.empty() && !has_system)
    messages.insert(messages.begin(), nlohmann::ordered_json{{"role", "system"}, {"content", system_prompt_}});
  try {
    return chat_->render(messages, nullptr, /*add_generation_prompt=*/true, kwargs_);
  } catch (const jinja::TemplateError& e) {
    throw InputError(ex.where + ": " + e.what());
  }
}

std::optional<std::string> PromptRenderer::tool_answer(const std::string& output) const {
  if (!chat_) return std::nullopt;
  static const std::string kCall = "\x01r1-call\x01";  // never in a template's own text
  nlohmann::ordered_json messages = nlohmann::ordered_json::array();
  if (!system_prompt_.empty()) messages.push_back({{"role", "system"}, {"content", system_prompt_}});
  messages.push_back({{"role", "user"}, {"content", "?"}});
  messages.push_back({{"role", "assistant"}, {"content", kCall}});
  messages.push_back({{"role", "tool"}, {"content", output}});
  std::string text;
  try {
    text = chat_->render(messages, nullptr, /*add_generation_prompt=*/true, kwargs_);
  } catch (const jinja::TemplateError& e) {
    throw InputError(std::string("the chat template cannot render a tool message (role \"tool\"): ") + e.what());
  }
  const auto at = text.find(kCall);
  if (at == std::string::npos)
    throw InputError("the chat template does not show the assistant's text before a tool message; tool answers "
                     "cannot be placed after it");
  return text.substr(at + kCall.size());
}

std::function<std::string(std::size_t, const ToolResult&)> tool_answer_renderer(
    std::shared_ptr<const PromptRenderer> prompts) {
  if (!prompts || !prompts->tool_answer("probe")) return {};
  return [prompts](std::size_t, const ToolResult& result) { return *prompts->tool_answer(ToolBox::answer(result)); };
}

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

void check_dataset_fits_context(const Dataset& data, const PromptRenderer& prompts,
                                const Tokenizer& tokenizer, int64_t max_new_tokens, int64_t context,
                                const std::string& max_new_tokens_key) {
  for (std::size_t i = 0; i < data.size(); ++i) {
    const auto& ex = data[i];
    // Characters bound tokens from above for every tokenizer here, so most prompts need no encoding.
    const std::string text = prompts.render(ex);
    if (static_cast<int64_t>(text.size()) + 4 + max_new_tokens <= context) continue;
    check_fits_context(static_cast<int64_t>(encode_prompt(tokenizer, text).size()), max_new_tokens, context, ex.where,
                       max_new_tokens_key);
  }
}

}  // namespace r1
