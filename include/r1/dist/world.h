// Many processes, one training run: the launcher's environment, and a c10d process group for the collectives GRPO needs.
#pragma once

#include <torch/torch.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "r1/core/options.h"

namespace r1 {

// Where this process sits in a launched job: torchrun sets RANK, WORLD_SIZE, LOCAL_RANK,
// MASTER_ADDR and MASTER_PORT; srun sets SLURM_PROCID, SLURM_NTASKS and SLURM_LOCALID (MASTER_ADDR
// and MASTER_PORT still come from the environment). Neither: one process, rank 0 of 1.
struct WorldEnv {
  int rank = 0;
  int size = 1;
  int local_rank = 0;
  std::string master_addr;
  int master_port = 0;
  std::string launcher;          // "torchrun", "srun" or "" (one process)
  bool agent_store = false;      // torchrun's agent hosts the TCPStore (TORCHELASTIC_USE_AGENT_STORE)
  int restart_count = 0;         // TORCHELASTIC_RESTART_COUNT: keys of a restarted attempt do not mix
};

// Reads the environment above; InputError naming the variable and its value when one is missing,
// not a number, or out of range (RANK >= WORLD_SIZE, ...).
WorldEnv read_world_env();

// The backends this build has, e.g. "gloo, nccl": gloo where libtorch's headers came with gloo's
// (Debian: libgloo-dev), nccl where libtorch was built with NCCL. `r1train --version` prints it.
std::string built_backends();

// The ranks of one run and the collectives between them (c10d: Gloo on the CPU, NCCL on CUDA),
// over a TCPStore at MASTER_ADDR:MASTER_PORT. A default-constructed Communicator is one process:
// every collective returns its input. A collective that does not complete within the timeout
// (another rank died or hangs) throws std::runtime_error naming this rank, the operation and the
// timeout.
class Communicator {
 public:
  Communicator();
  Communicator(const WorldEnv& env, DistBackend backend, torch::Device device, std::chrono::seconds timeout);
  ~Communicator();
  Communicator(Communicator&&) noexcept;
  Communicator& operator=(Communicator&&) noexcept;

  int rank() const { return rank_; }
  int size() const { return size_; }
  bool is_main() const { return rank_ == 0; }
  bool distributed() const { return size_ > 1; }

  // In place, over every rank.
  void all_reduce_sum(torch::Tensor& t) { all_reduce(t, /*max=*/false, "an all-reduce"); }
  void all_reduce_max(torch::Tensor& t) { all_reduce(t, /*max=*/true, "an all-reduce"); }
  // Every rank's string, in rank order.
  std::vector<std::string> all_gather(const std::string& mine);
  // Sums `grads` (Optimizer::gradients(): one tensor per parameter) over the ranks in place, packed
  // into flat buckets of about `bucket_bytes` (one collective per bucket, not per parameter).
  void all_reduce_gradients(const std::vector<torch::Tensor>& grads, int64_t bucket_bytes = 25 << 20);
  void barrier();
  // Point to point, for payloads one rank holds (an optimizer shard on its way to rank 0's
  // checkpoint): `bytes` goes to rank `to`, which receives it with receive_bytes(from). Sent in
  // pieces of at most 64 MiB, so the device buffer NCCL needs stays small.
  void send_bytes(const std::string& bytes, int to);
  std::string receive_bytes(int from);

 private:
  void all_reduce(torch::Tensor& t, bool max, const char* what);
  // Waits for a c10d work item; a failure becomes an error naming this rank, `what`, the timeout
  // and who_is_gone().
  template <class Work>
  void finish(const Work& work, const std::string& what);
  // Which ranks stopped beating (each rank's heartbeat thread counts in the store once a second).
  std::string who_is_gone();

  struct Group;
  std::unique_ptr<Group> group_;
  int rank_ = 0, size_ = 1;
  torch::Device device_ = torch::kCPU;
  std::chrono::seconds timeout_{0};
  bool agent_store_ = false;  // torchrun's agent hosts the store (not rank 0)
};

// [lo, hi): rank `rank`'s contiguous share of `n` items split as evenly as possible over `size`
// ranks (the first n % size ranks take one more).
std::pair<std::size_t, std::size_t> rank_share(std::size_t n, int rank, int size);

}  // namespace r1
