// The documentation: every relative link in README.md and docs/*.md names a file or folder that
// exists, the README stays the front door (short, the two commands, a link to every page), and the
// generated references match the binary.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "r1/core/config.h"
#include "test_util.h"

namespace r1 {
namespace {

namespace fs = std::filesystem;

// README.md, then every docs/*.md in name order, relative to the repository root.
std::vector<fs::path> doc_pages() {
  const auto root = test::source_dir();
  std::vector<fs::path> docs;
  for (const auto& entry : fs::directory_iterator(root / "docs"))
    if (entry.is_regular_file() && entry.path().extension() == ".md") docs.push_back(fs::relative(entry.path(), root));
  std::sort(docs.begin(), docs.end());
  std::vector<fs::path> pages = {fs::path("README.md")};
  pages.insert(pages.end(), docs.begin(), docs.end());
  return pages;
}

std::vector<std::string> lines_of(const fs::path& file) {
  std::ifstream in(file);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// A link or image target `](target)` or `](target "title")` that is not a web address or a pure
// `#anchor` names a path relative to the page's folder; a `#fragment` after it is not checked.
TEST(Docs, EveryRelativeLinkResolves) {
  const auto root = test::source_dir();
  static const std::regex link(R"re(\]\(([^)\s]+)(\s+"[^"]*")?\))re");
  static const std::regex web(R"(^(https?:|mailto:))");
  std::string broken;
  int checked = 0;
  for (const auto& page : doc_pages()) {
    const auto lines = lines_of(root / page);
    for (std::size_t n = 0; n < lines.size(); ++n) {
      for (std::sregex_iterator it(lines[n].begin(), lines[n].end(), link), end; it != end; ++it) {
        const std::string target = (*it)[1].str();
        if (target.starts_with('#') || std::regex_search(target, web)) continue;
        const std::string path = target.substr(0, target.find('#'));
        ++checked;
        if (!fs::exists(root / page.parent_path() / path))
          broken += "\n  " + page.generic_string() + ":" + std::to_string(n + 1) + ": " + target;
      }
    }
  }
  EXPECT_TRUE(broken.empty()) << "links to paths that do not exist (relative to the page's folder):" << broken;
  EXPECT_GT(checked, 20) << "too few relative links found: is the link pattern still right?";
}

// README.md is at most 250 lines, holds the two commands verbatim and links every page of docs/.
TEST(Docs, ReadmeIsTheFrontDoor) {
  const auto root = test::source_dir();
  const auto lines = lines_of(root / "README.md");
  EXPECT_LE(lines.size(), 250u) << "README.md has " << lines.size() << " lines; move the detail to a page in docs/";
  std::ostringstream joined;
  for (const auto& line : lines) joined << line << '\n';
  const std::string text = joined.str();
  const std::vector<std::string> commands = {"scripts/setup.sh && build/r1train --config configs/demo.yaml",
                                             "scripts/test.sh"};
  for (const auto& command : commands)
    EXPECT_NE(text.find(command), std::string::npos) << "README.md lacks the command `" << command << "`";
  for (const auto& page : doc_pages()) {
    if (page.generic_string() == "README.md") continue;
    EXPECT_NE(text.find("](" + page.generic_string()), std::string::npos) << "README.md does not link " << page;
  }
}

// The generated part of a page: the lines between its BEGIN and END markers.
std::string generated_part(const fs::path& page, const std::string& topic) {
  const std::string begin = "<!-- BEGIN generated: r1train validate --reference " + topic + " -->";
  const std::string end = "<!-- END generated -->";
  std::string out;
  bool inside = false, found = false;
  for (const auto& line : lines_of(page)) {
    if (line == begin) {
      inside = found = true;
    } else if (inside && line == end) {
      inside = false;
    } else if (inside) {
      out += line + "\n";
    }
  }
  EXPECT_TRUE(found && !inside) << page << " lacks the markers " << begin << " ... " << end;
  return out;
}

// docs/configuration.md and docs/commands.md hold what the binary prints from the config's field
// list and from the command line: a key or flag added, removed or given another default without
// the page regenerated (scripts/gen_docs.sh) fails here. Every key has a meaning.
TEST(Docs, GeneratedReferencesMatchTheBinary) {
  const auto root = test::source_dir();
  for (const std::string topic : {"configuration", "commands"}) {
    auto printed = test::run_r1train("validate --reference " + topic);
    ASSERT_EQ(printed.exit_code, 0) << printed.output;
    EXPECT_EQ(generated_part(root / "docs" / (topic + ".md"), topic), printed.output)
        << "docs/" << topic << ".md is stale: run scripts/gen_docs.sh";
  }
  const std::string reference = test::run_r1train("validate --reference configuration").output;
  for (std::string key : config_keys()) {
    if (auto at = key.find("[]"); at != std::string::npos) key.erase(at, 2);  // rewards[].name -> rewards.name
    const auto row = reference.find("| `" + key + "` |");
    ASSERT_NE(row, std::string::npos) << key << " is not in the reference";
    const std::string line = reference.substr(row, reference.find('\n', row) - row);
    EXPECT_FALSE(line.ends_with("|  |")) << key << " has no meaning: give it one in visit() (src/core/config.cpp)";
  }
}

}  // namespace
}  // namespace r1
