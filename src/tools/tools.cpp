#include "r1/tools/tools.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <signal.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <cmath>

#include "r1/core/error.h"
#include "r1/core/strings.h"
#include "r1/tokenizer/tokenizer.h"

namespace r1 {

namespace {

constexpr const char* kDefaultPython = "/usr/bin/python3";

// A kind's defaults for what the entry leaves empty.
ToolConfig with_defaults(ToolConfig t) {
  const bool python = t.kind == ToolKind::Python;
  if (t.start.empty()) t.start = python ? "```python" : "<tool_call>";
  if (t.stop.empty()) t.stop = python ? "```" : "</tool_call>";
  if (t.output_template.empty()) t.output_template = python ? "\n```output\n{output}\n```\n" : "{output}";
  if (python && t.command.empty()) t.command = kDefaultPython;
  return t;
}

// Text the model will read (and JSON can carry): valid UTF-8, no control characters but newline
// and tab (a binary dump becomes U+FFFD and '?'), trailing whitespace dropped.
std::string readable(const std::string& raw) {
  std::string text = make_valid_utf8(raw);
  for (char& c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 && c != '\n' && c != '\t') c = '?';
    if (u == 0x7f) c = '?';
  }
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.pop_back();
  return text;
}

}  // namespace

nlohmann::json ToolResult::to_json(const std::string& tool) const {
  nlohmann::json j = {{"tool", tool},           {"output", output}, {"exit_code", exit_code},
                      {"timed_out", timed_out}, {"seconds", std::round(seconds * 1000) / 1000},
                      {"error", error}};
  if (done) j["done"] = true;
  if (reward) j["reward"] = *reward;
  return j;
}

ToolBox::ToolBox(const std::vector<ToolConfig>& tools, const SandboxConfig& sandbox) {
  for (const auto& t : tools) tools_.push_back(with_defaults(t));
  bool python = false;
  for (const auto& t : tools_) {
    if (t.kind == ToolKind::Python) {
      python = true;
      if (::access(t.command.c_str(), X_OK) != 0)
        throw InputError(fmt::format("tools: '{}': the interpreter {} is not an executable file; install it (Debian: "
                                     "apt-get install python3) or set its command to one",
                                     t.name, t.command));
      programs_.emplace_back();
    } else {
      auto argv = split_command(t.command, "tool '" + t.name + "'");
      if (argv.empty()) throw InputError("tools: '" + t.name + "': empty command; set command: PROGRAM [ARGS...]");
      argv[0] = resolve_program(argv[0], t.command, "tool '" + t.name + "'");
      auto program = std::make_unique<Program>();
      program->process = std::make_unique<LineProcess>(std::move(argv), "tool '" + t.name + "'");
      programs_.push_back(std::move(program));
    }
  }
  if (python) sandbox_ = std::make_unique<Sandbox>(sandbox);
}

ToolBox::~ToolBox() = default;

std::size_t ToolBox::index(const std::string& name) const {
  std::vector<std::string> names;
  for (std::size_t i = 0; i < tools_.size(); ++i) {
    if (tools_[i].name == name) return i;
    names.push_back(tools_[i].name);
  }
  throw InputError(fmt::format("no tool named '{}'; the config has: {}", name,
                               names.empty() ? std::string("none (add a tools: list)") : fmt::format("{}", fmt::join(names, ", "))));
}

std::optional<ToolCall> ToolBox::find_call(const std::string& text) const {
  std::optional<ToolCall> best;
  for (std::size_t i = 0; i < tools_.size(); ++i) {
    const auto& t = tools_[i];
    const auto open = text.find(t.start);
    if (open == std::string::npos) continue;
    const auto body = open + t.start.size();
    const auto close = text.find(t.stop, body);
    if (close == std::string::npos) continue;
    const std::size_t end = close + t.stop.size();
    if (best && best->end <= end) continue;
    std::string call = text.substr(body, close - body);
    best = ToolCall{i, std::move(call), end};
  }
  return best;
}

ToolResult ToolBox::call(const ToolRequest& request) {
  const std::size_t i = index(request.tool);
  return tools_[i].kind == ToolKind::Python ? run_python(tools_[i], request) : run_command(i, request);
}

