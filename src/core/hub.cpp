#include "r1/core/hub.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <vector>

#include "r1/core/error.h"
#include "r1/core/strings.h"

namespace r1 {

namespace fs = std::filesystem;

bool looks_like_hub_id(const std::string& value) {
  std::size_t slash = value.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 >= value.size()) return false;
  if (value.find('/', slash + 1) != std::string::npos) return false;
  if (value[0] == '.' || value[0] == '~' || value[slash + 1] == '.') return false;
  for (char c : value)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' || c == '/')) return false;
  return true;
}

namespace {

std::vector<fs::path> cache_dirs() {
  std::vector<fs::path> out;
  if (const char* c = std::getenv("HF_HUB_CACHE"); c && *c) out.emplace_back(c);
  if (const char* h = std::getenv("HF_HOME"); h && *h) out.push_back(fs::path(h) / "hub");
  const char* xdg = std::getenv("XDG_CACHE_HOME");
  if (xdg && *xdg) out.push_back(fs::path(xdg) / "huggingface/hub");
  if (const char* home = std::getenv("HOME"); home && *home) out.push_back(fs::path(home) / ".cache/huggingface/hub");
  return out;
}

bool is_commit(const std::string& s) {
  return s.size() == 40 && std::all_of(s.begin(), s.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); });
}

}  // namespace

std::string resolve_model_dir(const std::string& value, const std::string& revision) {
  if (value.empty() || fs::exists(value) || !looks_like_hub_id(value)) return value;
  std::string folder = "models--" + value.substr(0, value.find('/')) + "--" + value.substr(value.find('/') + 1);
  std::string searched;
  for (const auto& cache : cache_dirs()) {
    fs::path repo = cache / folder;
    searched += (searched.empty() ? "" : ", ") + repo.string();
    if (!fs::is_directory(repo)) continue;
    std::string commit = revision;
    if (!is_commit(revision)) {
      std::ifstream ref(repo / "refs" / revision);
      if (!ref || !std::getline(ref, commit)) {
        throw InputError(value + ": " + repo.string() + " has no refs/" + revision +
                         " (the revisions downloaded are in refs/); set model.revision, or download it: hf download " +
                         value + " --revision " + revision);
      }
      commit = trim(commit);
    }
    fs::path snapshot = repo / "snapshots" / commit;
    if (!fs::is_directory(snapshot))
      throw InputError(value + ": revision " + revision + " points at " + snapshot.string() +
                       ", which is missing (an interrupted download?); download it again: hf download " + value);
    return snapshot.string();
  }
  throw InputError(value + ": not a directory, and not in the local Hugging Face cache (searched " +
                   (searched.empty() ? std::string("nothing: HOME, HF_HOME and HF_HUB_CACHE are unset") : searched) +
                   "); nothing is downloaded: download it first with `hf download " + value +
                   "` (or huggingface-cli download), or give a directory");
}

}  // namespace r1
