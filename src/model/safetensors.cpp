#include "r1/model/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>

#include "r1/core/error.h"
#include "r1/core/output_file.h"

namespace r1 {

namespace fs = std::filesystem;
using json = nlohmann::json;

struct MappedFile {
  void* data = nullptr;
  size_t size = 0;
  ~MappedFile() {
    if (data && size > 0) munmap(data, size);
  }
};

namespace {

constexpr uint64_t kMaxHeaderBytes = 100ull << 20;  // the format's own limit is 100 MB
constexpr int kMaxJsonDepth = 16;

struct DtypeInfo {
  const char* name;
  torch::Dtype dtype;
  uint64_t bytes;
};

const std::vector<DtypeInfo>& dtype_table() {
  static const std::vector<DtypeInfo> table = {
      {"F64", torch::kFloat64, 8}, {"F32", torch::kFloat32, 4}, {"F16", torch::kFloat16, 2},
      {"BF16", torch::kBFloat16, 2}, {"I64", torch::kInt64, 8}, {"I32", torch::kInt32, 4},
      {"I16", torch::kInt16, 2},   {"I8", torch::kInt8, 1},     {"U8", torch::kUInt8, 1},
      {"BOOL", torch::kBool, 1},
  };
  return table;
}

const DtypeInfo* find_dtype(const std::string& name) {
  for (const auto& d : dtype_table())
    if (name == d.name) return &d;
  return nullptr;
}

std::string known_dtypes() {
  std::string s;
  for (const auto& d : dtype_table()) s += (s.empty() ? "" : ", ") + std::string(d.name);
  return s;
}

std::shared_ptr<MappedFile> map_file(const fs::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw InputError(fmt::format("{}: cannot open: {}", path.string(), std::strerror(errno)));
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    throw InputError(fmt::format("{}: not a regular file", path.string()));
  }
  auto m = std::make_shared<MappedFile>();
  m->size = static_cast<size_t>(st.st_size);
  if (m->size > 0) {
    void* p = mmap(nullptr, m->size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      ::close(fd);
      throw InputError(fmt::format("{}: cannot memory-map: {}", path.string(), std::strerror(errno)));
    }
    m->data = p;
  }
  ::close(fd);
  return m;
}

// nlohmann's parser recurses; reject absurd nesting before parsing (a header is two levels deep).
bool nesting_too_deep(const char* p, size_t n) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < n; ++i) {
    char c = p[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (++depth > kMaxJsonDepth) return true;
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return false;
}

uint64_t checked_bytes(const SafetensorsEntry& e, uint64_t elem, const fs::path& path) {
  uint64_t n = elem;
  for (int64_t d : e.shape) {
    if (d < 0) throw InputError(fmt::format("{}: tensor '{}' has a negative dimension", path.string(), e.name));
    if (d != 0 && n > UINT64_MAX / static_cast<uint64_t>(d))
      throw InputError(fmt::format("{}: tensor '{}' shape overflows", path.string(), e.name));
    n *= static_cast<uint64_t>(d);
  }
  return n;
}

}  // namespace

