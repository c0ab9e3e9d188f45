// The repository as a whole: a clone anywhere works (no tracked file names a path of a developer's
// machine, every shipped recipe validates from a copy in an unrelated folder, only its model
// missing), and the code map follows the link graph.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <cctype>
#include <fstream>
#include <regex>
#include <sstream>
#include <string_view>

#include "test_util.h"

namespace r1 {
namespace {

namespace fs = std::filesystem;

// The repository's tracked files, relative to its root (git ls-files; a tree without .git, such as
// an unpacked archive, is walked instead, leaving out what .gitignore leaves out).
std::vector<fs::path> tracked_files() {
  const auto root = test::source_dir();
  std::vector<fs::path> files;
  auto listed = test::run_command(fmt::format("git -C '{}' ls-files", root.string()));
  if (listed.exit_code == 0 && fs::exists(root / ".git")) {
    std::istringstream in(listed.output);
    for (std::string line; std::getline(in, line);)
      if (!line.empty() && fs::is_regular_file(root / line)) files.emplace_back(line);
    return files;
  }
  for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator(); ++it) {
    const auto name = it->path().filename().string();
    if (it->is_directory() && (name.starts_with(".") || name.starts_with("build") || name == "runs" ||
                               name == "node_modules" || name == "__pycache__")) {
      it.disable_recursion_pending();
    } else if (it->is_regular_file()) {
      files.push_back(fs::relative(it->path(), root));
    }
  }
  return files;
}

// Folders that name a machine rather than the project: home and root directories, and the folder
// this checkout sits in (unless it is a system folder such as /tmp, where any script may write, or
// the root of a chroot that mounts the checkout at /r1train).
std::vector<std::string> machine_paths() {
  // Spelled in pieces, so that this file does not name them itself.
  std::vector<std::string> out = {std::string("..") + "/shared", std::string("/") + "root/", std::string("/") + "home/"};
  const auto parent = fs::weakly_canonical(test::source_dir()).parent_path().string();
  static const std::vector<std::string> system = {"/", "/tmp", "/var/tmp", "/usr", "/opt", "/srv", "/mnt", "/var"};
  if (std::find(system.begin(), system.end(), parent) == system.end()) out.push_back(parent + "/");
  return out;
}

// Tracked files that contain such a path on purpose, as test input, by name (none today).
const std::vector<std::string> kDeliberate = {};

TEST(FreshClone, NoTrackedFileNamesAMachinePath) {
  const auto root = test::source_dir();
  const auto files = tracked_files();
  ASSERT_GT(files.size(), 50u);
  const auto needles = machine_paths();
  std::string found;
  for (const auto& f : files) {
    if (std::find(kDeliberate.begin(), kDeliberate.end(), f.generic_string()) != kDeliberate.end()) continue;
    const auto text = test::read_file(root / f);
    if (text.find('\0') != std::string::npos) continue;  // binary (weights): no paths to read
    for (const auto& needle : needles) {
      // An absolute path starts a word: "/srv/x" is one, "docs/srv/x" is not.
      auto at = text.find(needle);
      while (at != std::string::npos && needle.front() == '/' && at > 0 &&
             (std::isalnum(static_cast<unsigned char>(text[at - 1])) || std::string_view("_.-/~").find(text[at - 1]) != std::string_view::npos))
        at = text.find(needle, at + 1);
      if (at == std::string::npos) continue;
      const auto line = 1 + std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(at), '\n');
      found += fmt::format("\n  {}:{}: names '{}'", f.generic_string(), line, needle);
    }
  }
  EXPECT_TRUE(found.empty()) << "tracked files name paths that exist on one machine only (read the benchmarks from "
                                "data/benchmarks/, other paths relative to the repository):"
                             << found;
}

// The build/r1train lines a recipe's header asks to run before it (generated data).
std::vector<std::string> header_commands(const fs::path& config) {
  std::vector<std::string> out;
  std::ifstream in(config);
  static const std::regex command(R"(^#\s+build/r1train (gen-data .*)$)");
  for (std::string line; std::getline(in, line) && line.starts_with("#");) {
    std::smatch m;
    if (std::regex_match(line, m, command)) out.push_back(m[1]);
  }
  return out;
}

// Each shipped recipe, validated with `r1train validate` from the root of a copy of the repository
// made in a fresh temporary folder (nothing beside it), after the commands its header names: the
// only problem allowed is model.path (the weights a user downloads), and the demo, whose model
// ships, is valid.
TEST(FreshClone, EveryShippedConfigValidatesFromACopyElsewhere) {
  test::TempDir dir;
  const auto copy = dir.path / "r1train";
  const auto root = test::source_dir();
  for (const auto& f : tracked_files()) {
    fs::create_directories((copy / f).parent_path());
    fs::copy_file(root / f, copy / f);
  }
  int checked = 0;
  for (const auto& entry : fs::directory_iterator(copy / "configs")) {
    if (entry.path().extension() != ".yaml") continue;
    const auto rel = fs::relative(entry.path(), copy).string();
    for (const auto& cmd : header_commands(entry.path())) {
      auto r = test::run_command(fmt::format("cd '{}' && '{}' {}", copy.string(), R1_BINARY, cmd));
      ASSERT_EQ(r.exit_code, 0) << rel << ": " << cmd << "\n" << r.output;
    }
    auto r = test::run_command(fmt::format("cd '{}' && '{}' validate --config {}", copy.string(), R1_BINARY, rel));
    if (r.exit_code == 0) {
      EXPECT_NE(r.output.find("valid; the resolved configuration follows"), std::string::npos) << r.output;
    } else {
      EXPECT_EQ(r.exit_code, 2) << rel << "\n" << r.output;
      EXPECT_NE(r.output.find(": 1 problem:"), std::string::npos) << rel << " has problems besides its model:\n"
                                                                   << r.output;
      EXPECT_NE(r.output.find("model.path"), std::string::npos) << rel << "\n" << r.output;
      EXPECT_NE(rel, "configs/demo.yaml") << "the demo's model ships in data/demo-base:\n" << r.output;
    }
    ++checked;
  }
  EXPECT_GE(checked, 7);
}

// scripts/check_layout.py: every #include "r1/FOLDER/..." is of a folder the including library
// links (CMakeLists.txt), and docs/development.md's code map lists exactly the linked folders.
TEST(Layout, IncludesFollowTheLinkGraphAndTheCodeMap) {
  auto r = test::run_command(fmt::format("python3 '{}' '{}'", (test::source_dir() / "scripts/check_layout.py").string(),
                                         test::source_dir().string()));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("rl: links dist, eval, train; includes agree"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace r1
