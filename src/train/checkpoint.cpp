#include "r1/train/checkpoint.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <vector>

#include "r1/core/error.h"

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
  write(tmp);
  for (const auto& entry : fs::recursive_directory_iterator(tmp)) {
    if (entry.is_regular_file()) fsync_path(entry.path(), false);
  }
  fsync_path(tmp, true);
  if (fs::exists(final_dir)) fs::remove_all(final_dir);
  fs::rename(tmp, final_dir);
  fsync_path(root, true);

  fs::path latest_tmp = root / ".latest.tmp";
  {
    std::ofstream out(latest_tmp, std::ios::trunc);
    out << checkpoint_name(step) << "\n";
  }
  fsync_path(latest_tmp, false);
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
  if (resume.from == "auto") return find_latest_checkpoint(run_dir);
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
                           const std::vector<std::string>& now, bool allow_config_change) {
  std::string list;
  for (const auto& line : now) {
    if (std::find(saved.begin(), saved.end(), line) == saved.end()) list += "\n  now " + line;
  }
  if (list.empty()) return;
  if (!allow_config_change) {
    throw InputError("cannot resume " + checkpoint.string() + ": settings that alter the run changed since it was saved:" +
                     list + "\nrestore them, start a new run directory, or pass --allow-config-change");
  }
  spdlog::warn("resuming with changed settings:{}", list);
}

}  // namespace r1
