#include "r1/model/kv_cache.h"

#include <fmt/format.h>

namespace r1 {

KVCache::KVCache(const TransformerConfig& config, int64_t rows, int64_t capacity, torch::TensorOptions options)
    : rows_(rows), capacity_(capacity) {
  for (int64_t l = 0; l < config.num_hidden_layers; ++l) {
    keys_.push_back(torch::zeros({rows, config.num_key_value_heads, capacity, config.head_dim}, options));
    values_.push_back(torch::zeros({rows, config.num_key_value_heads, capacity, config.head_dim}, options));
  }
  valid_ = torch::zeros({rows, capacity}, options.dtype(torch::kBool));
  next_position_ = torch::zeros({rows}, options.dtype(torch::kInt64));
}

torch::Tensor KVCache::keys(int64_t layer, int64_t slots) const {
  return keys_[layer].narrow(0, 0, rows_).narrow(2, 0, slots);
}

torch::Tensor KVCache::values(int64_t layer, int64_t slots) const {
  return values_[layer].narrow(0, 0, rows_).narrow(2, 0, slots);
}

torch::Tensor KVCache::valid(int64_t slots) const { return valid_.narrow(0, 0, rows_).narrow(1, 0, slots); }

torch::Tensor KVCache::next_position() const { return next_position_.narrow(0, 0, rows_); }

void KVCache::write(int64_t layer, const torch::Tensor& k, const torch::Tensor& v) {
  const int64_t t = k.size(2);
  TORCH_CHECK(length_ + t <= capacity_, fmt::format("KV cache full: {} + {} slots > capacity {}", length_, t,
                                                    capacity_));
  keys_[layer].narrow(0, 0, rows_).narrow(2, length_, t).copy_(k);
  values_[layer].narrow(0, 0, rows_).narrow(2, length_, t).copy_(v);
}

void KVCache::advance(const torch::Tensor& mask) {
  const int64_t t = mask.size(1);
  valid_.narrow(0, 0, rows_).narrow(1, length_, t).copy_(mask.to(torch::kBool));
  next_position_.narrow(0, 0, rows_).add_(mask.to(torch::kInt64).sum(1));
  length_ += t;
}

void KVCache::gather_from(const KVCache& source, const torch::Tensor& index) {
  const int64_t n = index.size(0);
  const int64_t len = source.length_;
  TORCH_CHECK(n <= keys_[0].size(0) && len <= capacity_, "KV cache gather exceeds the allocated storage");
  auto idx = index.to(keys_[0].device());
  for (size_t l = 0; l < keys_.size(); ++l) {
    // index_select makes a temporary, so the source may alias this cache.
    auto k = source.keys_[l].narrow(2, 0, len).index_select(0, idx);
    auto v = source.values_[l].narrow(2, 0, len).index_select(0, idx);
    keys_[l].narrow(0, 0, n).narrow(2, 0, len).copy_(k);
    values_[l].narrow(0, 0, n).narrow(2, 0, len).copy_(v);
  }
  auto valid = source.valid_.narrow(1, 0, len).index_select(0, idx);
  auto next = source.next_position_.index_select(0, idx);
  valid_.narrow(0, 0, n).narrow(1, 0, len).copy_(valid);
  next_position_.narrow(0, 0, n).copy_(next);
  rows_ = n;
  length_ = len;
}

}  // namespace r1
