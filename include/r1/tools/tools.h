// The tools a policy may call during its rollouts (`tools:`): where a call is in the model's text,
// running it (python in the sandbox, command programs over JSON lines), and the text that goes back.
#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "r1/core/config.h"
#include "r1/core/process.h"
#include "r1/tools/sandbox.h"

namespace r1 {

// A call found in the model's text: which tool, what it wrote between the markers, and where the
// call ends (just past the stop marker).
struct ToolCall {
  std::size_t tool = 0;  // index into ToolBox::tools()
  std::string text;
  std::size_t end = 0;
};

struct ToolRequest {
  std::string tool;               // the tool's name
  std::string call;               // what the model wrote between the start and stop markers
  std::string completion_so_far;  // command tools: the completion up to and including the call
  std::string prompt;
  nlohmann::json metadata = nlohmann::json::object();
};

struct ToolResult {
  std::string output;          // the answer as the model will read it (before output_template)
  int exit_code = 0;           // python: the program's exit status (-1: killed); command: 0
  bool timed_out = false;
  double seconds = 0;
  std::string error;           // what went wrong: "" when the tool ran and answered
  bool done = false;           // command tools: the environment says the episode is over
  std::optional<double> reward;  // command tools: a reward the environment gave
  nlohmann::json to_json(const std::string& tool) const;  // r1train tool's line
};

// The configured tools, with kind defaults filled in (start, stop, output template, interpreter).
// Python calls run in one Sandbox (built, and probed, when the first python tool is configured);
// each command tool is one program, started on its first call. call() is thread-safe (one
// command program answers one call at a time).
class ToolBox {
 public:
  ToolBox(const std::vector<ToolConfig>& tools, const SandboxConfig& sandbox);
  ~ToolBox();

  const std::vector<ToolConfig>& tools() const { return tools_; }
  // The tool named `name`; InputError listing the configured names when none is.
  std::size_t index(const std::string& name) const;
  // The earliest complete call in `text` (a start marker, later its stop marker), if any.
  std::optional<ToolCall> find_call(const std::string& text) const;
  ToolResult call(const ToolRequest& request);
  // What the model reads of a result: its output, or "Error: ..." when it gave none.
  static std::string answer(const ToolResult& result);
  // The text appended to the completion after a call: the tool's output_template around answer().
  std::string render(std::size_t tool, const ToolResult& result) const;
  // What the sandbox guarantees, for the start-up log (empty without python tools).
  std::vector<std::string> guarantees() const;

 private:
  ToolResult run_python(const ToolConfig& tool, const ToolRequest& request) const;
  ToolResult run_command(std::size_t index, const ToolRequest& request);

  std::vector<ToolConfig> tools_;
  std::unique_ptr<Sandbox> sandbox_;
  struct Program {
    std::unique_ptr<LineProcess> process;
    std::mutex mutex;
  };
  std::vector<std::unique_ptr<Program>> programs_;  // per tool; null for python tools
};

}  // namespace r1
