#include <memory>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "r1/cli/commands.h"
#include "r1/core/config.h"
#include "r1/core/error.h"
#include "r1/core/jsonl.h"
#include "r1/core/output_file.h"
#include "r1/tools/tools.h"

namespace r1::cli {

namespace {

struct ToolOptions {
  std::string config, input, output;
  std::vector<std::string> overrides;
};

// A recorded call's field: a string, or absent ("" then).
std::string text_field(const nlohmann::json& row, const char* key, const std::string& where) {
  if (!row.contains(key) || row[key].is_null()) return "";
  if (!row[key].is_string()) throw InputError(fmt::format("{}: \"{}\" must be a string", where, key));
  return row[key].get<std::string>();
}

int run_tool(const ToolOptions& o) {
  const Config config = load_config({o.config, o.overrides}, ConfigUse::Any);
  if (config.tools.empty())
    throw InputError(o.config + ": tools: none configured; add e.g. tools: [{name: python, kind: python}]");
  ToolBox tools(config.tools, config.sandbox);
  for (const auto& g : tools.guarantees()) spdlog::info("sandbox: {}", g);
  OutputFile out = o.output.empty() ? OutputFile::standard_output() : OutputFile(o.output);
  read_jsonl(o.input, {.role = "the calls file (--input)"}, [&](JsonlRow& line) {
    const nlohmann::json& row = line.value;
    const std::string& where = line.where;
    if (!row.contains("tool") || !row["tool"].is_string() || !row.contains("call"))
      throw InputError(where + ": needs {\"tool\": NAME, \"call\": TEXT}");
    ToolRequest request;
    request.tool = row["tool"].get<std::string>();
    request.call = text_field(row, "call", where);
    request.completion_so_far = text_field(row, "completion_so_far", where);
    request.prompt = text_field(row, "prompt", where);
    if (row.contains("metadata")) request.metadata = row["metadata"];
    try {
      tools.index(request.tool);
    } catch (const InputError& e) {
      throw InputError(where + ": " + e.what());
    }
    const ToolResult result = tools.call(request);
    out.write(result.to_json(request.tool).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
  });
  out.close();
  return kExitOk;
}

}  // namespace

void add_tool_command(CLI::App& app, Action& action) {
  auto* sub = app.add_subcommand(
      "tool", "Run the config's tools on recorded calls (JSONL in: {\"tool\", \"call\"}; out: {\"tool\", \"output\", "
              "\"exit_code\", \"timed_out\", \"seconds\", \"error\"}), python calls in the sandbox");
  auto o = std::make_shared<ToolOptions>();
  add_config_options(sub, o->config, o->overrides);
  sub->add_option("--input,-i", o->input, "JSONL: one call per line (what the model wrote between the markers)")
      ->required();
  sub->add_option("--output,-o", o->output, "Where to write the results (default stdout)");
  sub->callback([&action, o] { action = [o] { return run_tool(*o); }; });
}

}  // namespace r1::cli
