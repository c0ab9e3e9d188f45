// Many ranks, one run: the launcher's environment, the work split, and runs on 2 ranks (Gloo over
// loopback, started with the launcher's variables, and by Debian's torch.distributed.run) that equal
// the one-process run.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <optional>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "r1/core/error.h"
#include "r1/dist/world.h"
#include "r1/model/safetensors.h"
#include "test_util.h"

namespace r1 {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

TEST(Dist, RankShareSplitsContiguouslyAndEvenly) {
  // 10 items on 4 ranks: 3, 3, 2, 2.
  EXPECT_EQ(rank_share(10, 0, 4), (std::pair<std::size_t, std::size_t>{0, 3}));
  EXPECT_EQ(rank_share(10, 1, 4), (std::pair<std::size_t, std::size_t>{3, 6}));
  EXPECT_EQ(rank_share(10, 3, 4), (std::pair<std::size_t, std::size_t>{8, 10}));
  EXPECT_EQ(rank_share(1, 1, 2), (std::pair<std::size_t, std::size_t>{1, 1}));  // a rank may get nothing
  EXPECT_EQ(rank_share(16, 0, 1), (std::pair<std::size_t, std::size_t>{0, 16}));
}

// Sets environment variables for the life of the object, then restores them.
class Env {
 public:
  Env(std::initializer_list<std::pair<const char*, const char*>> vars) {
    for (const char* name : {"WORLD_SIZE", "RANK", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT", "SLURM_NTASKS",
                             "SLURM_PROCID", "SLURM_LOCALID", "TORCHELASTIC_USE_AGENT_STORE"}) {
      const char* v = std::getenv(name);
      saved_.emplace_back(name, v ? std::optional<std::string>(v) : std::nullopt);
      unsetenv(name);
    }
    for (const auto& [k, v] : vars) setenv(k, v, 1);
  }
  ~Env() {
    for (const auto& [k, v] : saved_) {
      if (v) setenv(k.c_str(), v->c_str(), 1);
      else unsetenv(k.c_str());
    }
  }

