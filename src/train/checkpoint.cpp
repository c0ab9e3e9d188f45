#include "r1/train/checkpoint.h"

#include <set>
#include <fcntl.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <fstream>
#include <set>
#include <nlohmann/json.hpp>
#include <vector>

#include "r1/core/error.h"
#include "r1/core/output_file.h"

namespace r1 {

namespace fs = std::filesystem;

namespace {

void fsync_path(const fs::path& p, bool directory) {
  int fd = ::open(p.c_str(), directory ? O_RDONLY | O_DIRECTORY : O_RDONLY);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

std::optional<int64_t> step_of(const fs::path& dir) {
  const std::string name = dir.filename().string();
  constexpr std::string_view prefix = "step-";
  if (name.size() <= prefix.size() || name.size() > prefix.size() + 18 || name.rfind(prefix, 0) != 0 ||
      name.find_first_not_of("0123456789", prefix.size()) != std::string::npos)
    return std::nullopt;
  return std::stoll(name.substr(prefix.size()));
}

}  // namespace

std::string checkpoint_name(int64_t step) { return fmt::format("step-{:06d}", step); }

bool is_complete_checkpoint(const fs::path& dir) {
  std::ifstream in(dir / "trainer_state.json");
  if (!in) return false;
  auto j = nlohmann::json::parse(in, nullptr, false);
  return !j.is_discarded() && j.contains("step");
}

fs::path save_checkpoint(const fs::path& run_dir, int64_t step, int keep_last,
                         const std::function<void(const fs::path&)>& write) {
  fs::path root = run_dir / "checkpoints";
  fs::create_directories(root);
  fs::path final_dir = root / checkpoint_name(step);
  fs::path tmp = root / (".tmp-" + checkpoint_name(step) + "-" + std::to_string(::getpid()));
  fs::remove_all(tmp);
  fs::create_directories(tmp);
  try {
    write(tmp);
    for (const auto& entry : fs::recursive_directory_iterator(tmp)) {
      if (entry.is_regular_file()) fsync_path(entry.path(), false);
    }
    fsync_path(tmp, true);
  } catch (const std::exception& e) {
    // Free the space the partial checkpoint took; the previous ones stay as they were.
    std::error_code ignored;
    fs::remove_all(tmp, ignored);
    const auto last = find_latest_checkpoint(run_dir);
    throw WriteError(fmt::format("writing checkpoint {} failed: {}; the last good checkpoint is {}",
                                 final_dir.string(), e.what(),
                                 last ? last->string() : std::string("none (no checkpoint was saved yet)")));
  }
  if (fs::exists(final_dir)) fs::remove_all(final_dir);
  fs::rename(tmp, final_dir);
  fsync_path(root, true);

  fs::path latest_tmp = root / ".latest.tmp";
  write_file(latest_tmp, checkpoint_name(step) + "\n", /*sync=*/true);
  fs::rename(latest_tmp, root / "latest");
  fsync_path(root, true);

  if (keep_last > 0) {
    std::vector<std::pair<int64_t, fs::path>> all;
    for (const auto& entry : fs::directory_iterator(root)) {
      if (auto s = step_of(entry.path()); s && entry.is_directory()) all.emplace_back(*s, entry.path());
    }
    std::sort(all.begin(), all.end());
    for (std::size_t i = 0; i + static_cast<std::size_t>(keep_last) < all.size(); ++i) {
      if (all[i].second != final_dir) fs::remove_all(all[i].second);
    }
  }
  // Leftovers of checkpoints interrupted by a crash.
  for (const auto& entry : fs::directory_iterator(root)) {
    std::string name = entry.path().filename().string();
    if (name.rfind(".tmp-", 0) == 0) fs::remove_all(entry.path());
  }
  return final_dir;
}

std::optional<fs::path> find_latest_checkpoint(const fs::path& run_dir) {
  fs::path root = run_dir / "checkpoints";
  if (!fs::is_directory(root)) return std::nullopt;
  std::ifstream latest(root / "latest");
  std::string name;
  if (latest && std::getline(latest, name) && !name.empty() && is_complete_checkpoint(root / name)) {
    return root / name;
  }
  std::optional<std::pair<int64_t, fs::path>> best;
  for (const auto& entry : fs::directory_iterator(root)) {
    auto s = step_of(entry.path());
    if (!s || !is_complete_checkpoint(entry.path())) continue;
    if (!best || *s > best->first) best = {*s, entry.path()};
  }
  if (!best) return std::nullopt;
  return best->second;
}

std::optional<fs::path> find_resume_checkpoint(const fs::path& run_dir, const ResumeOptions& resume,
                                               const std::string& output_dir_key) {
  if (resume.from == "auto") {
    auto found = find_latest_checkpoint(run_dir);
    // Say so when a newer checkpoint directory exists but cannot be used (its trainer_state.json is
    // missing, empty or cut short): the run goes back further than the user may expect.
    std::optional<std::pair<int64_t, fs::path>> newest;
    if (fs::is_directory(run_dir / "checkpoints")) {
      for (const auto& entry : fs::directory_iterator(run_dir / "checkpoints")) {
        auto s = step_of(entry.path());
        if (s && entry.is_directory() && (!newest || *s > newest->first)) newest = {*s, entry.path()};
      }
    }
    if (newest && (!found || newest->second != *found)) {
      spdlog::warn("checkpoint {} is unusable (its trainer_state.json is missing or not valid JSON); {}",
                   newest->second.string(),
                   found ? "resuming from " + found->string() + " instead" : std::string("starting afresh"));
    }
    return found;
  }
  if (resume.from == "none") {
    if (auto existing = find_latest_checkpoint(run_dir)) {
      throw InputError(output_dir_key + " " + run_dir.string() + " already holds a run (" + existing->string() +
                       "); continue it with --resume auto, or choose another " + output_dir_key);
    }
    return std::nullopt;
  }
  if (!is_complete_checkpoint(resume.from)) {
    throw InputError("--resume " + resume.from + ": not a complete checkpoint (no readable trainer_state.json)");
  }
  return fs::path(resume.from);
}

void check_resume_settings(const fs::path& checkpoint, const std::vector<std::string>& saved,
                           const std::vector<std::string>& now, bool allow_config_change,
                           const std::vector<std::string>& defaults) {
  auto key_of = [](const std::string& line) { return line.substr(0, line.find(": ")); };
  std::set<std::string> saved_keys;
  for (const auto& line : saved) saved_keys.insert(key_of(line));
  std::string list;
  for (const auto& line : now) {
    if (std::find(saved.begin(), saved.end(), line) != saved.end()) continue;
    const bool newer_key_at_default = !saved_keys.count(key_of(line)) &&
                                      std::find(defaults.begin(), defaults.end(), line) != defaults.end();
    if (!newer_key_at_default) list += "\n  now " + line;
  }
  if (list.empty()) return;
  if (!allow_config_change) {
    throw InputError("cannot resume " + checkpoint.string() + ": settings that alter the run changed since it was saved:" +
                     list + "\nrestore them, start a new run directory, or pass --allow-config-change");
  }
  spdlog::warn("resuming with changed settings:{}", list);
}

}  // namespace r1
