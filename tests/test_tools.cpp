// Tools: the sandbox against hostile code (each case: the run survives and reports it), python and
// command tools, finding calls in text, `r1train tool`.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "r1/core/config.h"
#include "r1/core/error.h"
#include "r1/generation/generate.h"
#include "r1/model/decoder.h"
#include "r1/rl/batch.h"
#include "r1/tools/tools.h"
#include "test_util.h"

namespace r1 {
namespace {

namespace fs = std::filesystem;
using test::TempDir;

// The sandbox's uid switch (and so its process limit) needs root: code that would take the machine
// down without it (a fork bomb) is not run elsewhere.
bool can_switch_uid() { return ::geteuid() == 0; }

SandboxConfig quick_sandbox() {
  SandboxConfig s;
  s.wall_seconds = 4;
  s.cpu_seconds = 2;
  s.memory_mb = 512;
  s.max_processes = 32;
  s.max_output_bytes = 4096;
  return s;
}

ToolBox python_box(const SandboxConfig& sandbox = quick_sandbox()) {
  return ToolBox({ToolConfig{.name = "python", .kind = ToolKind::Python}}, sandbox);
}

ToolResult run_python(ToolBox& box, const std::string& code) { return box.call({.tool = "python", .call = "\n" + code}); }

// Whether any process on this machine has `marker` in its command line.
bool process_with(const std::string& marker) {
  for (const auto& entry : fs::directory_iterator("/proc")) {
    const auto name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::string cmdline = test::read_file(entry.path() / "cmdline");
    for (char& c : cmdline)
      if (c == '\0') c = ' ';
    if (cmdline.find(marker) != std::string::npos) return true;
  }
  return false;
}

TEST(Sandbox, RunsCodeAndReturnsItsOutput) {
  auto box = python_box();
  auto r = run_python(box, "print(12345 * 6789)\n");
  EXPECT_EQ(r.output, "83810205");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_TRUE(r.error.empty()) << r.error;
  // An exception is the code's own failure: its traceback is the output, the exit status 1.
  auto e = run_python(box, "raise ValueError('nope')\n");
  EXPECT_EQ(e.exit_code, 1);
  EXPECT_NE(e.output.find("ValueError: nope"), std::string::npos) << e.output;
  EXPECT_FALSE(box.guarantees().empty());
}

TEST(Sandbox, ForkBombIsContained) {
  if (!can_switch_uid()) GTEST_SKIP() << "refused: a fork bomb needs the sandbox's own uid (r1train as root)";
  auto box = python_box();
  auto r = run_python(box, "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n");
  EXPECT_TRUE(r.timed_out || r.exit_code != 0) << r.to_json("python");
  EXPECT_LT(r.seconds, 10.0);
  EXPECT_FALSE(process_with("/tmp/work/main.py")) << "a forked copy outlived the call";
  EXPECT_EQ(run_python(box, "print('after')\n").output, "after");  // the machine still forks
}

TEST(Sandbox, MemoryHogGetsMemoryError) {
  auto box = python_box();
  auto r = run_python(box, "x = bytearray(2 * 1024 ** 3)\nprint('allocated')\n");
  EXPECT_NE(r.output.find("MemoryError"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("allocated"), std::string::npos);
}

TEST(Sandbox, InfiniteLoopStopsAtItsCpuLimit) {
  auto sandbox = quick_sandbox();
  sandbox.cpu_seconds = 1;
  sandbox.wall_seconds = 60;  // far off even on a loaded machine: the CPU limit must end it
  auto box = python_box(sandbox);
  auto r = run_python(box, "while True:\n    pass\n");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_FALSE(r.timed_out);
  EXPECT_NE(r.output.find("CPU time limit"), std::string::npos) << r.to_json("python");
}

TEST(Sandbox, SleeperAndWhatItLeftBehindAreKilledAtTheWallClock) {
  auto box = python_box();
  // A setsid child leaves the process group; the PID namespace still ends it.
  auto r = run_python(box, "import subprocess, time\nsubprocess.Popen(['setsid', 'sleep', '4321.5'])\n"
                           "print('started', flush=True)\ntime.sleep(100)\n");
  EXPECT_TRUE(r.timed_out);
  EXPECT_NE(r.output.find("started"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("TimeoutError"), std::string::npos) << r.output;
  EXPECT_LT(r.seconds, 8.0);
  EXPECT_FALSE(process_with("4321.5")) << "the setsid child outlived the call";
  // A background child of code that exits at once is ended too.
  auto quick = run_python(box, "import subprocess\nsubprocess.Popen(['setsid', 'sleep', '4322.5'])\nprint('bye')\n");
  EXPECT_EQ(quick.output, "bye");
  EXPECT_FALSE(process_with("4322.5")) << "a daemonised child outlived the call";
}

TEST(Sandbox, WritesOutsideItsDirectoryAreRefused) {
  TempDir dir;  // the host's /tmp: world-writable
  fs::permissions(dir.path, fs::perms::all);
  const auto target = dir.path / "pwned";
  auto box = python_box();
  auto r = run_python(box, "import os\nfor p in ['" + target.string() + "', '/var/tmp/r1-pwned', '" +
                               (test::source_dir() / "pwned").string() +
                               "']:\n    try:\n        open(p, 'w').write('x')\n        print('wrote', p)\n"
                               "    except OSError as e:\n        print('refused', e.errno)\n"
                               "open('mine.txt', 'w').write('ok')\nprint(open('mine.txt').read())\n");
  EXPECT_EQ(r.output.find("wrote"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("ok"), std::string::npos) << r.output;  // its own directory is writable
  EXPECT_FALSE(fs::exists(target));
  EXPECT_FALSE(fs::exists("/var/tmp/r1-pwned"));
  EXPECT_FALSE(fs::exists(test::source_dir() / "pwned"));
  // Each call starts in a fresh directory: the file is gone.
  EXPECT_EQ(run_python(box, "import os\nprint(sorted(os.listdir('.')))\n").output, "['main.py']");
}

TEST(Sandbox, EnvironmentIsScrubbed) {
  ::setenv("R1_TEST_SECRET", "hunter2", 1);
  auto box = python_box();
  auto r = run_python(box, "import os\nprint(sorted(os.environ))\nprint(open('/proc/1/environ').read())\n");
  ::unsetenv("R1_TEST_SECRET");
  EXPECT_EQ(r.output.find("hunter2"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("R1_TEST_SECRET"), std::string::npos) << r.output;
}

TEST(Sandbox, KillingItsParentOrEveryoneReachesNoOneOutside) {
  auto box = python_box();
  auto r = run_python(box, "import os, signal\nfor target in [os.getppid(), 1, -1]:\n    try:\n"
                           "        os.kill(target, signal.SIGKILL)\n    except OSError as e:\n"
                           "        print(target, 'refused', e.errno)\nprint('pid', os.getpid())\n");
  // kill(-1) reaches only what the code may signal in its own namespace; the trainer (this test)
  // lives on, and so does the code (kill(-1) spares the caller).
  EXPECT_NE(r.output.find("pid "), std::string::npos) << r.to_json("python");
  if (can_switch_uid()) {
    EXPECT_NE(r.output.find("1 refused 1"), std::string::npos) << r.output;  // EPERM: its init is root
  }
  EXPECT_EQ(run_python(box, "print('still here')\n").output, "still here");
}

TEST(Sandbox, HugeAndBinaryOutputIsCutAndMadeReadable) {
  auto sandbox = quick_sandbox();
  sandbox.wall_seconds = 60;
  auto box = python_box(sandbox);
  auto huge = run_python(box, "import sys\nwhile True:\n    sys.stdout.write('a' * 65536)\n");
  EXPECT_LE(huge.output.size(), 4096u + 64u);
  EXPECT_NE(huge.output.find("[output cut: too long]"), std::string::npos);
  EXPECT_FALSE(huge.timed_out);  // killed at the cap, not at the wall clock
  auto binary = run_python(box, "import sys\nsys.stdout.buffer.write(bytes(range(256)) * 4)\n");
  nlohmann::json parsed;
  EXPECT_NO_THROW(parsed = nlohmann::json::parse(binary.to_json("python").dump()));
  EXPECT_EQ(binary.output.find('\0'), std::string::npos);
  EXPECT_EQ(binary.output.find('\x1b'), std::string::npos);
}

TEST(Sandbox, NetworkIsDenied) {
  // A server on this machine's loopback: the code's loopback is another one, and down.
  int server = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(server, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(server, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(server, 1), 0);
  socklen_t len = sizeof addr;
  ::getsockname(server, reinterpret_cast<sockaddr*>(&addr), &len);
  const int port = ntohs(addr.sin_port);
  auto box = python_box();
  auto r = run_python(box, "import socket\ntry:\n    socket.create_connection(('127.0.0.1', " + std::to_string(port) +
                               "), timeout=1)\n    print('connected')\nexcept OSError as e:\n    print('refused', e)\n");
  ::close(server);
  EXPECT_EQ(r.output.find("connected"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("refused"), std::string::npos) << r.output;
}

TEST(Sandbox, ConcurrentCallsEachGetTheirOwnLimits) {
  auto box = python_box();
  std::vector<std::thread> threads;
  std::vector<std::string> outputs(4);
  for (int i = 0; i < 4; ++i)
    threads.emplace_back([&, i] { outputs[static_cast<std::size_t>(i)] = run_python(box, "import os\nprint(os.getuid())\n").output; });
  for (auto& t : threads) t.join();
  if (can_switch_uid()) {
    std::set<std::string> uids(outputs.begin(), outputs.end());
    EXPECT_EQ(uids.size(), 4u) << "two concurrent calls shared a uid (and so a process limit)";
  }
}

TEST(Tools, FindsTheEarliestCompleteCall) {
  ToolBox box({ToolConfig{.name = "calc", .kind = ToolKind::Command, .command = "/bin/cat"}}, SandboxConfig{});
  EXPECT_FALSE(box.find_call("<tool_call>{\"x\": 1}").has_value());  // not closed yet
  auto call = box.find_call("think <tool_call>{\"x\": 1}</tool_call> more <tool_call>2</tool_call>");
  ASSERT_TRUE(call.has_value());
  EXPECT_EQ(call->text, "{\"x\": 1}");
  EXPECT_EQ(call->end, std::string("think <tool_call>{\"x\": 1}</tool_call>").size());
  ToolResult r;
  r.output = "42";
  EXPECT_EQ(box.render(0, r), "42");
  auto py = python_box();
  EXPECT_EQ(py.render(0, r), "\n```output\n42\n```\n");  // ToRL's output block
  auto pc = py.find_call("Let me compute.\n```python\nprint(6*7)\n```");
  ASSERT_TRUE(pc.has_value());
  EXPECT_EQ(pc->text, "\nprint(6*7)\n");
}

TEST(Tools, CommandToolSpeaksJsonLines) {
  TempDir dir;
  auto env = dir.write("env.py",
                       "import json, sys\n"
                       "for line in sys.stdin:\n"
                       "    req = json.loads(line)\n"
                       "    if req['call'] == 'hang':\n"
                       "        import time; time.sleep(30)\n"
                       "    if req['call'] == 'junk':\n"
                       "        print('not json', flush=True); continue\n"
                       "    out = {'output': str(eval(req['call'], {})), 'done': req['call'] == '0', 'reward': 0.5}\n"
                       "    print(json.dumps(out), flush=True)\n");
  ToolBox box({ToolConfig{.name = "calc", .kind = ToolKind::Command, .command = "/usr/bin/python3 " + env.string(),
                          .timeout_s = 1.0}},
              SandboxConfig{});
  auto ok = box.call({.tool = "calc", .call = "6*7"});
  EXPECT_EQ(ok.output, "42");
  EXPECT_TRUE(ok.error.empty()) << ok.error;
  ASSERT_TRUE(ok.reward.has_value());
  EXPECT_EQ(*ok.reward, 0.5);
  EXPECT_FALSE(ok.done);
  EXPECT_TRUE(box.call({.tool = "calc", .call = "0"}).done);
  auto junk = box.call({.tool = "calc", .call = "junk"});
  EXPECT_NE(junk.error.find("not a JSON object"), std::string::npos) << junk.error;
  auto hang = box.call({.tool = "calc", .call = "hang"});
  EXPECT_TRUE(hang.timed_out);
  EXPECT_NE(hang.error.find("timeout_s"), std::string::npos) << hang.error;
  EXPECT_EQ(box.call({.tool = "calc", .call = "1+1"}).output, "2");  // restarted after the failure
  EXPECT_THROW(box.call({.tool = "nope", .call = "1"}), InputError);
}

TEST(Tools, ToolCommandRunsRecordedCalls) {
  TempDir dir;
  auto config = dir.write("tools.yaml", "tools:\n  - {name: python, kind: python}\nsandbox:\n  wall_seconds: 3\n");
  auto calls = dir.write("calls.jsonl", "{\"tool\": \"python\", \"call\": \"\\nprint(2**10)\\n\"}\n\n"
                                        "{\"tool\": \"python\", \"call\": \"\\nimport time\\ntime.sleep(60)\\n\"}\n");
  auto r = test::run_r1train("tool --config " + config.string() + " --input " + calls.string() + " --output " +
                             (dir.path / "out.jsonl").string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("sandbox: network: none"), std::string::npos) << r.output;  // the guarantees, logged
  auto rows = test::read_jsonl(dir.path / "out.jsonl");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0]["output"], "1024");
  EXPECT_EQ(rows[0]["exit_code"], 0);
  EXPECT_EQ(rows[1]["timed_out"], true);
  for (const char* key : {"tool", "output", "exit_code", "timed_out", "seconds", "error"}) EXPECT_TRUE(rows[1].contains(key)) << key;

  auto bad = dir.write("bad.jsonl", "{\"tool\": \"python\", \"call\": \"print(1)\"}\n{\"tool\": \"perl\", \"call\": \"1\"}\n");
  auto r2 = test::run_r1train("tool --config " + config.string() + " --input " + bad.string());
  EXPECT_EQ(r2.exit_code, 2) << r2.output;
  EXPECT_NE(r2.output.find("bad.jsonl:2: no tool named 'perl'; the config has: python"), std::string::npos) << r2.output;
  auto none = dir.write("none.yaml", "grpo:\n  beta: 0.0\n");
  auto r3 = test::run_r1train("tool --config " + none.string() + " --input " + calls.string());
  EXPECT_EQ(r3.exit_code, 2) << r3.output;
  EXPECT_NE(r3.output.find("tools: none configured"), std::string::npos) << r3.output;
}

TEST(Tools, ConfigChecksAndTheTrainingRefusal) {
  TempDir dir;
  dir.write("train.jsonl", "{\"prompt\": \"1+1\", \"answer\": \"2\"}\n");
  std::filesystem::create_directories(dir.path / "model");
  const std::string flags = " --set model.path=" + (dir.path / "model").string() + " --set data.train=" +
                            (dir.path / "train.jsonl").string();
  auto bad = dir.write("bad.yaml", "tools:\n  - {name: py, kind: python, command: python3}\n  - {name: py, kind: command}\n"
                                   "sandbox:\n  wall_seconds: 0\n");
  auto r = test::run_r1train("validate --config " + bad.string() + flags);
  EXPECT_EQ(r.exit_code, 2);
  for (const char* expected : {"tools[0].command: 'python3': the python tool's interpreter must be an absolute path",
                               "tools[1].name: 'py' names two tools", "tools[1].command: is empty",
                               "sandbox.wall_seconds: is 0; must be > 0"})
    EXPECT_NE(r.output.find(expected), std::string::npos) << expected << "\n" << r.output;
  auto typo = dir.write("typo.yaml", "tools:\n  - {name: py, kind: ruby}\nsandbox:\n  network: maybe\n");
  auto r2 = test::run_r1train("validate --config " + typo.string() + flags);
  EXPECT_EQ(r2.exit_code, 2);
  for (const char* expected : {"tools[0].kind: unknown value 'ruby'", "sandbox.network: unknown value 'maybe'"})
    EXPECT_NE(r2.output.find(expected), std::string::npos) << expected << "\n" << r2.output;
  auto good = dir.write("good.yaml", "tools:\n  - {name: python, kind: python}\nrollout:\n  max_turns: 2\n");
  auto t = test::run_r1train("validate --config " + good.string() + flags);
  EXPECT_EQ(t.exit_code, 0) << t.output;
  EXPECT_NE(t.output.find("max_turns: 2"), std::string::npos) << t.output;
}

// Multi-turn rollouts on a tiny model, with bracket text ("[12][7]") so that a call is simply a
// model token: start "[", stop "]" make every model token a call, and the tool answers with three
// tokens derived from it. Each completion is then: model token, 3 tool tokens, ... until the call
// past max_turns ends it.
std::string bracket_text(const std::vector<int>& ids) {
  std::string s;
  for (int id : ids) s += "[" + std::to_string(id) + "]";
  return s;
}

std::vector<int> bracket_ids(const std::string& text) {
  std::vector<int> ids;
  for (std::size_t at = text.find('['); at != std::string::npos; at = text.find('[', at + 1))
    ids.push_back(std::stoi(text.substr(at + 1)));
  return ids;
}

TEST(MultiTurn, ToolAnswersAreFedIntoTheSameRowAndLogProbsStayExact) {
  TempDir dir;
  auto env = dir.write("echo.py",
                       "import json, sys\n"
                       "for line in sys.stdin:\n"
                       "    k = int(json.loads(line)['call'])\n"
                       "    print(json.dumps({'output': '[%d][%d][%d]' % ((k * 7) % 97, k % 89, 5)}), flush=True)\n");
  ToolBox tools({ToolConfig{.name = "echo", .kind = ToolKind::Command, .command = "/usr/bin/python3 " + env.string(),
                            .start = "[", .stop = "]", .output_template = "{output}"}},
                SandboxConfig{});
  auto loaded = load_model(test::source_dir() / "tests/fixtures/models/qwen3_qknorm", torch::kFloat32, torch::kCPU);
  const std::vector<std::vector<int>> prompts = {{3, 4, 5, 6, 7, 8}, {100}, {250, 251, 252}};
  GenerateOptions o;
  o.group_size = 3;
  o.max_new_tokens = 12;
  o.sampling.temperature = 0.7;
  o.seed = 5;
  o.batch_size = 4;  // 9 completions through 4 slots: refills while rows wait for the tool
  o.tools = &tools;
  o.max_turns = 2;
  o.tool_workers = 2;
  o.encode = bracket_ids;
  const TextDecoder decode = bracket_text;
  auto completions = generate(loaded.model, decode, {}, prompts, o);
  ASSERT_EQ(completions.size(), 9u);
  torch::NoGradGuard no_grad;
  for (const auto& c : completions) {
    SCOPED_TRACE(::testing::Message() << "prompt " << c.prompt_index << " sample " << c.sample);
    // m t t t m t t t m: the third call is past max_turns.
    ASSERT_EQ(c.token_ids.size(), 9u);
    EXPECT_EQ(c.finish_reason, FinishReason::MaxTurns);
    EXPECT_EQ(c.from_tool, (std::vector<uint8_t>{0, 1, 1, 1, 0, 1, 1, 1, 0}));
    EXPECT_EQ(c.model_tokens(), 3);
    ASSERT_EQ(c.turns.size(), 2u);
    for (int turn = 0; turn < 2; ++turn) {
      const int k = c.token_ids[static_cast<std::size_t>(4 * turn)];  // the call: the model's token
      EXPECT_EQ(c.turns[static_cast<std::size_t>(turn)].call, std::to_string(k));
      EXPECT_EQ(c.turns[static_cast<std::size_t>(turn)].first_token, 4 * turn + 1);
      EXPECT_EQ(c.turns[static_cast<std::size_t>(turn)].tokens, 3);
      const std::vector<int> answer(c.token_ids.begin() + 4 * turn + 1, c.token_ids.begin() + 4 * turn + 4);
      EXPECT_EQ(answer, (std::vector<int>{(k * 7) % 97, k % 89, 5}));  // as answered, never re-encoded
    }
    // The log-probs recorded while sampling equal a teacher-forced forward over the whole
    // trajectory, tool tokens included, at every model token across turns.
    const auto& p = prompts[static_cast<std::size_t>(c.prompt_index)];
    std::vector<int64_t> seq(p.begin(), p.end());
    seq.insert(seq.end(), c.token_ids.begin(), c.token_ids.end());
    auto ids = torch::tensor(seq, torch::kInt64).unsqueeze(0);
    auto logp = torch::log_softmax(loaded.model->logits(ids, torch::ones_like(ids))[0] / 0.7, -1);  // [T, V]
    for (std::size_t i = 0; i < c.token_ids.size(); ++i) {
      if (c.tool_token(i)) {
        EXPECT_EQ(c.logprobs[i], 0.f);
        continue;
      }
      const float want = logp[static_cast<int64_t>(p.size() + i - 1)][c.token_ids[i]].item<float>();
      EXPECT_NEAR(c.logprobs[i], want, 1e-4) << "token " << i;
    }
  }

  // Training sees the model's tokens only: the completion mask is 0 on the tools' tokens.
  RolloutBatch batch;
  for (std::size_t g = 0; g < prompts.size(); ++g) {
    PromptGroup group;
    group.prompt_ids = prompts[g];
    for (const auto& c : completions)
      if (static_cast<std::size_t>(c.prompt_index) == g) group.samples.push_back({c, {}, 0, 0});
    batch.groups.push_back(std::move(group));
  }
  auto tb = make_training_batch(sample_refs(batch), 0, /*mask_truncated=*/false, torch::kCPU);
  const auto refs = sample_refs(batch);
  for (std::size_t i = 0; i < refs.size(); ++i)
    for (std::size_t j = 0; j < 9; ++j)
      EXPECT_EQ(tb.completion_mask[static_cast<int64_t>(i)][static_cast<int64_t>(j)].item<float>(),
                refs[i].sample->completion.tool_token(j) ? 0.f : 1.f);
  // And the ranks' exchange keeps turns and masks.
  auto back = rollout_from_json(rollout_to_json(batch));
  EXPECT_EQ(back.groups[1].samples[2].completion.from_tool, batch.groups[1].samples[2].completion.from_tool);
  EXPECT_EQ(back.groups[1].samples[2].completion.turns[1].call, batch.groups[1].samples[2].completion.turns[1].call);
}

// An answer that holds the stop string or a marker does not end the completion or make a call:
// only the model's own turn is looked at.
TEST(MultiTurn, StopStringsAndCallsAreLookedForInTheModelsTurnOnly) {
  TempDir dir;
  auto env = dir.write("stopper.py",
                       "import json, sys\n"
                       "for line in sys.stdin:\n"
                       "    print(json.dumps({'output': '[42][43]'}), flush=True)\n");
  // The call: a model token "[K]" (start "[", stop "]"); the answer spells "[42][43]", which holds
  // the stop string "[43]" and complete calls.
  ToolBox tools({ToolConfig{.name = "t", .kind = ToolKind::Command, .command = "/usr/bin/python3 " + env.string(),
                            .start = "[", .stop = "]", .output_template = "{output}"}},
                SandboxConfig{});
  auto loaded = load_model(test::source_dir() / "tests/fixtures/models/qwen3_qknorm", torch::kFloat32, torch::kCPU);
  GenerateOptions o;
  o.group_size = 2;
  o.max_new_tokens = 6;
  o.max_turns = 1;
  o.sampling.temperature = 0;
  o.stop = {"[43]"};
  o.tools = &tools;
  o.encode = bracket_ids;
  const TextDecoder decode = bracket_text;
  auto completions = generate(loaded.model, decode, {}, {{3, 4, 5}}, o);
  for (const auto& c : completions) {
    // m, 42, 43 (not a stop: the tool's), m (a call past max_turns, unless it is 43 itself: a stop).
    ASSERT_GE(c.token_ids.size(), 4u);
    EXPECT_EQ(c.token_ids[1], 42);
    EXPECT_EQ(c.token_ids[2], 43);
    EXPECT_EQ(c.token_ids.size(), 4u);
    EXPECT_EQ(c.finish_reason, c.token_ids[3] == 43 ? FinishReason::Stop : FinishReason::MaxTurns);
    // A last turn that stops without a call or an answer is void (SimpleTIR): out of the loss
    // when grpo.mask_void_turns is on; one that ends at a call is not.
    EXPECT_EQ(c.void_turn, c.finish_reason == FinishReason::Stop);
    EXPECT_EQ(counts_in_loss(c, false, /*mask_void_turns=*/true), !c.void_turn);
    EXPECT_TRUE(counts_in_loss(c, false, /*mask_void_turns=*/false));
  }
}

}  // namespace
}  // namespace r1

namespace r1 {
namespace {

// `generate --tools F`: the demo model always writes <answer>...</answer>; with that as the call, a
// tool answers and the model goes on, each line showing its turns and which tokens are the tool's.
TEST(MultiTurn, GenerateRunsTheToolsOfAConfig) {
  TempDir dir;
  auto env = dir.write("judge.py",
                       "import json, sys\n"
                       "for line in sys.stdin:\n"
                       "    print(json.dumps({'output': ' ok', 'done': True}), flush=True)\n");
  auto config = dir.write("tools.yaml", "tools:\n  - {name: judge, kind: command, command: /usr/bin/python3 " +
                                            env.string() + ", start: \"<answer>\", stop: \"</answer>\"}\n");
  auto r = test::run_r1train("generate --model " + (test::source_dir() / "data/demo-base").string() +
                             " --prompt 'Q: 117+614=?\n' --num-samples 4 --max-new-tokens 60 --seed 3 --tools " +
                             config.string() + " --output " + (dir.path / "out.jsonl").string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  int with_turn = 0;
  for (const auto& line : test::read_jsonl(dir.path / "out.jsonl")) {
    ASSERT_TRUE(line.contains("turns") && line.contains("from_tool"));
    EXPECT_EQ(line["from_tool"].size(), line["completion_ids"].size());
    if (line["turns"].empty()) continue;
    ++with_turn;
    EXPECT_EQ(line["finish_reason"], "stop");  // the tool said done once its answer was in
    EXPECT_NE(line["completion"].get<std::string>().find("</answer> ok"), std::string::npos) << line.dump();
  }
  EXPECT_GT(with_turn, 0);
}

// GRPO with a tool on the committed demo model: its scratchpad (<think>...</think>) is the call,
// a command tool answers; the run logs the tools' metrics and turns, and resumes exactly.
TEST(MultiTurn, TrainingWithAToolLogsTurnsAndResumesExactly) {
  TempDir dir;
  const auto root = test::source_dir();
  auto env = dir.write("checker.py",
                       "import json, sys\n"
                       "for line in sys.stdin:\n"
                       "    call = json.loads(line)['call']\n"
                       "    print(json.dumps({'output': ' (%d chars)' % len(call)}), flush=True)\n");
  std::string config = test::read_file(root / "configs/demo.yaml");
  config += "tools:\n  - {name: checker, kind: command, command: /usr/bin/python3 " + env.string() +
            ", start: \"<think>\", stop: \"</think>\"}\n";
  auto file = dir.write("demo-tools.yaml", config);
  auto train = [&](const fs::path& out, const std::string& extra) {
    return test::run_r1train("train --config " + file.string() + " --set model.path=" + (root / "data/demo-base").string() +
                             " --set data.train=" + (root / "data/demo-train.jsonl").string() +
                             " --set eval.every=0 --set train.steps=4 --set train.prompts_per_step=4"
                             " --set rollout.group_size=4 --set train.checkpoint_every=2 --set train.log_samples_every=1"
                             " --set train.output_dir=" + out.string() + " " + extra);
  };
  auto straight = train(dir.path / "straight", "");
  ASSERT_EQ(straight.exit_code, 0) << straight.output;
  EXPECT_NE(straight.output.find("tools: checker"), std::string::npos) << straight.output;
  auto metrics = test::read_jsonl(dir.path / "straight" / "metrics.jsonl");
  ASSERT_EQ(metrics.size(), 4u);
  double calls = 0;
  for (const auto& m : metrics) {
    for (const char* key : {"tools/calls_mean", "tools/error_rate", "tools/timeout_rate", "tools/seconds", "turns/mean",
                            "completions/mean_tool_tokens", "completions/mean_model_tokens"})
      EXPECT_TRUE(m.contains(key)) << key;
    calls += m["tools/calls_mean"].get<double>();
    EXPECT_EQ(m["tools/error_rate"], 0.0);
  }
  EXPECT_GT(calls, 0.0) << "the demo model thinks in <think> blocks: it should have called the tool";
  // samples.jsonl shows each turn: the call, the answer, where its tokens are.
  bool saw_turn = false;
  for (const auto& s : test::read_jsonl(dir.path / "straight" / "samples.jsonl")) {
    ASSERT_TRUE(s.contains("turns"));
    for (const auto& t : s["turns"]) {
      saw_turn = true;
      EXPECT_EQ(t["tool"], "checker");
      EXPECT_EQ(t["output"], " (" + std::to_string(t["call"].get<std::string>().size()) + " chars)");
      EXPECT_NE(s["completion"].get<std::string>().find(t["output"].get<std::string>()), std::string::npos);
    }
  }
  EXPECT_TRUE(saw_turn);
  // Exact resume with tools on: two steps, stop, two more = four straight.
  ASSERT_EQ(train(dir.path / "split", "--set train.steps=2").exit_code, 0);
  auto resumed = train(dir.path / "split", "--resume auto");
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  auto split = test::read_jsonl(dir.path / "split" / "metrics.jsonl");
  ASSERT_EQ(split.size(), 4u);
  for (std::size_t i = 0; i < 4; ++i) {
    auto a = metrics[i], b = split[i];
    for (auto* m : {&a, &b})
      for (auto it = m->begin(); it != m->end();) {
        const auto& k = it.key();
        const bool timing = k.rfind("timing/", 0) == 0 || k.rfind("throughput/", 0) == 0 || k.rfind("memory/", 0) == 0 ||
                            k == "tools/seconds";
        it = timing ? m->erase(it) : std::next(it);
      }
    EXPECT_EQ(a.dump(), b.dump()) << "step " << i + 1;
  }
}

}  // namespace
}  // namespace r1
