// A model's own chat template, applied as transformers' apply_chat_template applies it: the Jinja
// template from `chat_template.jinja` or `tokenizer_config.json` ("chat_template", a string or a
// list of named templates), rendered with messages, tools, add_generation_prompt, the special
// tokens (bos_token, eos_token, ...) and extra variables (enable_thinking, ...).
#pragma once

#include <nlohmann/json.hpp>

#include <filesystem>
#include <map>
#include <optional>
#include <string>

#include "r1/tokenizer/jinja.h"

namespace r1 {

class ChatTemplate {
 public:
  // The template of a model or tokenizer directory; nullopt when it has none. InputError naming the
  // file when a file is unreadable or the template does not parse.
  static std::optional<ChatTemplate> load(const std::filesystem::path& dir);
  // A template file (Jinja source), with the special tokens of `dir`'s tokenizer_config.json.
  static ChatTemplate from_file(const std::filesystem::path& file, const std::filesystem::path& dir);

  // Renders a conversation. `tools` null or an array (the "tool_use" template is chosen when it is
  // not null and the model names one); `kwargs` an object of extra variables, which win over the
  // special tokens. jinja::TemplateError when the template raises or fails.
  std::string render(const nlohmann::ordered_json& messages, const nlohmann::ordered_json& tools,
                     bool add_generation_prompt, const nlohmann::ordered_json& kwargs = nlohmann::ordered_json::object(),
                     const jinja::RenderOptions& options = {}) const;

  // Where the template came from (for messages).
  const std::string& source() const { return source_; }

 private:
  std::map<std::string, jinja::Template> templates_;  // "default", "tool_use", ...
  nlohmann::ordered_json special_tokens_ = nlohmann::ordered_json::object();
  std::string source_;
};

}  // namespace r1