 private:
  std::vector<std::pair<std::string, std::optional<std::string>>> saved_;
};

TEST(Dist, WorldComesFromTorchrunOrSlurmAndBadValuesAreNamed) {
  {
    Env e({});
    const auto w = read_world_env();
    EXPECT_EQ(w.size, 1);
    EXPECT_EQ(w.launcher, "");
  }
  {
    Env e({{"WORLD_SIZE", "4"}, {"RANK", "2"}, {"LOCAL_RANK", "0"}, {"MASTER_ADDR", "10.0.0.1"},
           {"MASTER_PORT", "29501"}, {"TORCHELASTIC_USE_AGENT_STORE", "True"}});
    const auto w = read_world_env();
    EXPECT_EQ(w.launcher, "torchrun");
    EXPECT_EQ(w.rank, 2);
    EXPECT_EQ(w.size, 4);
    EXPECT_EQ(w.master_addr, "10.0.0.1");
    EXPECT_EQ(w.master_port, 29501);
    EXPECT_TRUE(w.agent_store);
  }
  {
    Env e({{"SLURM_NTASKS", "8"}, {"SLURM_PROCID", "5"}, {"SLURM_LOCALID", "1"}, {"MASTER_ADDR", "node1"},
           {"MASTER_PORT", "29500"}});
    const auto w = read_world_env();
    EXPECT_EQ(w.launcher, "srun");
    EXPECT_EQ(w.rank, 5);
    EXPECT_EQ(w.local_rank, 1);
  }
  auto message = [](std::initializer_list<std::pair<const char*, const char*>> vars) {
    Env e(vars);
    try {
      read_world_env();
    } catch (const InputError& err) {
      return std::string(err.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message({{"WORLD_SIZE", "2"}, {"RANK", "2"}, {"MASTER_ADDR", "a"}, {"MASTER_PORT", "1"}}).find("RANK='2'"),
            std::string::npos);
  EXPECT_NE(message({{"WORLD_SIZE", "two"}}).find("WORLD_SIZE='two'"), std::string::npos);
  EXPECT_NE(message({{"WORLD_SIZE", "2"}, {"RANK", "0"}}).find("MASTER_ADDR is not set"), std::string::npos);
}

int free_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}


// The demo config for a few steps, small enough for a test.
std::string demo_args(const fs::path& out, int steps) {
  return fmt::format("train --config '{}' --set train.steps={} --set eval.every=0 --set train.log_samples_every=1 "
                     "--set train.checkpoint_every=1 --set train.output_dir='{}' --set train.threads=1",
                     (test::source_dir() / "configs/demo.yaml").string(), steps, out.string());
}

// Two ranks started as a launcher starts them (RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT), both
// waited for; the output is rank 0's then rank 1's, and the exit code the first non-zero one.
test::CommandResult run_two_ranks(const std::string& args) {
  test::TempDir logs;
  const std::string env = fmt::format("WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT={}", free_port());
  auto r = test::run_command(fmt::format(
      "cd '{0}' || exit 2; (RANK=1 {1} '{2}' {3} > '{4}/1.log' 2>&1; echo $? > '{4}/1.rc') & "
      "RANK=0 {1} '{2}' {3} > '{4}/0.log' 2>&1; echo $? > '{4}/0.rc'; wait; "
      "cat '{4}/0.log' '{4}/1.log'; exit $(( $(cat '{4}/0.rc') | $(cat '{4}/1.rc') ))",
      test::source_dir().string(), env, R1_BINARY, args, logs.path.string()));
  return r;
}

// Debian's torch 1.13 launcher (python3 -m torch.distributed.run); nullopt where python3 has no torch.
std::optional<test::CommandResult> run_torchrun(const std::string& args) {
  if (test::run_command("/usr/bin/python3 -c 'import torch.distributed.run'").exit_code != 0) return std::nullopt;
  return test::run_command(fmt::format(
      "cd '{}' && /usr/bin/python3 -m torch.distributed.run --nproc_per_node 2 --master_addr 127.0.0.1 "
      "--master_port {} --redirects 1 --tee 1 --no_python '{}' {}",
      test::source_dir().string(), free_port(), R1_BINARY, args));
}

// Largest absolute difference between the weights of two checkpoints.
double max_weight_difference(const fs::path& a, const fs::path& b) {
  auto fa = SafetensorsFile::open(a / "model.safetensors"), fb = SafetensorsFile::open(b / "model.safetensors");
  double worst = 0;
  for (const auto& e : fa.entries()) {
    auto x = fa.view(e).to(torch::kFloat64), y = fb.view(*fb.find(e.name)).to(torch::kFloat64);
    worst = std::max(worst, (x - y).abs().max().item<double>());
  }
  return worst;
}

// Metrics of both runs agree within `tol` (timings and throughputs aside).
void expect_same_metrics(const std::vector<json>& one, const std::vector<json>& two, double tol,
                         const std::string& what) {
  ASSERT_EQ(one.size(), two.size()) << what;
  for (std::size_t i = 0; i < one.size(); ++i) {
    for (const auto& [key, value] : one[i].items()) {
      if (key.starts_with("timing/") || key.starts_with("throughput/") || key.starts_with("memory/") ||
          !value.is_number())
        continue;
      ASSERT_TRUE(two[i].contains(key)) << what << ": " << key;
      const double a = value.get<double>(), b = two[i][key].get<double>();
      EXPECT_NEAR(a, b, tol * std::max(1.0, std::abs(a))) << what << " step " << i + 1 << " " << key;
    }
  }
}

// The runs on several ranks talk over Gloo on this CPU: a build without gloo's headers (the GPU
// kit's build against a torch wheel that ships none) skips them and says so; `--version` names
// the backends the binary has.
class DistRun : public ::testing::Test {
 protected:
  void SetUp() override {
    static const std::string version = test::run_r1train("--version").output;
    if (version.find("dist backends: gloo") == std::string::npos)
      GTEST_SKIP() << "this r1train was built without gloo (" << version << "): the multi-rank runs need it on the CPU";
  }
};

// Two ranks, each generating, scoring and training 8 of the 16 prompts of each step, make the
// same completions as one process (sampling streams follow the global prompt position) and the
// same update: the summed gradients differ from one process's only by float32 summation order.
// Tolerances: metrics 1e-5 relative, weights 1e-5 absolute after the steps (measured: 2e-6).
TEST_F(DistRun, TwoRanksEqualOneProcessForEveryLossType) {
  for (const std::string extra : {"", " --set grpo.loss_type=grpo --set grpo.scale_rewards=batch",
                                  " --set grpo.loss_type=bnpo", " --set grpo.loss_type=dr_grpo"}) {
    test::TempDir dir;
    const int steps = extra.empty() ? 3 : 1;
    auto one = test::run_r1train(demo_args(dir.path / "one", steps) + extra);
    ASSERT_EQ(one.exit_code, 0) << one.output;
    auto two = run_two_ranks(demo_args(dir.path / "two", steps) + extra);
    ASSERT_EQ(two.exit_code, 0) << two.output;
    expect_same_metrics(test::read_jsonl(dir.path / "one/metrics.jsonl"), test::read_jsonl(dir.path / "two/metrics.jsonl"), 1e-5,
                        extra);
    auto s1 = test::read_jsonl(dir.path / "one/samples.jsonl"), s2 = test::read_jsonl(dir.path / "two/samples.jsonl");
    ASSERT_EQ(s1.size(), s2.size());
    for (std::size_t i = 0; i < s1.size(); ++i) EXPECT_EQ(s1[i]["completion"], s2[i]["completion"]) << i;
    const auto last = fmt::format("checkpoints/step-{:06d}", steps);
    EXPECT_LT(max_weight_difference(dir.path / "one" / last, dir.path / "two" / last), 1e-5) << extra;
  }
}

// The same run launched by torch.distributed.run (torchrun's agent hosts the store): rank 0 says
// where it runs, rank 1 logs warnings and errors only, and the run is the one-process run.
TEST_F(DistRun, TorchrunLaunchesTheSameRun) {
  test::TempDir dir;
  auto two = run_torchrun(demo_args(dir.path / "two", 2) + " --set dist.shard_optimizer=true");
  if (!two) GTEST_SKIP() << "python3 has no torch here: the launcher is Debian's python3-torch (scripts/setup.sh)";
  ASSERT_EQ(two->exit_code, 0) << two->output;
  EXPECT_NE(two->output.find("torchrun: rank 0 of 2"), std::string::npos) << two->output;
  EXPECT_EQ(two->output.find("[rank 1] [info]"), std::string::npos) << "rank 1 logs warnings and errors only";
  auto one = test::run_r1train(demo_args(dir.path / "one", 2));
  ASSERT_EQ(one.exit_code, 0) << one.output;
  expect_same_metrics(test::read_jsonl(dir.path / "one/metrics.jsonl"), test::read_jsonl(dir.path / "two/metrics.jsonl"), 1e-5,
                      "torchrun");
}

// A 2-rank checkpoint is an ordinary one: one process resumes it and continues as the 2-rank run
// would have (the same as a one-process run through all the steps).
TEST_F(DistRun, TwoRankCheckpointResumesOnOneProcess) {
  test::TempDir dir;
  auto two = run_two_ranks(demo_args(dir.path / "run", 2));
  ASSERT_EQ(two.exit_code, 0) << two.output;
  auto resumed = test::run_r1train(demo_args(dir.path / "run", 3) + " --resume auto");
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  auto one = test::run_r1train(demo_args(dir.path / "one", 3));
  ASSERT_EQ(one.exit_code, 0) << one.output;
  expect_same_metrics(test::read_jsonl(dir.path / "one/metrics.jsonl"), test::read_jsonl(dir.path / "run/metrics.jsonl"), 1e-5,
                      "resumed");
  EXPECT_LT(max_weight_difference(dir.path / "one/checkpoints/step-000003", dir.path / "run/checkpoints/step-000003"),
            1e-5);
}

// ZeRO-1: with dist.shard_optimizer each rank keeps AdamW's state for half of the flat parameter
// vector, and rank 0's checkpoint holds both shards. The run equals one process's (weights within
// 1e-5 after 3 steps, the same tolerance as unsharded: the update is elementwise, only the summed
// gradient and the norm's summation order differ).
TEST_F(DistRun, ShardedOptimizerStateGivesTheSameRun) {
  test::TempDir dir;
  const std::string shard = " --set dist.shard_optimizer=true";
  auto two = run_two_ranks(demo_args(dir.path / "two", 3) + shard);
  ASSERT_EQ(two.exit_code, 0) << two.output;
  EXPECT_NE(two.output.find("sharded over 2 ranks"), std::string::npos) << two.output;
  auto one = test::run_r1train(demo_args(dir.path / "one", 3));
  ASSERT_EQ(one.exit_code, 0) << one.output;
  expect_same_metrics(test::read_jsonl(dir.path / "one/metrics.jsonl"), test::read_jsonl(dir.path / "two/metrics.jsonl"), 1e-5,
                      "sharded");
  const fs::path last = dir.path / "two/checkpoints/step-000003";
  EXPECT_TRUE(fs::exists(last / "optimizer.rank-0-of-2.pt"));
  EXPECT_TRUE(fs::exists(last / "optimizer.rank-1-of-2.pt"));
  EXPECT_FALSE(fs::exists(last / "optimizer.pt"));
  EXPECT_LT(max_weight_difference(dir.path / "one/checkpoints/step-000003", last), 1e-5);
}

// Resume across layouts and world sizes, each continuing as the uninterrupted run does: a sharded
// 2-rank checkpoint resumed by 2 sharded ranks (the interrupted-and-resumed 2-rank run) and by one
// process (state re-sharded, said in the log); a one-process checkpoint resumed by 2 sharded ranks.
TEST_F(DistRun, ShardedCheckpointsResumeOnAnyWorldSize) {
  test::TempDir dir;
  const std::string shard = " --set dist.shard_optimizer=true";
  auto full = run_two_ranks(demo_args(dir.path / "full", 3) + shard);
  ASSERT_EQ(full.exit_code, 0) << full.output;

  auto first = run_two_ranks(demo_args(dir.path / "again", 2) + shard);
  ASSERT_EQ(first.exit_code, 0) << first.output;
  fs::copy(dir.path / "again", dir.path / "single", fs::copy_options::recursive);
  auto again = run_two_ranks(demo_args(dir.path / "again", 3) + shard + " --resume auto");
  ASSERT_EQ(again.exit_code, 0) << again.output;
  expect_same_metrics(test::read_jsonl(dir.path / "full/metrics.jsonl"), test::read_jsonl(dir.path / "again/metrics.jsonl"), 1e-6,
                      "2 ranks resumed on 2");
  EXPECT_LT(max_weight_difference(dir.path / "full/checkpoints/step-000003", dir.path / "again/checkpoints/step-000003"),
            1e-6);

  auto single = test::run_r1train(demo_args(dir.path / "single", 3) + " --resume auto");
  ASSERT_EQ(single.exit_code, 0) << single.output;
  EXPECT_NE(single.output.find("2 shards written by 2 ranks, re-sharded for one process"), std::string::npos)
      << single.output;
  expect_same_metrics(test::read_jsonl(dir.path / "full/metrics.jsonl"), test::read_jsonl(dir.path / "single/metrics.jsonl"), 1e-5,
                      "2 sharded ranks resumed on 1");
  EXPECT_LT(
      max_weight_difference(dir.path / "full/checkpoints/step-000003", dir.path / "single/checkpoints/step-000003"),
      1e-5);

  auto one = test::run_r1train(demo_args(dir.path / "one", 2));
  ASSERT_EQ(one.exit_code, 0) << one.output;
  auto widened = run_two_ranks(demo_args(dir.path / "one", 3) + shard + " --resume auto");
  ASSERT_EQ(widened.exit_code, 0) << widened.output;
  expect_same_metrics(test::read_jsonl(dir.path / "full/metrics.jsonl"), test::read_jsonl(dir.path / "one/metrics.jsonl"), 1e-5,
                      "1 process resumed on 2 sharded ranks");
  EXPECT_LT(max_weight_difference(dir.path / "full/checkpoints/step-000003", dir.path / "one/checkpoints/step-000003"),
            1e-5);
}

// Evaluation is split too: each rank generates for its share of the held-out problems and rank 0
// summarises them all. Before training (step 0) the weights are the same, so eval.jsonl equals one
// process's exactly.
TEST_F(DistRun, EvaluationIsSplitOverTheRanks) {
  test::TempDir dir;
  const std::string eval = " --set eval.every=1 --set eval.max_problems=24";
  auto one = test::run_r1train(demo_args(dir.path / "one", 1) + eval);
  ASSERT_EQ(one.exit_code, 0) << one.output;
  auto two = run_two_ranks(demo_args(dir.path / "two", 1) + eval);
  ASSERT_EQ(two.exit_code, 0) << two.output;
  auto e1 = test::read_jsonl(dir.path / "one/eval.jsonl"), e2 = test::read_jsonl(dir.path / "two/eval.jsonl");
  ASSERT_EQ(e1.size(), 2u);
  ASSERT_EQ(e2.size(), 2u);
  EXPECT_EQ(e1[0].dump(), e2[0].dump());
  EXPECT_EQ(e2[1]["problems"], 24);
}

// The demo (40 steps, as DemoRun.GrpoTeachesTheBaseToThinkAndAccuracyRises runs it) on 2 ranks
// with the optimizer state sharded meets the same targets.
TEST_F(DistRun, DemoOnTwoShardedRanksMeetsItsTargets) {
  test::TempDir dir;
  auto two = run_two_ranks(fmt::format(
      "train --config '{}' --set train.steps=40 --set eval.every=40 --set train.checkpoint_every=0 "
      "--set train.log_samples_every=0 --set train.threads=1 --set dist.shard_optimizer=true "
      "--set train.output_dir='{}'",
      (test::source_dir() / "configs/demo.yaml").string(), (dir.path / "run").string()));
  ASSERT_EQ(two.exit_code, 0) << two.output;
  test::expect_demo_targets(dir.path / "run");
}

// A rank that dies (SIGKILL, no chance to say anything) makes the other fail with a message
// naming itself, the collective and the lost rank (from the heartbeats), well within dist.timeout_s, and the newest complete
// checkpoint stays loadable.
TEST_F(DistRun, AKilledRankMakesTheOtherExitWithAClearError) {
  test::TempDir dir;
  const int port = free_port();
  const std::string args = demo_args(dir.path / "run", 200) + " --set dist.timeout_s=60";
  const std::string env = fmt::format("WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT={}", port);
  const auto script = fmt::format(
      "cd '{0}' && start=$(date +%s); "
      "(RANK=0 {1} '{2}' {3} > '{4}/rank0.log' 2>&1; echo $? > '{4}/rc0') & "
      "RANK=1 {1} '{2}' {3} > '{4}/rank1.log' 2>&1 & pid1=$!; "
      "for i in $(seq 600); do [ -e '{4}/run/checkpoints/step-000002' ] && break; sleep 0.1; done; "
      "kill -9 $pid1; wait; echo elapsed $(( $(date +%s) - start ))",
      test::source_dir().string(), env, R1_BINARY, args, dir.path.string());
  auto r = test::run_command(script);
  std::ifstream rc_file(dir.path / "rc0");
  int rc0 = -1;
  rc_file >> rc0;
  std::ifstream log0(dir.path / "rank0.log");
  const std::string out0((std::istreambuf_iterator<char>(log0)), std::istreambuf_iterator<char>());
  EXPECT_NE(rc0, 0) << out0;
  EXPECT_NE(out0.find("rank 0:"), std::string::npos) << out0;
  EXPECT_NE(out0.find("with the other ranks failed"), std::string::npos) << out0;
  EXPECT_NE(out0.find("rank 1 stopped (no heartbeat"), std::string::npos) << out0;
  const auto elapsed = std::stoi(r.output.substr(r.output.rfind("elapsed ") + 8));
  EXPECT_LT(elapsed, 60) << r.output;
  // The newest checkpoint `latest` names is complete.
  std::ifstream latest(dir.path / "run/checkpoints/latest");
  std::string name;
  latest >> name;
  ASSERT_FALSE(name.empty());
  EXPECT_TRUE(fs::exists(dir.path / "run/checkpoints" / name / "model.safetensors"));
  EXPECT_TRUE(fs::exists(dir.path / "run/checkpoints" / name / "trainer_state.json"));
}

// SIGINT to one rank only: every rank stops at the same step, one checkpoint is saved, and both
// exit with 130.
TEST_F(DistRun, SigintOnOneRankStopsEveryRankAfterOneSave) {
  test::TempDir dir;
  const std::string args = demo_args(dir.path / "run", 200) + " --set train.checkpoint_every=0";
  const std::string env = fmt::format("WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT={}", free_port());
  const auto script = fmt::format(
      "cd '{0}' || exit 2; (RANK=0 {1} '{2}' {3} > '{4}/rank0.log' 2>&1; echo $? > '{4}/rc0') & "
      "(RANK=1 exec env {1} '{2}' {3} > '{4}/rank1.log' 2>&1) & pid1=$!; "
      "for i in $(seq 600); do grep -q 'step 3/' '{4}/rank0.log' 2>/dev/null && break; sleep 0.1; done; "
      "kill -INT $pid1; wait $pid1; echo rc1 $?; wait",
      test::source_dir().string(), env, R1_BINARY, args, dir.path.string());
  auto r = test::run_command(script);
  EXPECT_NE(r.output.find("rc1 130"), std::string::npos) << r.output;
  std::ifstream rc_file(dir.path / "rc0");
  int rc0 = -1;
  rc_file >> rc0;
  EXPECT_EQ(rc0, 130);
  int saved = 0;
  for (const auto& e : fs::directory_iterator(dir.path / "run/checkpoints"))
    saved += e.path().filename().string().starts_with("step-") ? 1 : 0;
  EXPECT_EQ(saved, 1);
}

}  // namespace
}  // namespace r1
