// Key/value cache for incremental decoding: allocated once per batch, filled by prefill, extended one token at a time.
#pragma once

#include <torch/torch.h>

#include <vector>

#include "r1/model/model_config.h"

namespace r1 {

// Storage for N rows and S slots per layer. All rows share the slot counter `length`;
// `valid` marks which slots of a row hold a real token (prompts of different lengths are
// left-padded, so padding slots stay invalid and are never attended to).
class KVCache {
 public:
  KVCache() = default;
  KVCache(const TransformerConfig& config, int64_t rows, int64_t capacity, torch::TensorOptions options);

  int64_t rows() const { return rows_; }          // N: active rows (a prefix of the storage)
  int64_t length() const { return length_; }      // slots filled
  int64_t capacity() const { return capacity_; }  // S

  // Views of layer `layer` over the active rows and the first `slots` slots: [N, Hkv, slots, D].
  torch::Tensor keys(int64_t layer, int64_t slots) const;
  torch::Tensor values(int64_t layer, int64_t slots) const;
  torch::Tensor valid(int64_t slots) const;       // [N, slots] bool
  torch::Tensor next_position() const;            // [N] int64: RoPE position of each row's next token

  // Stores `t` new slots for layer `layer` (k, v: [N, Hkv, t, D]) at [length, length + t).
  void write(int64_t layer, const torch::Tensor& k, const torch::Tensor& v);
  // After every layer wrote: marks the t new slots valid per `mask` ([N, t], 1 = token)
  // and advances length and next positions.
  void advance(const torch::Tensor& mask);

  // Rebuilds the active rows in place as rows `index` ([N'] int64, N' <= storage rows) of
  // `source` (which may be this cache): gathering a prompt's prefill into its G sample rows,
  // or compacting away finished rows. Copies source's length slots.
  void gather_from(const KVCache& source, const torch::Tensor& index);

 private:
  std::vector<torch::Tensor> keys_, values_;  // per layer [rows storage, Hkv, S, D]
  torch::Tensor valid_;                       // [rows storage, S] bool
  torch::Tensor next_position_;               // [rows storage] int64
  int64_t rows_ = 0, length_ = 0, capacity_ = 0;
};

}  // namespace r1
