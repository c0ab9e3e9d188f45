#include "r1/metrics.h"

#include <sstream>
#include <string>
#include <vector>

namespace r1 {

JsonlLog::JsonlLog(const std::filesystem::path& path, int64_t keep_through_step) : path_(path) {
  std::vector<std::string> kept;
  if (keep_through_step >= 0) {
    std::ifstream in(path);
    for (std::string line; std::getline(in, line);) {
      auto j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
      if (j.is_discarded()) continue;  // a line cut short by a crash
      if (j.contains("step") && j["step"].is_number() && j["step"].get<int64_t>() > keep_through_step) continue;
      kept.push_back(line);
    }
  }
  out_.open(path, std::ios::trunc);
  if (!out_) throw std::runtime_error("cannot write " + path.string());
  for (const auto& line : kept) out_ << line << "\n";
  out_.flush();
}

void JsonlLog::write(const nlohmann::json& record) {
  out_ << record.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  out_.flush();
}

}  // namespace r1
