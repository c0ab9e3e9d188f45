// Optimizer, schedules, checkpoint directories and JSONL logs.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "r1/core/jsonl.h"
#include "r1/train/checkpoint.h"
#include "r1/core/error.h"
#include "r1/core/output_file.h"
#include "r1/train/optimizer.h"
#include "r1/train/optimizer_state.h"
#include "test_util.h"

namespace r1 {
namespace {

OptimConfig opt(double lr, int warmup, Schedule schedule) {
  OptimConfig c;
  c.lr = lr;
  c.warmup_steps = warmup;
  c.schedule = schedule;
  return c;
}

TEST(Schedule, WarmupThenShapes) {
  // warmup 4 of 10 updates: lr * (u + 1) / 5 for u < 4.
  EXPECT_DOUBLE_EQ(scheduled_lr(opt(1, 4, Schedule::Constant), 0, 10), 0.2);
  EXPECT_DOUBLE_EQ(scheduled_lr(opt(1, 4, Schedule::Constant), 3, 10), 0.8);
  EXPECT_DOUBLE_EQ(scheduled_lr(opt(1, 4, Schedule::Constant), 9, 10), 1.0);
  // linear: 1 - (u - 4) / 6; u = 9 -> 1/6.
  EXPECT_DOUBLE_EQ(scheduled_lr(opt(1, 4, Schedule::Linear), 4, 10), 1.0);
  EXPECT_NEAR(scheduled_lr(opt(1, 4, Schedule::Linear), 9, 10), 1.0 / 6, 1e-12);
  // cosine: 0.5 (1 + cos(pi (u - 4) / 6)); u = 7 -> 0.5 (1 + cos(pi / 2)) = 0.5.
  EXPECT_NEAR(scheduled_lr(opt(1, 4, Schedule::Cosine), 7, 10), 0.5, 1e-12);
  EXPECT_NEAR(scheduled_lr(opt(1, 0, Schedule::Cosine), 10, 10), 0.0, 1e-12);
}

TEST(Optimizer, AdamWFirstStepByHand) {
  // p = 1, g = 0.5, lr 0.1, betas (0.9, 0.99), weight decay 0.1:
  // decay: p = 1 * (1 - 0.1 * 0.1) = 0.99; m_hat = g, v_hat = g^2, update = lr * g / |g| = 0.1 -> 0.89.
  auto p = torch::ones({1}).requires_grad_(true);
  auto c = opt(0.1, 0, Schedule::Constant);
  c.weight_decay = 0.1;
  c.max_grad_norm = 0;
  Optimizer o({p}, c, 10);
  p.mutable_grad() = torch::full({1}, 0.5f);
  auto s = o.step(0);
  EXPECT_TRUE(s.applied);
  EXPECT_DOUBLE_EQ(s.grad_norm, 0.5);
  EXPECT_NEAR(p.item<float>(), 0.89f, 1e-6);
}

TEST(Optimizer, Bf16ParamsGetFp32MastersAndNonFiniteIsSkipped) {
  auto p = torch::ones({2}, torch::kBFloat16).requires_grad_(true);
  auto c = opt(1e-3, 0, Schedule::Constant);
  Optimizer o({p}, c, 10);
  // Each AdamW step moves by lr = 1e-3, less than half the bf16 spacing below 1.0
  // (2^-8 / 2 = 0.00195), so updating bf16 weights directly would never move them. The fp32
  // master accumulates ten steps to 0.99, which rounds to the nearest bf16: 253/256 = 0.98828125.
  for (int i = 0; i < 10; ++i) {
    p.mutable_grad() = torch::ones({2}, torch::kBFloat16);
    ASSERT_TRUE(o.step(i).applied);
  }
  EXPECT_FLOAT_EQ(p[0].item<float>(), 0.98828125f);
  p.mutable_grad() = torch::full({2}, std::numeric_limits<float>::quiet_NaN()).to(torch::kBFloat16);
  auto s = o.step(10);
  EXPECT_FALSE(s.applied);
  EXPECT_FLOAT_EQ(p[0].item<float>(), 0.98828125f);
}

TEST(Optimizer, ClipsByTotalNormAndRoundTripsState) {
  test::TempDir dir;
  auto p = torch::zeros({2}).requires_grad_(true);
  auto c = opt(0.1, 0, Schedule::Constant);
  c.max_grad_norm = 1.0;
  Optimizer o({p}, c, 10);
  p.mutable_grad() = torch::tensor({3.f, 4.f});
  EXPECT_DOUBLE_EQ(o.step(0).grad_norm, 5.0);  // sqrt(9 + 16)
  // Clipped to norm 1: [3, 4] * 1 / (5 + 1e-6) = [0.6, 0.8] (Adam's first step alone would not show
  // it: its update does not depend on the gradient's scale).
  EXPECT_NEAR(p.grad()[0].item<double>(), 0.6, 1e-6);
  EXPECT_NEAR(p.grad()[1].item<double>(), 0.8, 1e-6);
  o.save(dir.path);
  auto q = p.detach().clone().requires_grad_(true);
  Optimizer o2({q}, c, 10);
  o2.load(dir.path);
  p.mutable_grad() = torch::tensor({1.f, -1.f});
  q.mutable_grad() = torch::tensor({1.f, -1.f});
  o.step(1);
  o2.step(1);
  EXPECT_TRUE(torch::equal(p, q));  // same moments after reload -> same update
}

// A parameter that got no gradient in an update is not stepped, as torch::optim::AdamW skips a
// parameter whose .grad is None: in float32 and with bf16 masters alike, also when gradients()
// filled its gradient with zeros (as a distributed step's all-reduce does); its update count
// stays behind and travels through a checkpoint. Reference: torch::optim::AdamW on float32 copies.
TEST(Optimizer, ParametersWithoutAGradientAreSkippedInEveryMode) {
  auto c = opt(0.1, 0, Schedule::Constant);
  c.weight_decay = 0.1;  // a zero-gradient step would still move the weights
  c.max_grad_norm = 0;
  for (auto dtype : {torch::kFloat32, torch::kBFloat16}) {
    for (bool fill_zeros : {false, true}) {
      SCOPED_TRACE(std::string(dtype == torch::kFloat32 ? "float32" : "bf16") + (fill_zeros ? ", gradients()" : ""));
      test::TempDir dir;
      auto a = torch::full({3}, 0.5, dtype).requires_grad_(true);
      auto b = torch::full({2}, -0.25, dtype).requires_grad_(true);
      Optimizer o({a, b}, c, 10);
      auto ra = a.detach().to(torch::kFloat32).clone().requires_grad_(true);
      auto rb = b.detach().to(torch::kFloat32).clone().requires_grad_(true);
      torch::optim::AdamW reference({ra, rb}, torch::optim::AdamWOptions(0.1).betas({0.9, 0.99}).eps(1e-8).weight_decay(0.1));
      torch::Tensor ga, gb;  // this update's gradients in the model's dtype
      auto grads = [&](bool with_b, float scale) {
        o.zero_grad();
        reference.zero_grad();
        ga = (torch::tensor({0.3f, -0.2f, 0.1f}) * scale).to(dtype);
        gb = (torch::tensor({0.4f, 0.5f}) * scale).to(dtype);
        a.mutable_grad() = ga.clone();
        ra.mutable_grad() = ga.to(torch::kFloat32);
        if (with_b) {
          b.mutable_grad() = gb.clone();
          rb.mutable_grad() = gb.to(torch::kFloat32);
        } else {
          rb.mutable_grad() = torch::Tensor();  // torch::optim::AdamW skips it
        }
        if (fill_zeros) o.gradients();
      };
      grads(true, 1.0f);
      ASSERT_TRUE(o.step(0).applied);
      reference.step();
      grads(false, 2.0f);
      const auto b_before = b.detach().clone();
      ASSERT_TRUE(o.step(1).applied);
      reference.step();
      EXPECT_TRUE(torch::equal(b, b_before)) << "b moved without a gradient";
      o.save(dir.path);
      auto a2 = a.detach().clone().requires_grad_(true), b2 = b.detach().clone().requires_grad_(true);
      Optimizer resumed({a2, b2}, c, 10);
      resumed.load(dir.path);
      // Update 3 with both: b's count is 2, a's 3 (bias correction differs from a shared count).
      grads(true, -1.0f);
      a2.mutable_grad() = ga.clone();
      b2.mutable_grad() = gb.clone();
      ASSERT_TRUE(o.step(2).applied);
      ASSERT_TRUE(resumed.step(2).applied);
      reference.step();
      const double tol = dtype == torch::kFloat32 ? 1e-6 : 1e-2;  // bf16: the weights are rounded copies
      EXPECT_LT((a.to(torch::kFloat32) - ra).abs().max().item<double>(), tol);
      EXPECT_LT((b.to(torch::kFloat32) - rb).abs().max().item<double>(), tol);
      EXPECT_TRUE(torch::equal(a2, a));
      EXPECT_TRUE(torch::equal(b2, b));
    }
  }
}

// A ZeRO-1 shard written before per-parameter update counts (range, step, moments only) reads as
// every parameter at that count; one written now keeps each count. Hand-written files.
TEST(Optimizer, ShardFilesWithAndWithoutPerParameterCounts) {
  test::TempDir dir;
  std::vector<torch::Tensor> params = {torch::zeros({3}), torch::zeros({2})};
  const FlatLayout layout(params);
  ASSERT_EQ(layout.total, 5);
  torch::serialize::OutputArchive old_format;
  old_format.write("range", torch::tensor({int64_t{0}, int64_t{5}, int64_t{5}}, torch::kInt64));
  old_format.write("step", torch::tensor({int64_t{3}}, torch::kInt64));
  old_format.write("exp_avg", torch::arange(5, torch::kFloat32));
  old_format.write("exp_avg_sq", torch::ones({5}));
  old_format.save_to((dir.path / "optimizer.rank-0-of-1.pt").string());
  auto flat = read_shards(shard_files(dir.path), params, layout, 0, 5, /*masters=*/false);
  EXPECT_EQ(flat.steps, (std::vector<int64_t>{3, 3}));
  EXPECT_TRUE(torch::equal(flat.exp_avg, torch::arange(5, torch::kFloat32)));
  // Written now: each parameter's own count, read back as written (and a slice [2, 4) of it).
  flat.steps = {4, 2};
  write_file(dir.path / "optimizer.rank-0-of-1.pt", shard_bytes(flat, 0, 5, 5));
  auto again = read_shards(shard_files(dir.path), params, layout, 2, 4, false);
  EXPECT_EQ(again.steps, (std::vector<int64_t>{4, 2}));
  EXPECT_TRUE(torch::equal(again.exp_avg, torch::tensor({2.f, 3.f})));
  // Counts for another number of parameters: written for a different model.
  EXPECT_THROW(read_shards(shard_files(dir.path), {torch::zeros({5})}, FlatLayout({torch::zeros({5})}), 0, 5, false),
               InputError);
}

// The foreach update is torch::optim::AdamW's arithmetic in the same order: bit-identical
// parameters after several steps (with weight decay, clipping off), and its state is the one
// torch::optim::AdamW saves and loads.
TEST(Optimizer, ForeachUpdateIsBitIdenticalToTorchAdamW) {
  torch::manual_seed(3);
  std::vector<torch::Tensor> ours, theirs;
  for (auto shape : {std::vector<int64_t>{7, 5}, std::vector<int64_t>{3}, std::vector<int64_t>{2, 2, 2}}) {
    auto init = torch::randn(shape);
    ours.push_back(init.clone().requires_grad_(true));
    theirs.push_back(init.clone().requires_grad_(true));
  }
  auto c = opt(0.01, 0, Schedule::Constant);
  c.weight_decay = 0.05;
  c.max_grad_norm = 0;
  Optimizer optimizer(ours, c, 10);
  torch::optim::AdamW reference(theirs, torch::optim::AdamWOptions(0.01).betas({c.betas[0], c.betas[1]}).eps(c.eps)
                                            .weight_decay(0.05));
  for (int step = 0; step < 4; ++step) {
    for (std::size_t i = 0; i < ours.size(); ++i) {
      auto g = torch::randn(ours[i].sizes());
      ours[i].mutable_grad() = g.clone();
      theirs[i].mutable_grad() = g.clone();
    }
    ASSERT_TRUE(optimizer.step(step).applied);
    reference.step();
  }
  for (std::size_t i = 0; i < ours.size(); ++i) EXPECT_TRUE(torch::equal(ours[i], theirs[i])) << "parameter " << i;
}

// A bf16 parameter whose update gathers 300 micro-batch gradients of 1 + 2^-7 (exact in bf16):
// in float32 the sum is 300 x 1.0078125 = 302.34375 exactly; a bf16 running sum rounds at every
// addition (spacing 1 from 128, 2 from 256) and ends at 346. accumulate_gradients keeps the
// float32 sum, which gradients() returns and step() applies.
TEST(Optimizer, Bf16GradientsOfMicroBatchesAreSummedInFloat32) {
  auto w = torch::zeros({3}, torch::kBFloat16).requires_grad_(true);
  auto c = opt(0.1, 0, Schedule::Constant);
  c.max_grad_norm = 0;
  Optimizer optimizer({w}, c, 10);
  auto bf16_sum = torch::zeros({3}, torch::kBFloat16);
  for (int k = 0; k < 300; ++k) {
    w.mutable_grad() = torch::full({3}, 1.0078125, torch::kBFloat16);  // what a backward leaves
    bf16_sum += w.grad();
    optimizer.accumulate_gradients();
    ASSERT_FALSE(w.grad().defined()) << "cleared for the next micro-batch";
  }
  auto sums = optimizer.gradients();
  ASSERT_EQ(sums.size(), 1u);
  EXPECT_EQ(sums[0].scalar_type(), torch::kFloat32);
  EXPECT_EQ(sums[0][1].item<float>(), 302.34375f);
  EXPECT_EQ(bf16_sum[1].item<float>(), 346.0f) << "what summing in bf16 gives";
  // The update uses the float32 sum: AdamW's first step moves each weight by -lr (m / sqrt(v) = 1).
  ASSERT_TRUE(optimizer.step(0).applied);
  EXPECT_NEAR(w[0].item<float>(), -0.1f, 1e-3);
  optimizer.zero_grad();
  EXPECT_EQ(optimizer.gradients()[0][0].item<float>(), 0.0f) << "zero_grad clears the sums";
}

// The fused kernel (what the optimizer runs on CUDA) against the foreach update over 4 steps with
// weight decay, where this libtorch has it for the CPU (2.4+): the same arithmetic up to float32
// rounding order.
TEST(Optimizer, FusedAdamWMatchesTheForeachUpdate) {
  if (!fused_adamw_available(torch::kCPU)) GTEST_SKIP() << "this libtorch has no fused AdamW on the CPU (2.4+)";
  torch::manual_seed(4);
  auto c = opt(0.01, 0, Schedule::Constant);
  c.weight_decay = 0.05;
  std::vector<torch::Tensor> p1, g1, m1, v1, p2, g2, m2, v2;
  for (auto shape : {std::vector<int64_t>{7, 5}, std::vector<int64_t>{3}}) {
    auto init = torch::randn(shape);
    p1.push_back(init.clone());
    p2.push_back(init.clone());
    m1.push_back(torch::zeros(shape));
    m2.push_back(torch::zeros(shape));
    v1.push_back(torch::zeros(shape));
    v2.push_back(torch::zeros(shape));
  }
  for (int64_t step = 1; step <= 4; ++step) {
    g1.clear();
    g2.clear();
    for (const auto& p : p1) {
      auto g = torch::randn(p.sizes());
      g1.push_back(g.clone());
      g2.push_back(g.clone());
    }
    adamw_update(p1, g1, m1, v1, step, 0.01, c, /*fused=*/false);
    adamw_update(p2, g2, m2, v2, step, 0.01, c, /*fused=*/true);
  }
  for (std::size_t i = 0; i < p1.size(); ++i) {
    EXPECT_TRUE(torch::allclose(p1[i], p2[i], 1e-5, 1e-6)) << i;
    EXPECT_TRUE(torch::allclose(v1[i], v2[i], 1e-5, 1e-7)) << i;
  }
}

TEST(Checkpoint, AtomicLatestAndKeepLast) {
  test::TempDir dir;
  auto write_state = [](int64_t step) {
    return [step](const std::filesystem::path& d) {
      std::ofstream(d / "trainer_state.json") << "{\"step\": " << step << "}";
    };
  };
  save_checkpoint(dir.path, 5, 2, write_state(5));
  save_checkpoint(dir.path, 10, 2, write_state(10));
  save_checkpoint(dir.path, 15, 2, write_state(15));
  auto root = dir.path / "checkpoints";
  EXPECT_FALSE(std::filesystem::exists(root / "step-000005"));
  EXPECT_TRUE(std::filesystem::exists(root / "step-000010"));
  EXPECT_EQ(*find_latest_checkpoint(dir.path), root / "step-000015");
  // A crash mid-write leaves a temporary dir and an incomplete step dir: both ignored.
  std::filesystem::create_directories(root / ".tmp-step-000020-1");
  std::filesystem::create_directories(root / "step-000020");
  std::ofstream(root / "latest") << "step-000020\n";
  EXPECT_EQ(*find_latest_checkpoint(dir.path), root / "step-000015");
  EXPECT_FALSE(find_latest_checkpoint(dir.path / "nothing").has_value());
}

TEST(JsonlLog, ResumeDropsStepsAfterTheCheckpoint) {
  test::TempDir dir;
  auto path = dir.path / "metrics.jsonl";
  {
    JsonlLog log(path, -1);
    for (int s = 1; s <= 4; ++s) log.write({{"step", s}});
  }
  std::ofstream(path, std::ios::app) << "{\"step\": 5, \"rew";  // cut short by a crash
  {
    JsonlLog log(path, 2);
    log.write({{"step", 3}, {"again", true}});
  }
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[2], "{\"again\":true,\"step\":3}");
}

}  // namespace
}  // namespace r1
