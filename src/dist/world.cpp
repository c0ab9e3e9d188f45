#include "r1/dist/world.h"

#include <fmt/format.h>
#include <torch/version.h>

#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroup.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#if TORCH_VERSION_MAJOR >= 2
#include <torch/csrc/distributed/c10d/Backend.hpp>
#endif
// torch's ProcessGroupGloo.hpp includes gloo's headers (Debian: libgloo-dev); a libtorch installed
// without them still builds, with NCCL as its only backend.
#if !defined(R1_NO_GLOO) && __has_include(<gloo/algorithm.h>)
#define R1_HAS_GLOO 1
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#else
#define R1_HAS_GLOO 0
#endif
#ifdef USE_C10D_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <mutex>
#include <thread>

#include "r1/core/error.h"

namespace r1 {

namespace {

#if TORCH_VERSION_MAJOR >= 2
using GroupBase = c10d::Backend;  // ProcessGroupGloo / ProcessGroupNCCL are backends in libtorch 2
#else
using GroupBase = c10d::ProcessGroup;
#endif

const char* env(const char* name) { return std::getenv(name); }

int env_int(const char* name, int min, int max) {
  const char* v = env(name);
  if (!v || !*v) throw InputError(fmt::format("environment variable {} is not set; the launcher sets it", name));
  char* end = nullptr;
  const long x = std::strtol(v, &end, 10);
  if (*end != '\0' || x < min || x > max)
    throw InputError(fmt::format("environment variable {}='{}': expected a whole number in [{}, {}]", name, v, min, max));
  return static_cast<int>(x);
}

// libtorch >= 2.4 defaults the TCPStore to its libuv backend, which Debian's build lacks; the
// classic backend is in every build.
template <class Options>
void classic_store_backend(Options& opts) {
  if constexpr (requires { opts.useLibUV; }) opts.useLibUV = false;
}

[[maybe_unused]] bool is_loopback(const std::string& host) { return host == "localhost" || host.rfind("127.", 0) == 0 || host == "::1"; }

}  // namespace

WorldEnv read_world_env() {
  WorldEnv w;
  const int big = std::numeric_limits<int>::max();
  if (env("WORLD_SIZE")) {
    w.launcher = "torchrun";
    w.size = env_int("WORLD_SIZE", 1, big);
    w.rank = env_int("RANK", 0, w.size - 1);
    w.local_rank = env("LOCAL_RANK") ? env_int("LOCAL_RANK", 0, w.size - 1) : 0;
  } else if (env("SLURM_NTASKS") && env("SLURM_PROCID")) {
    w.launcher = "srun";
    w.size = env_int("SLURM_NTASKS", 1, big);
    w.rank = env_int("SLURM_PROCID", 0, w.size - 1);
    w.local_rank = env("SLURM_LOCALID") ? env_int("SLURM_LOCALID", 0, w.size - 1) : 0;
  } else {
    return w;
  }
  if (w.size == 1) return w;
  const char* addr = env("MASTER_ADDR");
  if (!addr || !*addr)
    throw InputError(fmt::format("MASTER_ADDR is not set: {} started {} processes, and they meet at "
                                 "MASTER_ADDR:MASTER_PORT (export both, e.g. the first node's address and 29500)",
                                 w.launcher, w.size));
  w.master_addr = addr;
  w.master_port = env_int("MASTER_PORT", 1, 65535);
  w.agent_store = env("TORCHELASTIC_USE_AGENT_STORE") && std::string(env("TORCHELASTIC_USE_AGENT_STORE")) == "True";
  w.restart_count = env("TORCHELASTIC_RESTART_COUNT") ? env_int("TORCHELASTIC_RESTART_COUNT", 0, big) : 0;
  return w;
}

std::pair<std::size_t, std::size_t> rank_share(std::size_t n, int rank, int size) {
  const auto r = static_cast<std::size_t>(rank), s = static_cast<std::size_t>(size);
  const std::size_t base = n / s, extra = n % s;
  const std::size_t lo = r * base + std::min(r, extra);
  return {lo, lo + base + (r < extra ? 1 : 0)};
}

struct Communicator::Group {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<GroupBase> pg;
  bool nccl = false;
  // The heartbeat: a thread with its own store connection adds 1 to r1/alive/RANK each second
  // until the group ends, so that a failed collective can tell which rank is gone.
  std::mutex mutex;
  std::condition_variable wake;
  bool stopping = false;
  std::thread beat;
  ~Group() {
    {
      std::lock_guard<std::mutex> lock(mutex);
      stopping = true;
    }
    wake.notify_all();
    if (beat.joinable()) beat.join();
  }
};

std::string built_backends() {
  std::vector<std::string> names;
  if (R1_HAS_GLOO) names.emplace_back("gloo");
#ifdef USE_C10D_NCCL
  names.emplace_back("nccl");
#endif
  return names.empty() ? "none (one process only)" : fmt::format("{}", fmt::join(names, ", "));
}

Communicator::Communicator() = default;
Communicator::~Communicator() = default;
Communicator::Communicator(Communicator&&) noexcept = default;
Communicator& Communicator::operator=(Communicator&&) noexcept = default;

Communicator::Communicator(const WorldEnv& w, DistBackend backend, torch::Device device, std::chrono::seconds timeout)
    : rank_(w.rank), size_(w.size), device_(device), timeout_(timeout), agent_store_(w.agent_store) {
  if (w.size <= 1) return;
  if (backend == DistBackend::Auto) backend = device.is_cuda() ? DistBackend::Nccl : DistBackend::Gloo;
  if (backend == DistBackend::Nccl && !device.is_cuda())
    throw InputError("dist.backend is nccl but model.device is the CPU: NCCL runs on CUDA devices; use gloo or auto");
  // Refused before the rendezvous: a rank that stopped after the store was up would leave the
  // others waiting for it until the timeout.
#if !R1_HAS_GLOO
  if (backend == DistBackend::Gloo)
    throw InputError("dist.backend gloo: r1train was built without gloo's headers (Debian: libgloo-dev); "
                     "install them and rebuild, or use nccl on CUDA");
#endif
#ifndef USE_C10D_NCCL
  if (backend == DistBackend::Nccl) throw InputError("dist.backend nccl: this libtorch was built without NCCL; use gloo");
#endif
  group_ = std::make_unique<Group>();
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(timeout);
  try {
    c10d::TCPStoreOptions opts;
    opts.port = static_cast<std::uint16_t>(w.master_port);
    // With torchrun's agent hosting the store, every rank is a client (as torch.distributed does).
    opts.isServer = !w.agent_store && w.rank == 0;
    opts.numWorkers = static_cast<std::size_t>(w.size);
    opts.waitWorkers = false;
    opts.timeout = ms;
    classic_store_backend(opts);
    const auto prefix = fmt::format("/r1train/attempt_{}", w.restart_count);
    auto tcp = c10::make_intrusive<c10d::TCPStore>(w.master_addr, opts);
    group_->store = c10::make_intrusive<c10d::PrefixStore>(prefix, tcp);
    opts.isServer = false;
    opts.numWorkers = decltype(opts.numWorkers){};  // a plain client: not counted as a worker
    auto beat_store = c10::make_intrusive<c10d::PrefixStore>(prefix, c10::make_intrusive<c10d::TCPStore>(w.master_addr, opts));
    group_->beat = std::thread([g = group_.get(), beat_store, key = fmt::format("r1/alive/{}", w.rank)] {
      std::unique_lock<std::mutex> lock(g->mutex);
      while (!g->stopping) {
        lock.unlock();
        try {
          beat_store->add(key, 1);
        } catch (const std::exception&) {
          return;  // the store is gone: the run is ending
        }
        lock.lock();
        g->wake.wait_for(lock, std::chrono::seconds(1), [g] { return g->stopping; });
      }
    });
  } catch (const std::exception& e) {
    throw std::runtime_error(fmt::format("rank {}: cannot reach the rendezvous store at {}:{} within {} s: {}", w.rank,
                                         w.master_addr, w.master_port, timeout.count(), e.what()));
  }
  if (backend == DistBackend::Gloo) {
#if R1_HAS_GLOO
    auto opts = c10d::ProcessGroupGloo::Options::create(ms);
    opts->devices.push_back(is_loopback(w.master_addr)
                                ? c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1")
                                : c10d::ProcessGroupGloo::createDefaultDevice());
    group_->pg = c10::make_intrusive<c10d::ProcessGroupGloo>(group_->store, w.rank, w.size, opts);
#endif
  } else {
#ifdef USE_C10D_NCCL
    auto opts = c10d::ProcessGroupNCCL::Options::create();
    opts->timeout = ms;
    group_->pg = c10::make_intrusive<c10d::ProcessGroupNCCL>(group_->store, w.rank, w.size, opts);
    group_->nccl = true;
#endif
  }
}

// Waits for `work`, turning a timeout or a lost peer into an error that names what failed and,
// from the heartbeats, which rank is gone.
template <class Work>
void Communicator::finish(const Work& work, const std::string& what) {
  try {
    work->wait();
  } catch (const std::exception& e) {
    throw std::runtime_error(fmt::format("rank {}: {} with the other ranks failed (timeout {} s): {}. c10d: {}", rank_,
                                         what, timeout_.count(), who_is_gone(), e.what()));
  }
}

std::string Communicator::who_is_gone() {
  // Every rank's heartbeat thread adds 1 to r1/alive/RANK each second; a rank whose count stands
  // still for 3 s has stopped (or its process is frozen).
  const auto key = [](int r) { return fmt::format("r1/alive/{}", r); };
  std::vector<int64_t> before(static_cast<std::size_t>(size_));
  try {
    for (int r = 0; r < size_; ++r) before[static_cast<std::size_t>(r)] = group_->store->add(key(r), 0);
    std::this_thread::sleep_for(std::chrono::seconds(3));
    std::vector<int> gone;
    for (int r = 0; r < size_; ++r)
      if (r != rank_ && group_->store->add(key(r), 0) == before[static_cast<std::size_t>(r)]) gone.push_back(r);
    if (gone.empty()) return "every rank is still alive: one is slower than the timeout or stuck; see the logs";
    return fmt::format("rank{} {} stopped (no heartbeat for 3 s); see {} log", gone.size() > 1 ? "s" : "",
                       fmt::join(gone, ", "), gone.size() > 1 ? "their" : "its");
  } catch (const std::exception&) {
    return agent_store_ ? "torchrun's agent, which hosts the rendezvous store, no longer answers"
                        : "rank 0, which hosts the rendezvous store, stopped (the store no longer answers); see its log";
  }
}

void Communicator::all_reduce(torch::Tensor& t, bool max, const char* what) {
  if (!group_) return;
  // Gloo reduces no bfloat16 (libtorch 1.13) and sums float16 in float16: both go as float32.
  const bool widen = !group_->nccl && (t.scalar_type() == torch::kBFloat16 || t.scalar_type() == torch::kFloat16);
  std::vector<torch::Tensor> tensors{widen ? t.to(torch::kFloat32) : t};
  c10d::AllreduceOptions opts;
  opts.reduceOp = max ? c10d::ReduceOp::MAX : c10d::ReduceOp::SUM;
  finish(group_->pg->allreduce(tensors, opts), what);
  if (widen) t.copy_(tensors[0]);
}

std::vector<std::string> Communicator::all_gather(const std::string& mine) {
  if (!group_) return {mine};
  auto i64 = torch::TensorOptions().dtype(torch::kInt64).device(device_);
  // Lengths first (each rank fills its own entry), then the bytes padded to the longest.
  auto lengths = torch::zeros({size_}, i64);
  lengths[rank_] = static_cast<int64_t>(mine.size());
  all_reduce_sum(lengths);
  auto host_lengths = lengths.cpu();
  const int64_t longest = std::max<int64_t>(host_lengths.max().item<int64_t>(), 1);
  auto bytes = torch::zeros({longest}, torch::kUInt8);
  std::memcpy(bytes.data_ptr<uint8_t>(), mine.data(), mine.size());
  std::vector<torch::Tensor> input{bytes.to(device_)};
  std::vector<std::vector<torch::Tensor>> output(1);
  for (int r = 0; r < size_; ++r) output[0].push_back(torch::empty({longest}, input[0].options()));
  finish(group_->pg->allgather(output, input), "an all-gather");
  std::vector<std::string> out;
  for (int r = 0; r < size_; ++r) {
    auto host = output[0][static_cast<std::size_t>(r)].cpu();
    out.emplace_back(reinterpret_cast<const char*>(host.data_ptr<uint8_t>()),
                     static_cast<std::size_t>(host_lengths[r].item<int64_t>()));
  }
  return out;
}

void Communicator::all_reduce_gradients(const std::vector<torch::Tensor>& all, int64_t bucket_bytes) {
  if (!group_) return;
  torch::NoGradGuard no_grad;
  std::size_t i = 0;
  while (i < all.size()) {
    // One bucket: consecutive gradients of one dtype up to bucket_bytes (at least one).
    std::vector<torch::Tensor> grads;
    int64_t bytes = 0;
    const auto dtype = all[i].scalar_type();
    while (i < all.size() && all[i].scalar_type() == dtype && (grads.empty() || bytes < bucket_bytes)) {
      grads.push_back(all[i]);
      bytes += all[i].numel() * static_cast<int64_t>(all[i].element_size());
      ++i;
    }
    auto flat = torch::cat([&] {
      std::vector<torch::Tensor> views;
      for (const auto& g : grads) views.push_back(g.reshape(-1));
      return views;
    }());
    all_reduce(flat, /*max=*/false, "the gradient all-reduce");
    int64_t offset = 0;
    for (auto& g : grads) {
      g.copy_(flat.narrow(0, offset, g.numel()).view_as(g));
      offset += g.numel();
    }
  }
}

namespace {
constexpr int64_t kPiece = 64 << 20;  // bytes per send
}  // namespace

void Communicator::send_bytes(const std::string& bytes, int to) {
  if (!group_) return;
  auto size = torch::full({1}, static_cast<int64_t>(bytes.size()), torch::TensorOptions().dtype(torch::kInt64).device(device_));
  std::vector<torch::Tensor> head{size};
  finish(group_->pg->send(head, to, /*tag=*/0), "a send");
  for (int64_t at = 0; at < static_cast<int64_t>(bytes.size()); at += kPiece) {
    const int64_t n = std::min<int64_t>(kPiece, static_cast<int64_t>(bytes.size()) - at);
    auto piece = torch::empty({n}, torch::kUInt8);
    std::memcpy(piece.data_ptr<uint8_t>(), bytes.data() + at, static_cast<std::size_t>(n));
    std::vector<torch::Tensor> t{piece.to(device_)};
    finish(group_->pg->send(t, to, /*tag=*/1), "a send");
  }
}

std::string Communicator::receive_bytes(int from) {
  if (!group_) return {};
  std::vector<torch::Tensor> head{torch::zeros({1}, torch::TensorOptions().dtype(torch::kInt64).device(device_))};
  finish(group_->pg->recv(head, from, /*tag=*/0), fmt::format("a receive from rank {}", from));
  const int64_t size = head[0].cpu().item<int64_t>();
  std::string out(static_cast<std::size_t>(size), '\0');
  for (int64_t at = 0; at < size; at += kPiece) {
    const int64_t n = std::min<int64_t>(kPiece, size - at);
    std::vector<torch::Tensor> t{torch::empty({n}, torch::TensorOptions().dtype(torch::kUInt8).device(device_))};
    finish(group_->pg->recv(t, from, /*tag=*/1), fmt::format("a receive from rank {}", from));
    auto host = t[0].cpu();
    std::memcpy(out.data() + at, host.data_ptr<uint8_t>(), static_cast<std::size_t>(n));
  }
  return out;
}

void Communicator::barrier() {
  if (!group_) return;
  finish(group_->pg->barrier(), "a barrier");
}

}  // namespace r1
