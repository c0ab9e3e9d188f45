#include <fstream>
#include <memory>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "r1/cli/commands.h"
#include "r1/core/error.h"
#include "r1/core/hub.h"
#include "r1/core/output_file.h"
#include "r1/tokenizer/chat_template.h"
#include "r1/tokenizer/tokenizer.h"

namespace r1::cli {

namespace {

using ojson = nlohmann::ordered_json;

struct TemplateOptions {
  std::string model, input, output, chat_template, date;
};

// "2026-01-15" -> seconds since the epoch at midnight UTC.
long long parse_date(const std::string& date) {
  std::tm tm{};
  if (date.size() != 10 || !strptime(date.c_str(), "%Y-%m-%d", &tm))
    throw InputError("--date " + date + ": expected YYYY-MM-DD");
  return static_cast<long long>(timegm(&tm));
}

int run_template(const TemplateOptions& given) {
  TemplateOptions o = given;
  o.model = resolve_model_dir(o.model);
  auto chat = o.chat_template.empty() ? ChatTemplate::load(o.model)
                                      : std::optional<ChatTemplate>(ChatTemplate::from_file(o.chat_template, o.model));
  if (!chat)
    throw InputError(o.model + ": has no chat template (no chat_template.jinja, no \"chat_template\" in "
                               "tokenizer_config.json); give one with --chat-template FILE");
  auto tokenizer = Tokenizer::load(o.model);
  jinja::RenderOptions render;
  render.now = o.date.empty() ? static_cast<long long>(std::time(nullptr)) : parse_date(o.date);
  std::ifstream in(o.input, std::ios::binary);
  if (!in) throw InputError("--input " + o.input + ": cannot read the file");
  OutputFile out = o.output.empty() ? OutputFile::standard_output() : OutputFile(o.output);
  std::string line;
  for (std::size_t n = 1; std::getline(in, line); ++n) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::string where = fmt::format("{}:{}", o.input, n);
    ojson row;
    try {
      row = ojson::parse(line);
    } catch (const nlohmann::json::exception& e) {
      throw InputError(where + ": not JSON: " + e.what());
    }
    if (!row.is_object() || !row.contains("messages") || !row["messages"].is_array())
      throw InputError(where + ": needs \"messages\": [{\"role\": ..., \"content\": ...}, ...]");
    const ojson tools = row.contains("tools") ? row["tools"] : ojson();
    if (!tools.is_null() && !tools.is_array()) throw InputError(where + ": \"tools\" must be a list");
    const ojson kwargs = row.contains("kwargs") ? row["kwargs"] : ojson::object();
    if (!kwargs.is_object()) throw InputError(where + ": \"kwargs\" must be an object");
    bool generation = false;
    if (row.contains("add_generation_prompt")) {
      if (!row["add_generation_prompt"].is_boolean()) throw InputError(where + ": \"add_generation_prompt\" must be true or false");
      generation = row["add_generation_prompt"].get<bool>();
    }
    std::string text;
    try {
      text = chat->render(row["messages"], tools, generation, kwargs, render);
    } catch (const jinja::TemplateError& e) {
      throw InputError(where + ": " + e.what());
    }
    ojson result = {{"text", text}, {"ids", tokenizer->encode(text, /*add_special_tokens=*/false)}};
    out.write(result.dump(-1, ' ', false, ojson::error_handler_t::replace) + "\n");
  }
  out.close();
  return kExitOk;
}

}  // namespace

void add_template_command(CLI::App& app, Action& action) {
  auto* sub = app.add_subcommand(
      "template", "Render conversations with a model's chat template (JSONL in: messages, add_generation_prompt, "
                  "tools, kwargs; out: {\"text\", \"ids\"}), as transformers' apply_chat_template");
  auto o = std::make_shared<TemplateOptions>();
  sub->add_option("--model", o->model, "Model or tokenizer directory (tokenizer.json and tokenizer_config.json)")
      ->required();
  sub->add_option("--input,-i", o->input, "JSONL: one conversation per line")->required();
  sub->add_option("--output,-o", o->output, "Where to write the rendered lines (default stdout)");
  sub->add_option("--chat-template", o->chat_template, "A Jinja file to use instead of the model's template");
  sub->add_option("--date", o->date, "YYYY-MM-DD that strftime_now() reads as today (default: the clock)");
  sub->callback([&action, o] { action = [o] { return run_template(*o); }; });
}

}  // namespace r1::cli