ToolResult ToolBox::run_python(const ToolConfig& tool, const ToolRequest& request) const {
  std::string code = request.call;
  if (!code.empty() && code.front() == '\n') code.erase(0, 1);  // "```python\n...": the fence's own line end
  SandboxResult r = sandbox_->run({{tool.command, "-I", "main.py"}, {{"main.py", code}}});
  ToolResult out;
  out.output = readable(r.output);
  out.exit_code = r.exit_code;
  out.timed_out = r.timed_out;
  out.seconds = r.seconds;
  out.error = r.error;
  // What the model reads about an end it did not see coming.
  std::string note;
  if (r.timed_out) note = "TimeoutError: the code ran past its time limit and was stopped";
  else if (r.output_truncated) note = "[output cut: too long]";
  else if (r.signal == SIGXCPU) note = "[killed: CPU time limit]";
  else if (r.signal != 0) note = fmt::format("[killed by signal {}]", r.signal);
  else if (!r.error.empty()) note = "Error: " + r.error;
  if (!note.empty()) out.output += (out.output.empty() ? "" : "\n") + note;
  return out;
}

ToolResult ToolBox::run_command(std::size_t index, const ToolRequest& request) {
  const ToolConfig& tool = tools_[index];
  Program& program = *programs_[index];
  std::lock_guard<std::mutex> lock(program.mutex);
  nlohmann::json line = {{"tool", request.tool},
                         {"call", request.call},
                         {"completion_so_far", request.completion_so_far},
                         {"prompt", request.prompt},
                         {"metadata", request.metadata.is_null() ? nlohmann::json::object() : request.metadata}};
  const std::string input = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  ToolResult out;
  const auto start = std::chrono::steady_clock::now();
  std::string answer;
  const auto end = program.process->exchange(
      input, 1, std::chrono::milliseconds(static_cast<long long>(std::ceil(tool.timeout_s * 1000))),
      [&](std::string text) { answer = std::move(text); });
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  auto fail = [&](const std::string& why) {
    out.error = why;
    out.exit_code = -1;
    program.process->stop();  // restarted on the next call
    return out;
  };
  switch (end) {
    case ExchangeEnd::Answered: break;
    case ExchangeEnd::Timeout:
      out.timed_out = true;
      return fail(fmt::format("no answer within timeout_s = {} s", tool.timeout_s));
    case ExchangeEnd::StoppedReading:
      return fail("the program stopped reading its input (" + program.process->exit_reason() + ")");
    case ExchangeEnd::Exited:
      return fail("the program exited before answering (" + program.process->exit_reason() + ")");
  }
  nlohmann::json reply;
  try {
    reply = nlohmann::json::parse(answer);
  } catch (const nlohmann::json::exception&) {
    return fail("answered '" + readable(answer.substr(0, 80)) + "', not a JSON object {\"output\": ...}");
  }
  if (!reply.is_object() || !reply.contains("output") || !reply["output"].is_string())
    return fail("answered '" + readable(answer.substr(0, 80)) + "': no \"output\" string");
  out.output = readable(reply["output"].get<std::string>());
  if (reply.contains("done")) {
    if (!reply["done"].is_boolean()) return fail("answered a \"done\" that is not true or false");
    out.done = reply["done"].get<bool>();
  }
  if (reply.contains("reward") && !reply["reward"].is_null()) {
    if (!reply["reward"].is_number() || !std::isfinite(reply["reward"].get<double>()))
      return fail("answered a \"reward\" that is not a finite number");
    out.reward = reply["reward"].get<double>();
  }
  return out;
}

std::string ToolBox::answer(const ToolResult& result) {
  return result.error.empty() || !result.output.empty() ? result.output : "Error: " + result.error;
}

std::string ToolBox::render(std::size_t tool, const ToolResult& result) const {
  const std::string& tmpl = tools_[tool].output_template;
  const std::string output = answer(result);
  std::string text;
  std::size_t from = 0;
  for (std::size_t at; (at = tmpl.find("{output}", from)) != std::string::npos; from = at + 8) text += tmpl.substr(from, at - from) + output;
  return text + tmpl.substr(from);
}

std::vector<std::string> ToolBox::guarantees() const { return sandbox_ ? sandbox_->guarantees() : std::vector<std::string>{}; }

}  // namespace r1