SafetensorsFile SafetensorsFile::open(const fs::path& path) {
  SafetensorsFile f;
  f.path_ = path;
  f.map_ = map_file(path);
  const auto* bytes = static_cast<const unsigned char*>(f.map_->data);
  const uint64_t size = f.map_->size;
  const std::string where = path.string();
  if (size < 8)
    throw InputError(fmt::format("{}: truncated safetensors file ({} bytes; the 8-byte header length is missing)",
                                 where, size));
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | bytes[i];
  if (header_len > size - 8)
    throw InputError(fmt::format("{}: header length {} runs past the end of the file ({} bytes); the file is "
                                 "truncated or not safetensors",
                                 where, header_len, size));
  if (header_len > kMaxHeaderBytes)
    throw InputError(fmt::format("{}: header length {} exceeds the 100 MB limit", where, header_len));
  const char* header = reinterpret_cast<const char*>(bytes + 8);
  if (nesting_too_deep(header, header_len))
    throw InputError(fmt::format("{}: malformed header JSON (nested too deeply)", where));
  json j;
  try {
    j = json::parse(header, header + header_len);
  } catch (const json::exception& e) {
    throw InputError(fmt::format("{}: malformed header JSON: {}", where, e.what()));
  }
  if (!j.is_object()) throw InputError(fmt::format("{}: malformed header: expected a JSON object", where));
  f.data_offset_ = 8 + header_len;
  const uint64_t data_size = size - f.data_offset_;
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& name = it.key();
    const json& v = it.value();
    if (name == "__metadata__") {
      if (!v.is_object()) throw InputError(fmt::format("{}: __metadata__ must be an object of strings", where));
      for (auto m = v.begin(); m != v.end(); ++m) {
        if (!m.value().is_string())
          throw InputError(fmt::format("{}: __metadata__.{} must be a string", where, m.key()));
        f.metadata_[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    auto bad = [&](const std::string& what) {
      return InputError(fmt::format("{}: tensor '{}': {}", where, name, what));
    };
    if (!v.is_object()) throw bad("entry must be an object with dtype, shape, data_offsets");
    if (!v.contains("dtype") || !v["dtype"].is_string()) throw bad("missing or non-string dtype");
    if (!v.contains("shape") || !v["shape"].is_array()) throw bad("missing or non-array shape");
    if (!v.contains("data_offsets") || !v["data_offsets"].is_array() || v["data_offsets"].size() != 2)
      throw bad("data_offsets must be [begin, end]");
    SafetensorsEntry e;
    e.name = name;
    e.dtype = v["dtype"].get<std::string>();
    const DtypeInfo* info = find_dtype(e.dtype);
    if (!info) throw bad(fmt::format("unknown dtype '{}' (known: {})", e.dtype, known_dtypes()));
    for (const auto& d : v["shape"]) {
      if (!d.is_number_unsigned()) throw bad("shape entries must be non-negative integers");
      uint64_t u = d.get<uint64_t>();
      if (u > static_cast<uint64_t>(INT64_MAX)) throw bad("shape entry too large");
      e.shape.push_back(static_cast<int64_t>(u));
    }
    for (const auto& o : v["data_offsets"])
      if (!o.is_number_unsigned()) throw bad("data_offsets must be non-negative integers");
    e.begin = v["data_offsets"][0].get<uint64_t>();
    e.end = v["data_offsets"][1].get<uint64_t>();
    if (e.begin > e.end || e.end > data_size)
      throw bad(fmt::format("data_offsets [{}, {}] out of range (data section is {} bytes)", e.begin, e.end,
                            data_size));
    uint64_t expected = checked_bytes(e, info->bytes, path);
    if (e.end - e.begin != expected)
      throw bad(fmt::format("data_offsets span {} bytes but dtype {} and shape need {}", e.end - e.begin,
                            e.dtype, expected));
    f.entries_.push_back(std::move(e));
  }
  std::vector<const SafetensorsEntry*> by_offset;
  for (const auto& e : f.entries_) by_offset.push_back(&e);
  std::sort(by_offset.begin(), by_offset.end(),
            [](const auto* a, const auto* b) { return a->begin < b->begin; });
  for (size_t i = 1; i < by_offset.size(); ++i) {
    if (by_offset[i]->begin < by_offset[i - 1]->end)
      throw InputError(fmt::format("{}: tensors '{}' and '{}' overlap in the data section", where,
                                   by_offset[i - 1]->name, by_offset[i]->name));
  }
  for (size_t i = 0; i < f.entries_.size(); ++i) f.index_[f.entries_[i].name] = i;
  return f;
}

const SafetensorsEntry* SafetensorsFile::find(const std::string& name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &entries_[it->second];
}

torch::Tensor SafetensorsFile::view(const SafetensorsEntry& entry) const {
  const DtypeInfo* info = find_dtype(entry.dtype);
  auto* p = static_cast<char*>(map_->data) + data_offset_ + entry.begin;
  auto options = torch::TensorOptions().dtype(info->dtype);
  if (entry.end == entry.begin) return torch::empty(entry.shape, options);
  if (reinterpret_cast<uintptr_t>(p) % info->bytes != 0) {
    // Misaligned data: copy into an aligned tensor instead of viewing.
    auto t = torch::empty(entry.shape, options);
    std::memcpy(t.data_ptr(), p, entry.end - entry.begin);
    return t;
  }
  auto keep = map_;
  return torch::from_blob(p, entry.shape, [keep](void*) {}, options);
}

void SafetensorsFile::release(const SafetensorsEntry& entry) const {
  const uintptr_t page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  auto base = reinterpret_cast<uintptr_t>(map_->data);
  uintptr_t lo = base + data_offset_ + entry.begin;
  uintptr_t hi = base + data_offset_ + entry.end;
  lo = (lo + page - 1) / page * page;
  hi = hi / page * page;
  if (hi > lo) madvise(reinterpret_cast<void*>(lo), hi - lo, MADV_DONTNEED);
}

SafetensorsSet SafetensorsSet::open(const fs::path& dir) {
  SafetensorsSet set;
  const fs::path index = dir / "model.safetensors.index.json";
  const fs::path single = dir / "model.safetensors";
  std::vector<fs::path> shards;
  std::map<std::string, std::string> weight_map;
  if (fs::exists(index)) {
    json j;
    try {
      std::ifstream in(index);
      j = json::parse(in);
    } catch (const json::exception& e) {
      throw InputError(fmt::format("{}: malformed JSON: {}", index.string(), e.what()));
    }
    if (!j.is_object() || !j.contains("weight_map") || !j["weight_map"].is_object())
      throw InputError(fmt::format("{}: missing the \"weight_map\" object", index.string()));
    for (auto it = j["weight_map"].begin(); it != j["weight_map"].end(); ++it) {
      if (!it.value().is_string())
        throw InputError(fmt::format("{}: weight_map.{} must be a file name", index.string(), it.key()));
      std::string file = it.value().get<std::string>();
      if (file.find('/') != std::string::npos || file == "..")
        throw InputError(fmt::format("{}: weight_map.{} names '{}', which is not a file in the directory",
                                     index.string(), it.key(), file));
      weight_map[it.key()] = file;
      if (std::find(shards.begin(), shards.end(), dir / file) == shards.end()) shards.push_back(dir / file);
    }
  } else if (fs::exists(single)) {
    shards.push_back(single);
  } else {
    throw InputError(fmt::format("{}: no model weights (expected model.safetensors or "
                                 "model.safetensors.index.json)",
                                 dir.string()));
  }
  for (const auto& shard : shards) {
    if (!fs::exists(shard))
      throw InputError(fmt::format("{}: shard {} named by model.safetensors.index.json is missing", dir.string(),
                                   shard.filename().string()));
    set.files_.push_back(SafetensorsFile::open(shard));
    const size_t fi = set.files_.size() - 1;
    for (const auto& e : set.files_.back().entries()) {
      if (set.where_.count(e.name))
        throw InputError(fmt::format("{}: tensor '{}' appears in more than one shard", shard.string(), e.name));
      if (!weight_map.empty()) {
        auto it = weight_map.find(e.name);
        if (it == weight_map.end() || dir / it->second != shard) continue;
      }
      set.where_[e.name] = fi;
    }
  }
  for (const auto& [name, file] : weight_map) {
    if (!set.where_.count(name))
      throw InputError(fmt::format("{}: tensor '{}' is mapped to {} but that file does not contain it",
                                   index.string(), name, file));
  }
  return set;
}

std::vector<std::string> SafetensorsSet::names() const {
  std::vector<std::string> out;
  for (const auto& [name, _] : where_) out.push_back(name);
  return out;
}

const SafetensorsFile& SafetensorsSet::file_of(const std::string& name) const {
  auto it = where_.find(name);
  if (it == where_.end()) throw InputError(fmt::format("tensor '{}' is not in the model's weights", name));
  return files_[it->second];
}

const SafetensorsEntry& SafetensorsSet::entry(const std::string& name) const {
  return *file_of(name).find(name);
}

uint64_t SafetensorsSet::total_bytes() const {
  uint64_t total = 0;
  for (const auto& [name, fi] : where_) {
    const auto& e = *files_[fi].find(name);
    total += e.end - e.begin;
  }
  return total;
}

std::string safetensors_dtype(torch::Dtype dtype) {
  for (const auto& d : dtype_table())
    if (d.dtype == dtype) return d.name;
  throw InputError(fmt::format("dtype {} cannot be stored in safetensors", c10::toString(dtype)));
}

void write_safetensors(const fs::path& path, const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  json header = json::object();
  json meta = json::object();
  meta["format"] = "pt";
  for (const auto& [k, v] : metadata) meta[k] = v;
  header["__metadata__"] = meta;
  std::vector<torch::Tensor> data;
  uint64_t offset = 0;
  for (const auto& [name, t] : tensors) {
    auto c = t.detach().to(torch::kCPU).contiguous();
    uint64_t bytes = static_cast<uint64_t>(c.numel()) * c.element_size();
    header[name] = {{"dtype", safetensors_dtype(c.scalar_type())},
                    {"shape", c.sizes().vec()},
                    {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
    data.push_back(c);
  }
  std::string h = header.dump();
  h.append((8 - h.size() % 8) % 8, ' ');  // align the data section to 8 bytes
  const fs::path tmp = path.string() + ".tmp";
  {
    OutputFile out(tmp);
    uint64_t n = h.size();
    char len[8];
    for (int i = 0; i < 8; ++i) len[i] = static_cast<char>((n >> (8 * i)) & 0xff);
    out.write({len, 8});
    out.write(h);
    for (const auto& c : data)
      out.write({static_cast<const char*>(c.data_ptr()), static_cast<std::size_t>(c.numel() * c.element_size())});
    out.close();
  }
  fs::rename(tmp, path);
}

void write_safetensors_sharded(const fs::path& dir, const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                               uint64_t max_shard_bytes) {
  std::vector<std::vector<std::pair<std::string, torch::Tensor>>> shards(1);
  uint64_t current = 0, total = 0;
  for (const auto& item : tensors) {
    uint64_t bytes = static_cast<uint64_t>(item.second.numel()) * item.second.element_size();
    if (current > 0 && current + bytes > max_shard_bytes) {
      shards.emplace_back();
      current = 0;
    }
    shards.back().push_back(item);
    current += bytes;
    total += bytes;
  }
  if (shards.size() == 1) {
    write_safetensors(dir / "model.safetensors", tensors);
    return;
  }
  json weight_map = json::object();
  for (size_t i = 0; i < shards.size(); ++i) {
    std::string name = fmt::format("model-{:05d}-of-{:05d}.safetensors", i + 1, shards.size());
    write_safetensors(dir / name, shards[i]);
    for (const auto& [tname, _] : shards[i]) weight_map[tname] = name;
  }
  json index = {{"metadata", {{"total_size", total}}}, {"weight_map", weight_map}};
  write_file(dir / "model.safetensors.index.json", index.dump(2) + "\n");
}

}  // namespace r1
