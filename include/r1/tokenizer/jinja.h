// The Jinja subset Hugging Face chat templates are written in, rendered as transformers renders
// them (jinja2 with trim_blocks, lstrip_blocks, loop controls, its `tojson`, `raise_exception`,
// `strftime_now`, the `generation` block). A construct outside the subset is refused with its name
// and line when the template is parsed, never rendered wrong.
#pragma once

#include <nlohmann/json.hpp>

#include <functional>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace r1::jinja {

// A template that cannot be parsed (a syntax error or an unsupported construct), or that failed
// while rendering (raise_exception, an undefined attribute, str + list, ...): the message names
// the template and line.
class TemplateError : public std::runtime_error {
 public:
  TemplateError(const std::string& message, bool raised = false) : std::runtime_error(message), raised_(raised) {}
  // True when the template itself raised (raise_exception), as transformers' TemplateError.
  bool raised() const { return raised_; }

 private:
  bool raised_;
};

struct Node;

struct RenderOptions {
  // What strftime_now() reads as "now" (seconds since the epoch, UTC); transformers uses the clock.
  long long now = 0;
};

class Template {
 public:
  // Parses `source`; `name` labels errors ("tokenizer_config.json chat_template").
  Template(const std::string& source, std::string name = "template");
  ~Template();
  Template(Template&&) noexcept;
  Template& operator=(Template&&) noexcept;

  // Renders with `context` (an object: messages, tools, add_generation_prompt, bos_token, ...).
  std::string render(const nlohmann::ordered_json& context, const RenderOptions& options = {}) const;

 private:
  std::string name_;
  std::vector<std::unique_ptr<Node>> body_;
};

}  // namespace r1::jinja
