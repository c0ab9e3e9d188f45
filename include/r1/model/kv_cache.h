// Key/value cache for incremental decoding: allocated once per batch, filled by prefill, extended one token at a time.
#pragma once

#include <torch/torch.h>

#include <vector>

#include "r1/model/model_config.h"

namespace r1 {

// Storage for N rows and S slots per layer, used two ways:
// - prefill (forward_cached): all rows share the slot counter `length`; `valid` marks which
//   slots of a row hold a real token (prompts of different lengths are left-padded, so padding
//   slots stay invalid and are never attended to);
// - static-shape decoding (forward_step): each row has its own slot, kept on the device by the
//   caller; write_at stores one token per row there and storage views cover all S slots.
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

  // Static-shape decoding. where(slot) turns per-row slots ([R] int64, on the device) into the
  // [R * Hkv] positions write_at stores one token per row at (k, v: [R, Hkv, 1, D], the first R
  // storage rows): one index_copy_ per tensor, no sync; computed once per step for every layer.
  torch::Tensor where(const torch::Tensor& slot) const;
  void write_at(int64_t layer, const torch::Tensor& k, const torch::Tensor& v, const torch::Tensor& where);
  // The first `rows` storage rows over the first `slots` slots: [rows, Hkv, slots, D].
  torch::Tensor row_keys(int64_t layer, int64_t rows, int64_t slots) const;
  torch::Tensor row_values(int64_t layer, int64_t rows, int64_t slots) const;
  // Copies slots [0, len) of source rows `from` ([k] int64) into rows `to` ([k] int64) of this
  // cache (a prompt's prefill into the slots of its samples). Source may not alias this cache.
  void copy_rows_from(const KVCache& source, const torch::Tensor& from, const torch::Tensor& to, int64_t len);
  // Moves rows `from` ([k]) to rows [0, k) of the storage, every slot (compaction to fewer rows).
  void move_rows_to_front(const torch::Tensor& from);

 private:
  std::vector<torch::Tensor> keys_, values_;  // per layer [rows storage, Hkv, S, D]
  torch::Tensor valid_;                       // [rows storage, S] bool
  torch::Tensor next_position_;               // [rows storage] int64
  int64_t rows_ = 0, length_ = 0, capacity_ = 0;
};

}  // namespace r1
