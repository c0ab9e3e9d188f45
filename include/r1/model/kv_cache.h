// Key/value caches for incremental decoding, allocated once: PrefillCache for forward_cached
// (prompts, rows sharing one slot counter) and SlotCache for forward_step (the rollout engine's
// static-shape decode step, one slot per row kept by the caller). A prompt's prefill is copied
// into the slots of its samples (SlotCache::copy_rows_from).
#pragma once

#include <torch/torch.h>

#include <vector>

#include "r1/model/model_config.h"

namespace r1 {

// The per-layer storage both caches hold: K and V of [rows, Hkv, S, D] for every layer.
class KVStorage {
 public:
  int64_t capacity() const { return capacity_; }  // S
  // Layer `layer`'s whole storage [rows, Hkv, S, D].
  const torch::Tensor& stored_keys(int64_t layer) const { return keys_[static_cast<std::size_t>(layer)]; }
  const torch::Tensor& stored_values(int64_t layer) const { return values_[static_cast<std::size_t>(layer)]; }

 protected:
  KVStorage() = default;
  KVStorage(const TransformerConfig& config, int64_t rows, int64_t capacity, torch::TensorOptions options);

  std::vector<torch::Tensor> keys_, values_;  // per layer [rows, Hkv, S, D]
  int64_t capacity_ = 0;
};

// Prefill (forward_cached): N rows share the slot counter `length`; `valid` marks which slots of a
// row hold a real token (prompts of different lengths are left-padded, so padding slots stay
// invalid and are never attended to).
class PrefillCache : public KVStorage {
 public:
  PrefillCache() = default;
  PrefillCache(const TransformerConfig& config, int64_t rows, int64_t capacity, torch::TensorOptions options);

  int64_t rows() const { return rows_; }      // N
  int64_t length() const { return length_; }  // slots filled

  // Views of layer `layer` over the first `slots` slots: [N, Hkv, slots, D].
  torch::Tensor keys(int64_t layer, int64_t slots) const;
  torch::Tensor values(int64_t layer, int64_t slots) const;
  torch::Tensor valid(int64_t slots) const;  // [N, slots] bool
  torch::Tensor next_position() const;       // [N] int64: RoPE position of each row's next token

  // Stores `t` new slots for layer `layer` (k, v: [N, Hkv, t, D]) at [length, length + t).
  void write(int64_t layer, const torch::Tensor& k, const torch::Tensor& v);
  // After every layer wrote: marks the t new slots valid per `mask` ([N, t], 1 = token)
  // and advances length and next positions.
  void advance(const torch::Tensor& mask);

 private:
  torch::Tensor valid_;          // [N, S] bool
  torch::Tensor next_position_;  // [N] int64
  int64_t rows_ = 0, length_ = 0;
};

// Static-shape decoding (forward_step): each row has its own slot, kept on the device by the
// caller; write_at stores one token per row there, and the views cover the first rows and slots.
class SlotCache : public KVStorage {
 public:
  SlotCache() = default;
  SlotCache(const TransformerConfig& config, int64_t rows, int64_t capacity, torch::TensorOptions options);

  // where(slot) turns per-row slots ([R] int64, on the device) into the [R * Hkv] positions
  // write_at stores one token per row at (k, v: [R, Hkv, 1, D], the first R rows): one
  // index_copy_ per tensor, no sync; computed once per step for every layer.
  torch::Tensor where(const torch::Tensor& slot) const;
  void write_at(int64_t layer, const torch::Tensor& k, const torch::Tensor& v, const torch::Tensor& where);
  // The first `rows` rows over the first `slots` slots: [rows, Hkv, slots, D].
  torch::Tensor row_keys(int64_t layer, int64_t rows, int64_t slots) const;
  torch::Tensor row_values(int64_t layer, int64_t rows, int64_t slots) const;
  // Copies slots [0, len) of prefill rows `from` ([k] int64) into rows `to` ([k] int64) of this
  // cache (a prompt's prefill into the slots of its samples).
  void copy_rows_from(const PrefillCache& source, const torch::Tensor& from, const torch::Tensor& to, int64_t len);
  // Moves rows `from` ([k]) to rows [0, k), every slot (compaction to fewer rows).
  void move_rows_to_front(const torch::Tensor& from);
};

}  // namespace r1
