#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "r1/core/error.h"
#include <spdlog/spdlog.h>
#include "factories.h"

extern char** environ;

namespace r1 {

namespace {

// Splits a command line into words: whitespace separates, '...' and "..." quote, backslash escapes.
std::vector<std::string> split_command(const std::string& line) {
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;
  char quote = 0;
  for (std::size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (quote) {
      if (c == quote) quote = 0;
      else if (c == '\\' && quote == '"' && i + 1 < line.size()) word += line[++i];
      else word += c;
    } else if (c == '\'' || c == '"') {
      quote = c;
      in_word = true;
    } else if (c == '\\' && i + 1 < line.size()) {
      word += line[++i];
      in_word = true;
    } else if (std::isspace(static_cast<unsigned char>(c))) {
      if (in_word) words.push_back(word);
      word.clear();
      in_word = false;
    } else {
      word += c;
      in_word = true;
    }
  }
  if (quote) throw InputError("command reward: unbalanced quote in command '" + line + "'");
  if (in_word) words.push_back(word);
  return words;
}

bool executable_file(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
}

// The program's path: as given when it holds a '/', else found on PATH; InputError when missing.
std::string resolve_program(const std::string& program, const std::string& command) {
  if (program.find('/') != std::string::npos) {
    if (!std::filesystem::exists(program))
      throw InputError("command reward: program '" + program + "' (from command '" + command + "') does not exist");
    if (!executable_file(program))
      throw InputError("command reward: program '" + program + "' is not an executable file; chmod +x it or " +
                       "run it through an interpreter, e.g. command: python3 " + program);
    return program;
  }
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/bin:/bin";
  std::size_t start = 0;
  while (start <= dirs.size()) {
    std::size_t end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    std::string dir = dirs.substr(start, end - start);
    std::string candidate = (dir.empty() ? std::string(".") : dir) + "/" + program;
    if (executable_file(candidate)) return candidate;
    start = end + 1;
  }
  throw InputError("command reward: program '" + program + "' (from command '" + command +
                   "') is not found on PATH; give its full path");
}

using Clock = std::chrono::steady_clock;

class CommandReward : public RewardFunction {
 public:
  explicit CommandReward(const RewardConfig& config) : config_(config) {
    argv_ = split_command(config.command);
    if (argv_.empty()) throw InputError("command reward: empty command; set command: PROGRAM [ARGS...]");
    program_ = resolve_program(argv_[0], config.command);
  }
  ~CommandReward() override { stop(); }
  CommandReward(const CommandReward&) = delete;
  CommandReward& operator=(const CommandReward&) = delete;

  std::string name() const override { return "command"; }
  int failures() const override { return failures_; }

  std::vector<double> score(const std::vector<RewardInput>& batch) override {
    std::vector<double> scores(batch.size(), config_.default_score);
    if (batch.empty()) return scores;
    if (pid_ <= 0) start();
    std::string input;
    for (const auto& in : batch) {
      nlohmann::json line = {{"prompt", in.prompt}, {"completion", in.completion}, {"answer", in.answer},
                             {"metadata", in.metadata.is_null() ? nlohmann::json::object() : in.metadata}};
      input += line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      input += '\n';
    }
    std::size_t written = 0;
    std::size_t received = 0;
    std::string buffer;
    auto deadline = Clock::now() + timeout();
    while (received < batch.size()) {
      pollfd fds[2] = {{out_fd_, POLLIN, 0}, {in_fd_, static_cast<short>(written < input.size() ? POLLOUT : 0), 0}};
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
      int ready = left > 0 ? ::poll(fds, written < input.size() ? 2 : 1, static_cast<int>(left)) : 0;
      if (ready < 0 && errno == EINTR) continue;
      if (ready <= 0) {
        fail_rest(scores, received, fmt::format("no score within timeout_s = {} s", config_.timeout_s));
        break;
      }
      if (written < input.size() && (fds[1].revents & (POLLOUT | POLLERR | POLLHUP))) {
        ssize_t n = ::send(in_fd_, input.data() + written, input.size() - written, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) written += static_cast<std::size_t>(n);
        else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
          fail_rest(scores, received, "the program stopped reading its input (" + exit_reason() + ")");
          break;
        }
      }
      if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
        char chunk[65536];
        ssize_t n = ::read(out_fd_, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
          fail_rest(scores, received, "the program exited before answering (" + exit_reason() + ")");
          break;
        }
        buffer.append(chunk, static_cast<std::size_t>(n));
        std::size_t nl;
        while (received < batch.size() && (nl = buffer.find('\n')) != std::string::npos) {
          std::string line = trim(std::string_view(buffer).substr(0, nl));
          buffer.erase(0, nl + 1);
          char* end = nullptr;
          double value = std::strtod(line.c_str(), &end);
          if (line.empty() || *end != '\0' || !std::isfinite(value)) {
            fail_one(scores, received, "answered '" + line.substr(0, 80) + "', not a number");
          } else {
            scores[received] = value;
          }
          ++received;
          deadline = Clock::now() + timeout();
        }
      }
    }
    return scores;
  }

