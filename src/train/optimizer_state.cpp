#include "r1/train/optimizer_state.h"

#include <fmt/format.h>
#include <torch/version.h>

#include <algorithm>
#include <cstdio>
#include <sstream>

#include "r1/core/error.h"
#include "r1/dist/world.h"

namespace r1 {

std::string shard_file_name(int rank, int size) { return fmt::format("optimizer.rank-{}-of-{}.pt", rank, size); }

std::string archive_bytes(torch::serialize::OutputArchive& archive) {
  std::ostringstream bytes;
  archive.save_to(bytes);
  return bytes.str();
}

std::vector<std::filesystem::path> shard_files(const std::filesystem::path& dir) {
  int size = 0;
  int found = 0;
  if (std::filesystem::is_directory(dir)) {
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
      int r = 0, n = 0;
      if (std::sscanf(e.path().filename().c_str(), "optimizer.rank-%d-of-%d.pt", &r, &n) == 2) {
        size = std::max(size, n);
        ++found;
      }
    }
  }
  std::vector<std::filesystem::path> files;
  for (int r = 0; r < size; ++r) {
    files.push_back(dir / shard_file_name(r, size));
    if (!std::filesystem::is_regular_file(files.back()))
      throw InputError(fmt::format("{}: missing; the optimizer state of this checkpoint was written as {} shards and "
                                   "this one is lost (the checkpoint is incomplete)",
                                   files.back().string(), size));
  }
  if (found != size)
    throw InputError(fmt::format("{}: optimizer shards of different runs are mixed ({} files, expected {})",
                                 dir.string(), found, size));
  return files;
}

std::string shard_bytes(const FlatState& state, int64_t lo, int64_t hi, int64_t total) {
  torch::serialize::OutputArchive archive;
  archive.write("range", torch::tensor({lo, hi, total}, torch::kInt64));
  const int64_t largest = state.steps.empty() ? 0 : *std::max_element(state.steps.begin(), state.steps.end());
  archive.write("step", torch::tensor({largest}, torch::kInt64));
  archive.write("steps", torch::tensor(state.steps, torch::kInt64));
  archive.write("exp_avg", state.exp_avg);
  archive.write("exp_avg_sq", state.exp_avg_sq);
  if (state.master.defined()) archive.write("master", state.master);
  return archive_bytes(archive);
}

FlatState read_shards(const std::vector<std::filesystem::path>& files, const std::vector<torch::Tensor>& params,
                      const FlatLayout& layout, int64_t lo, int64_t hi, bool masters) {
  const int64_t total = layout.total;
  FlatState out;
  out.exp_avg = torch::zeros({hi - lo});
  out.exp_avg_sq = torch::zeros({hi - lo});
  if (masters) out.master = torch::zeros({hi - lo});
  const int size = static_cast<int>(files.size());
  for (int r = 0; r < size; ++r) {
    const auto [slo, shi] = rank_share(static_cast<std::size_t>(total), r, size);
    const int64_t begin = std::max<int64_t>(lo, static_cast<int64_t>(slo)), end = std::min<int64_t>(hi, static_cast<int64_t>(shi));
    const auto& file = files[static_cast<std::size_t>(r)];
    torch::serialize::InputArchive archive;
    archive.load_from(file.string());
    torch::Tensor range, step, steps, m, v;
    archive.read("range", range);
    archive.read("step", step);
    const auto* rg = range.data_ptr<int64_t>();
    if (rg[2] != total || rg[0] != static_cast<int64_t>(slo) || rg[1] != static_cast<int64_t>(shi))
      throw InputError(fmt::format("{}: holds elements [{}, {}) of {} parameters; this model has {} parameters, so "
                                   "the checkpoint was written for a different model",
                                   file.string(), rg[0], rg[1], rg[2], total));
    // Per-parameter counts; a shard written before them holds one count for every parameter.
    if (archive.try_read("steps", steps)) {
      if (steps.numel() != static_cast<int64_t>(params.size()))
        throw InputError(fmt::format("{}: holds the update counts of {} parameters; this model has {}, so the "
                                     "checkpoint was written for a different model",
                                     file.string(), steps.numel(), params.size()));
      out.steps.assign(steps.data_ptr<int64_t>(), steps.data_ptr<int64_t>() + steps.numel());
    } else {
      out.steps.assign(params.size(), step.item<int64_t>());
    }
    if (begin >= end) continue;
    archive.read("exp_avg", m);
    archive.read("exp_avg_sq", v);
    out.exp_avg.narrow(0, begin - lo, end - begin).copy_(m.narrow(0, begin - rg[0], end - begin));
    out.exp_avg_sq.narrow(0, begin - lo, end - begin).copy_(v.narrow(0, begin - rg[0], end - begin));
    if (masters) {
      torch::Tensor w;
      archive.read("master", w);
      out.master.narrow(0, begin - lo, end - begin).copy_(w.narrow(0, begin - rg[0], end - begin));
    }
  }
  return out;
}

FlatState read_adamw_archive(const std::filesystem::path& file, const std::vector<torch::Tensor>& params,
                             const FlatLayout& layout, int64_t lo, int64_t hi, bool masters) {
  // AdamW's archive read into CPU copies of the parameters, then the slice taken.
  std::vector<torch::Tensor> copies;
  for (const auto& p : params) copies.push_back(torch::zeros(p.sizes(), torch::kFloat32).requires_grad_(true));
  torch::optim::AdamW reader(copies);
  torch::serialize::InputArchive archive;
  archive.load_from(file.string());
  reader.load(archive);
  FlatState flat;
  flat.steps.assign(params.size(), 0);
  flat.exp_avg = torch::zeros({hi - lo});
  flat.exp_avg_sq = torch::zeros({hi - lo});
  if (masters) flat.master = torch::zeros({hi - lo});
  for (std::size_t i = 0; i < params.size(); ++i) {
    auto it = reader.state().find(adamw_state_key(copies[i]));
    if (it != reader.state().end()) flat.steps[i] = static_cast<torch::optim::AdamWParamState&>(*it->second).step();
  }
  layout.for_each_overlap(params, lo, hi, [&](std::size_t i, int64_t in_param, int64_t at, int64_t n) {
    auto it = reader.state().find(adamw_state_key(copies[i]));
    if (it != reader.state().end()) {
      auto& st = static_cast<torch::optim::AdamWParamState&>(*it->second);
      flat.exp_avg.narrow(0, at, n).copy_(st.exp_avg().reshape(-1).narrow(0, in_param, n));
      flat.exp_avg_sq.narrow(0, at, n).copy_(st.exp_avg_sq().reshape(-1).narrow(0, in_param, n));
    }
    if (masters) {
      torch::Tensor w;
      archive.read("master." + std::to_string(i), w);
      flat.master.narrow(0, at, n).copy_(w.reshape(-1).narrow(0, in_param, n));
    }
  });
  return flat;
}

}  // namespace r1
