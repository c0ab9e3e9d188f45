#include "r1/train/run_directory.h"

#include "r1/model/lora.h"

#include <spdlog/spdlog.h>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "r1/core/error.h"
#include "r1/core/output_file.h"

namespace r1 {

namespace fs = std::filesystem;

namespace {

const char* kind_of(ConfigUse use) { return use == ConfigUse::Sft ? "sft" : "grpo"; }
std::string output_dir_key(ConfigUse use) { return use == ConfigUse::Sft ? "sft.output_dir" : "train.output_dir"; }

// Takes DIR/.lock with flock(LOCK_EX | LOCK_NB): held until the process ends, however it ends (the
// kernel drops the lock with the file descriptor), so a crashed run never leaves a stale lock.
// Returns the descriptor; InputError naming the other run's pid and host when it is taken.
int lock_run_directory(const fs::path& dir, const std::string& key) {
  if (fs::exists(dir) && !fs::is_directory(dir))
    throw InputError(fmt::format("{} {}: is a file, not a directory; choose another {}", key, dir.string(), key));
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw InputError(fmt::format("{} {}: cannot create the run directory: {}", key, dir.string(), ec.message()));
  const fs::path path = dir / ".lock";
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) throw InputError(fmt::format("{}: cannot open the run lock: {}", path.string(), std::strerror(errno)));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    std::string holder(256, '\0');
    const ssize_t n = ::pread(fd, holder.data(), holder.size(), 0);
    holder.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
    ::close(fd);
    while (!holder.empty() && (holder.back() == '\n' || holder.back() == '\0')) holder.pop_back();
    throw InputError(fmt::format("{} {} is in use by another r1train run ({}); wait for it to end or stop it, or "
                                 "choose another {}",
                                 key, dir.string(), holder.empty() ? "its pid is not recorded" : holder, key));
  }
  char host[256] = {};
  ::gethostname(host, sizeof(host) - 1);
  const std::string holder = fmt::format("pid {} on host {}\n", ::getpid(), host);
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, holder.data(), holder.size(), 0) < 0)
    spdlog::warn("{}: could not record this run's pid in the lock", path.string());
  return fd;
}

}  // namespace

RunDirectory::RunDirectory(const Config& config, ConfigUse use, const ResumeOptions& resume, bool writer)
    : config_(config),
      use_(use),
      resume_(resume),
      dir_(use == ConfigUse::Sft ? config.sft.output_dir : config.train.output_dir),
      lock_fd_(writer ? lock_run_directory(dir_, output_dir_key(use)) : -1),
      checkpoint_(find_resume_checkpoint(dir_, resume, output_dir_key(use))),
      tokenizer_source_(model_source()) {}

RunDirectory::~RunDirectory() {
  if (lock_fd_ >= 0) ::close(lock_fd_);  // releases the lock
}

fs::path RunDirectory::model_source() const {
  // A LoRA checkpoint holds the adapter only: the weights load from the base.
  return checkpoint_ && !(use_ == ConfigUse::Train && config_.lora.r > 0) ? *checkpoint_ : fs::path(config_.model.path);
}

nlohmann::json RunDirectory::resume_state() const {
  const fs::path file = *checkpoint_ / "trainer_state.json";
  std::ifstream in(file);
  auto state = nlohmann::json::parse(in, nullptr, false);
  if (state.is_discarded() || !state.is_object()) throw InputError(file.string() + ": not a valid JSON object");
  // Checkpoints from before the kind was recorded: only SFT wrote one.
  const std::string kind = state.contains("kind") && state["kind"].is_string() ? state["kind"].get<std::string>()
                                                                              : "grpo";
  if (kind != kind_of(use_)) {
    throw InputError(fmt::format("{}: a {} checkpoint, not a {} one; resume it with r1train {}, or choose another {}",
                                 file.string(), kind, kind_of(use_), kind == "sft" ? "sft" : "train",
                                 output_dir_key(use_)));
  }
  if (!state.contains("run_config") || !state["run_config"].is_array())
    throw InputError(file.string() + ": 'run_config' is missing or not a list");
  std::vector<std::string> saved;
  for (const auto& line : state["run_config"])
    if (line.is_string()) saved.push_back(line.get<std::string>());
  check_resume_settings(*checkpoint_, saved, defining_lines(), resume_.allow_config_change,
                        run_defining_lines(Config{}, use_));
  return state;
}

void RunDirectory::open(int64_t resumed_step, const std::vector<std::string>& logs) {
  fs::create_directories(dir_);
  write_file(dir_ / "config.yaml", to_yaml(config_));
  log_file_ = std::make_unique<LogFile>(dir_ / "train.log");
  for (const auto& name : logs) logs_[name] = std::make_unique<JsonlLog>(dir_ / name, resumed_step);
}

JsonlLog& RunDirectory::log(const std::string& name) { return *logs_.at(name); }

fs::path RunDirectory::save(int64_t step, CausalLM& model, const TransformerConfig& arch, Optimizer& optimizer,
                            nlohmann::json state, CausalLM* reference) {
  const int keep_last = use_ == ConfigUse::Sft ? config_.sft.keep_last : config_.train.keep_last;
  state["kind"] = kind_of(use_);
  state["run_config"] = defining_lines();
  auto saved = save_checkpoint(dir_, step, keep_last, [&](const fs::path& tmp) {
    if (has_lora(model)) {
      // Adapter checkpoints: the adapter in PEFT's layout and the tokenizer; the base stays where
      // model.path says (and, with lora.save_merged, base + adapter folded into merged/).
      save_adapter(model, config_.lora, tmp, config_.model.path);
      copy_tokenizer_files(tokenizer_source_, tmp);
      if (config_.lora.save_merged) save_model_tensors(merged_tensors(model), arch, tmp / "merged", tokenizer_source_);
    } else {
      save_model(model, arch, tmp, tokenizer_source_);
    }
    if (reference) save_model(*reference, arch, tmp / "reference", tokenizer_source_);
    optimizer.save(tmp);
    write_file(tmp / "trainer_state.json", state.dump(2) + "\n");
  });
  // The next save copies the tokenizer from here: keep_last may delete the checkpoint resumed from.
  tokenizer_source_ = saved;
  return saved;
}

WriteError RunDirectory::with_last_checkpoint(const WriteError& e) const {
  const std::string what = e.what();
  if (what.find("last good checkpoint") != std::string::npos) return e;
  const auto last = find_latest_checkpoint(dir_);
  return WriteError(what + "; the last good checkpoint is " +
                    (last ? last->string() : std::string("none (no checkpoint was saved yet)")));
}

}  // namespace r1