 private:
  std::chrono::milliseconds timeout() const {
    return std::chrono::milliseconds(static_cast<long long>(std::ceil(config_.timeout_s * 1000)));
  }

  [[noreturn]] void raise(const std::string& what) {
    stop();
    throw std::runtime_error("command reward '" + config_.command + "': " + what +
                             "; fix the program, or set on_error: default to score such completions default_score");
  }

  void fail_one(std::vector<double>& scores, std::size_t i, const std::string& what) {
    if (config_.on_error != OnError::Default) raise(fmt::format("completion {} of the batch: {}", i, what));
    spdlog::warn("command reward '{}': completion {} of the batch: {}; scored {}", config_.command, i, what,
                 config_.default_score);
    scores[i] = config_.default_score;
    ++failures_;
  }

  // The program cannot answer the rest of the batch: stop it (restarted on the next batch).
  void fail_rest(std::vector<double>& scores, std::size_t from, const std::string& what) {
    if (config_.on_error != OnError::Default) raise(what);
    spdlog::warn("command reward '{}': {}; {} completions scored {}", config_.command, what, scores.size() - from,
                 config_.default_score);
    for (std::size_t i = from; i < scores.size(); ++i) scores[i] = config_.default_score;
    failures_ += static_cast<int>(scores.size() - from);
    stop();
  }

  std::string exit_reason() {
    if (pid_ <= 0) return "not running";
    int status = 0;
    pid_t r = 0;
    for (int i = 0; i < 50 && r != pid_; ++i) {  // the program closed its output: give it 0.5 s to end
      r = ::waitpid(pid_, &status, WNOHANG);
      if (r != pid_) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (r < 0) {  // already reaped (SIGCHLD ignored by the parent): the exit status is gone
      pid_ = -1;
      return "exit status unknown";
    }
    if (r != pid_) return "still running";
    pid_ = -1;
    if (WIFEXITED(status)) return "exit status " + std::to_string(WEXITSTATUS(status));
    if (WIFSIGNALED(status)) return std::string("killed by signal ") + strsignal(WTERMSIG(status));
    return "ended";
  }

  void start() {
    int sock[2];  // our end sends with MSG_NOSIGNAL: a dead program is an error, never a SIGPIPE
    int out[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sock) != 0 || ::pipe2(out, O_CLOEXEC) != 0)
      throw std::runtime_error(std::string("command reward: cannot create pipes: ") + std::strerror(errno));
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, sock[1], 0);
    posix_spawn_file_actions_adddup2(&actions, out[1], 1);
    std::vector<char*> args;
    for (auto& a : argv_) args.push_back(a.data());
    args.push_back(nullptr);
    pid_t pid = -1;
    int rc = posix_spawn(&pid, program_.c_str(), &actions, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(sock[1]);
    ::close(out[1]);
    if (rc != 0) {
      ::close(sock[0]);
      ::close(out[0]);
      throw std::runtime_error("command reward: cannot start '" + config_.command + "': " + std::strerror(rc));
    }
    pid_ = pid;
    in_fd_ = sock[0];
    out_fd_ = out[0];
  }

  void stop() {
    if (in_fd_ >= 0) ::close(in_fd_);
    if (out_fd_ >= 0) ::close(out_fd_);
    in_fd_ = out_fd_ = -1;
    if (pid_ <= 0) return;
    int status = 0;
    for (int i = 0; i < 20; ++i) {  // up to 0.2 s to exit on end of input
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }

  RewardConfig config_;
  std::vector<std::string> argv_;
  std::string program_;
  pid_t pid_ = -1;
  int in_fd_ = -1;   // the program's stdin
  int out_fd_ = -1;  // the program's stdout
  int failures_ = 0;
};

}  // namespace

std::unique_ptr<RewardFunction> make_command_reward(const RewardConfig& config) {
  return std::make_unique<CommandReward>(config);
}

}  // namespace r1
