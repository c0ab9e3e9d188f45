#include "r1/model/init.h"

#include <string>

namespace r1 {

namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

CausalLM init_model(const TransformerConfig& config, uint64_t seed, torch::Dtype dtype, torch::Device device) {
  const double std_dev = config.source.is_object() && config.source.contains("initializer_range") &&
                                 config.source["initializer_range"].is_number()
                             ? config.source["initializer_range"].get<double>()
                             : 0.02;
  CausalLM drawn(config, torch::TensorOptions().dtype(torch::kFloat32).device(torch::kCPU));
  auto generator = at::detail::createCPUGenerator(seed);
  torch::NoGradGuard no_grad;
  for (auto& item : drawn->named_parameters(/*recurse=*/true)) {
    const std::string& name = item.key();
    torch::Tensor& p = item.value();
    if (ends_with(name, "norm.weight")) {
      p.fill_(1.0);
    } else if (ends_with(name, ".bias")) {
      p.zero_();
    } else {
      p.normal_(0.0, std_dev, generator);
    }
  }
  // The model is built in its own dtype and device (its options decide the compute dtype).
  CausalLM model(config, torch::TensorOptions().dtype(dtype).device(device));
  auto source = drawn->named_parameters(/*recurse=*/true);
  for (auto& item : model->named_parameters(/*recurse=*/true)) item.value().copy_(source[item.key()]);
  return model;
}

}  // namespace r1
