#include "r1/model/kv_cache.h"

#include <fmt/format.h>

namespace r1 {

KVStorage::KVStorage(const TransformerConfig& config, int64_t rows, int64_t capacity, torch::TensorOptions options)
    : capacity_(capacity) {
  for (int64_t l = 0; l < config.num_hidden_layers; ++l) {
    keys_.push_back(torch::zeros({rows, config.num_key_value_heads, capacity, config.head_dim}, options));
    values_.push_back(torch::zeros({rows, config.num_key_value_heads, capacity, config.head_dim}, options));
  }
}

PrefillCache::PrefillCache(const TransformerConfig& config, int64_t rows, int64_t capacity,
                           torch::TensorOptions options)
    : KVStorage(config, rows, capacity, options), rows_(rows) {
  valid_ = torch::zeros({rows, capacity}, options.dtype(torch::kBool));
  next_position_ = torch::zeros({rows}, options.dtype(torch::kInt64));
}

torch::Tensor PrefillCache::keys(int64_t layer, int64_t slots) const { return stored_keys(layer).narrow(2, 0, slots); }

torch::Tensor PrefillCache::values(int64_t layer, int64_t slots) const {
  return stored_values(layer).narrow(2, 0, slots);
}

torch::Tensor PrefillCache::valid(int64_t slots) const { return valid_.narrow(1, 0, slots); }

torch::Tensor PrefillCache::next_position() const { return next_position_; }

void PrefillCache::write(int64_t layer, const torch::Tensor& k, const torch::Tensor& v) {
  const int64_t t = k.size(2);
  TORCH_CHECK(length_ + t <= capacity_, fmt::format("KV cache full: {} + {} slots > capacity {}", length_, t,
                                                    capacity_));
  keys_[static_cast<std::size_t>(layer)].narrow(2, length_, t).copy_(k);
  values_[static_cast<std::size_t>(layer)].narrow(2, length_, t).copy_(v);
}

void PrefillCache::advance(const torch::Tensor& mask) {
  const int64_t t = mask.size(1);
  valid_.narrow(1, length_, t).copy_(mask.to(torch::kBool));
  next_position_.add_(mask.to(torch::kInt64).sum(1));
  length_ += t;
}

SlotCache::SlotCache(const TransformerConfig& config, int64_t rows, int64_t capacity, torch::TensorOptions options)
    : KVStorage(config, rows, capacity, options) {}

torch::Tensor SlotCache::where(const torch::Tensor& slot) const {
  const int64_t R = slot.size(0), H = keys_[0].size(1), S = capacity_;
  // Row r, head h, slot s of the storage is element (r * H + h) * S + s of its [rows * H * S, D] view.
  return ((torch::arange(R * H, slot.options()) * S).view({R, H}) + slot.view({R, 1})).view(-1);  // [R * H]
}

void SlotCache::write_at(int64_t layer, const torch::Tensor& k, const torch::Tensor& v, const torch::Tensor& where) {
  const int64_t R = k.size(0), H = k.size(1), D = k.size(3), S = capacity_;
  const auto l = static_cast<std::size_t>(layer);
  keys_[l].narrow(0, 0, R).view({R * H * S, D}).index_copy_(0, where, k.reshape({R * H, D}));
  values_[l].narrow(0, 0, R).view({R * H * S, D}).index_copy_(0, where, v.reshape({R * H, D}));
}

torch::Tensor SlotCache::row_keys(int64_t layer, int64_t rows, int64_t slots) const {
  return stored_keys(layer).narrow(0, 0, rows).narrow(2, 0, slots);
}

torch::Tensor SlotCache::row_values(int64_t layer, int64_t rows, int64_t slots) const {
  return stored_values(layer).narrow(0, 0, rows).narrow(2, 0, slots);
}

void SlotCache::copy_rows_from(const PrefillCache& source, const torch::Tensor& from, const torch::Tensor& to,
                               int64_t len) {
  TORCH_CHECK(len <= capacity_ && len <= source.capacity(), "KV cache copy exceeds the allocated slots");
  for (std::size_t l = 0; l < keys_.size(); ++l) {
    const auto layer = static_cast<int64_t>(l);
    keys_[l].narrow(2, 0, len).index_copy_(0, to, source.stored_keys(layer).narrow(2, 0, len).index_select(0, from));
    values_[l].narrow(2, 0, len).index_copy_(0, to, source.stored_values(layer).narrow(2, 0, len).index_select(0, from));
  }
}

void SlotCache::move_rows_to_front(const torch::Tensor& from) {
  const int64_t k = from.size(0);
  for (std::size_t l = 0; l < keys_.size(); ++l) {
    // index_select makes a temporary: rows may move onto each other.
    keys_[l].narrow(0, 0, k).copy_(keys_[l].index_select(0, from));
    values_[l].narrow(0, 0, k).copy_(values_[l].index_select(0, from));
  }
}

}  // namespace r1
