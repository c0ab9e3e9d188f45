// Safetensors files: memory-mapped, validated reading (single files and sharded sets) and writing.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace r1 {

// One tensor's entry in a safetensors header.
struct SafetensorsEntry {
  std::string name;
  std::string dtype;           // "F32", "BF16", "F16", "F64", "I64", "I32", "I16", "I8", "U8", "BOOL"
  std::vector<int64_t> shape;  // empty for a scalar
  uint64_t begin = 0;          // byte offsets into the data section (after the header)
  uint64_t end = 0;
};

// A read-only memory mapping of a whole file; unmapped when the last owner goes away.
struct MappedFile;

// One .safetensors file, memory-mapped and validated when opened: every problem (truncated
// file, header length past EOF, malformed JSON, unknown dtype, offsets out of range or
// overlapping, byte size not matching the shape) is an InputError naming the file.
class SafetensorsFile {
 public:
  static SafetensorsFile open(const std::filesystem::path& path);

  const std::filesystem::path& path() const { return path_; }
  const std::vector<SafetensorsEntry>& entries() const { return entries_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  const SafetensorsEntry* find(const std::string& name) const;

  // The tensor's bytes as a CPU tensor of its stored dtype, viewing the mapping (no copy).
  // The view keeps the mapping alive.
  torch::Tensor view(const SafetensorsEntry& entry) const;

  // Tells the kernel the mapped pages of `entry` are no longer needed (drops them from RSS).
  void release(const SafetensorsEntry& entry) const;

 private:
  std::filesystem::path path_;
  std::shared_ptr<MappedFile> map_;
  uint64_t data_offset_ = 0;
  std::vector<SafetensorsEntry> entries_;
  std::map<std::string, size_t> index_;
  std::map<std::string, std::string> metadata_;
};

// The weights of a model directory: model.safetensors, or the shards named by
// model.safetensors.index.json. A tensor name maps to exactly one file.
class SafetensorsSet {
 public:
  static SafetensorsSet open(const std::filesystem::path& dir);

  std::vector<std::string> names() const;  // sorted
  bool contains(const std::string& name) const { return where_.count(name) > 0; }
  const SafetensorsFile& file_of(const std::string& name) const;
  const SafetensorsEntry& entry(const std::string& name) const;
  uint64_t total_bytes() const;  // sum of tensor byte sizes
  const std::vector<SafetensorsFile>& files() const { return files_; }

 private:
  std::vector<SafetensorsFile> files_;
  std::map<std::string, size_t> where_;  // tensor name -> index into files_
};

// The safetensors dtype string of a torch dtype; InputError for one safetensors lacks.
std::string safetensors_dtype(torch::Dtype dtype);

// Writes tensors (contiguous copies are made as needed) with header metadata
// {"format": "pt"} plus `metadata`. Writes to a temporary name, then renames.
void write_safetensors(const std::filesystem::path& path,
                       const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

// Writes model.safetensors, or, when the tensors exceed `max_shard_bytes`, shards
// model-0000i-of-0000n.safetensors plus model.safetensors.index.json (weight_map, total_size).
void write_safetensors_sharded(const std::filesystem::path& dir,
                               const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                               uint64_t max_shard_bytes);

}  // namespace r1
