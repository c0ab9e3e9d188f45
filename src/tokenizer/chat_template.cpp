#include "r1/tokenizer/chat_template.h"

#include <fstream>
#include <sstream>

#include "r1/core/error.h"

namespace r1 {

namespace {

std::string read_text(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw InputError(file.string() + ": cannot be read");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

nlohmann::ordered_json read_config(const std::filesystem::path& dir) {
  auto file = dir / "tokenizer_config.json";
  if (!std::filesystem::exists(file)) return nlohmann::ordered_json::object();
  try {
    return nlohmann::ordered_json::parse(read_text(file));
  } catch (const nlohmann::json::parse_error& e) {
    throw InputError(file.string() + ": not valid JSON (" + e.what() + ")");
  }
}

// A token as tokenizer_config.json writes it: a string or an AddedToken object with "content".
std::optional<std::string> token_text(const nlohmann::ordered_json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_object() && v.contains("content") && v["content"].is_string()) return v["content"].get<std::string>();
  return std::nullopt;
}

// The special-token variables transformers passes to the template (those that are set).
nlohmann::ordered_json special_tokens(const nlohmann::ordered_json& config) {
  nlohmann::ordered_json out = nlohmann::ordered_json::object();
  for (const char* key : {"bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token"}) {
    if (!config.contains(key)) continue;
    if (auto t = token_text(config[key])) out[key] = *t;
  }
  if (config.contains("additional_special_tokens") && config["additional_special_tokens"].is_array()) {
    nlohmann::ordered_json list = nlohmann::ordered_json::array();
    for (const auto& t : config["additional_special_tokens"])
      if (auto s = token_text(t)) list.push_back(*s);
    out["additional_special_tokens"] = list;
  }
  return out;
}

jinja::Template compile(const std::string& source, const std::string& name) {
  try {
    return jinja::Template(source, name);
  } catch (const jinja::TemplateError& e) {
    throw InputError(std::string(e.what()) +
                     "; fix the template or name another with data.chat_template (r1train renders the Jinja subset "
                     "described in docs/data.md)");
  }
}

}  // namespace

std::optional<ChatTemplate> ChatTemplate::load(const std::filesystem::path& dir) {
  ChatTemplate t;
  auto config = read_config(dir);
  t.special_tokens_ = special_tokens(config);
  auto jinja_file = dir / "chat_template.jinja";
  if (std::filesystem::exists(jinja_file)) {  // transformers reads it before tokenizer_config.json's
    t.source_ = jinja_file.string();
    t.templates_.emplace("default", compile(read_text(jinja_file), t.source_));
    return t;
  }
  if (!config.contains("chat_template") || config["chat_template"].is_null()) return std::nullopt;
  const auto& ct = config["chat_template"];
  t.source_ = (dir / "tokenizer_config.json").string() + " chat_template";
  if (ct.is_string()) {
    t.templates_.emplace("default", compile(ct.get<std::string>(), t.source_));
  } else if (ct.is_array()) {
    for (const auto& entry : ct) {
      if (!entry.is_object() || !entry.contains("name") || !entry.contains("template") || !entry["name"].is_string() ||
          !entry["template"].is_string())
        throw InputError(t.source_ + ": a list entry is not {\"name\": ..., \"template\": ...}");
      std::string name = entry["name"].get<std::string>();
      t.templates_.emplace(name, compile(entry["template"].get<std::string>(), t.source_ + " '" + name + "'"));
    }
  } else {
    throw InputError(t.source_ + ": is neither a string nor a list of named templates");
  }
  return t;
}

ChatTemplate ChatTemplate::from_file(const std::filesystem::path& file, const std::filesystem::path& dir) {
  ChatTemplate t;
  t.special_tokens_ = special_tokens(read_config(dir));
  t.source_ = file.string();
  t.templates_.emplace("default", compile(read_text(file), t.source_));
  return t;
}

std::string ChatTemplate::render(const nlohmann::ordered_json& messages, const nlohmann::ordered_json& tools,
                                 bool add_generation_prompt, const nlohmann::ordered_json& kwargs,
                                 const jinja::RenderOptions& options) const {
  // transformers: the "tool_use" template when tools are given (even []) and the model has one.
  auto it = templates_.end();
  if (!tools.is_null()) it = templates_.find("tool_use");
  if (it == templates_.end()) it = templates_.find("default");
  if (it == templates_.end())
    throw jinja::TemplateError(source_ + ": has no template named 'default'" + (tools.is_null() ? "" : " or 'tool_use'"));
  nlohmann::ordered_json context = nlohmann::ordered_json::object();
  context["messages"] = messages;
  context["tools"] = tools;
  context["documents"] = nullptr;
  context["add_generation_prompt"] = add_generation_prompt;
  for (const auto& [k, v] : special_tokens_.items()) context[k] = v;
  if (kwargs.is_object())
    for (const auto& [k, v] : kwargs.items()) context[k] = v;
  return it->second.render(context, options);
}

}  // namespace r1
