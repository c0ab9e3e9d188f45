// The sentencepiece/protobuf hazard: a real SentencePiece model and libtorch in one process.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "r1/core/error.h"
#include "r1/tokenizer/sentencepiece.h"
#include "test_util.h"

namespace r1 {
namespace {

TEST(SentencePiece, RealModelAndTorchInOneProcess) {
  test::TempDir dir;
  std::string corpus;
  const char* lines[] = {"the quick brown fox jumps over the lazy dog", "hello world, this is r1train",
                         "grpo samples a group of completions", "rewards are normalised within the group"};
  for (int i = 0; i < 200; ++i) corpus += std::string(lines[i % 4]) + "\n";
  auto input = dir.write("corpus.txt", corpus);
  auto r = test::run_command("spm_train --input=" + input.string() + " --model_prefix=" + (dir.path / "m").string() +
                             " --vocab_size=80 --model_type=bpe");
  ASSERT_EQ(r.exit_code, 0) << r.output;

  auto a = torch::arange(6, torch::kFloat32).reshape({2, 3});
  SentencePiece sp(dir.path / "m.model");
  auto ids = sp.encode("hello world");
  ASSERT_FALSE(ids.empty());
  EXPECT_EQ(sp.decode(ids), "hello world");
  EXPECT_EQ(sp.vocab_size(), 80);
  // A torch op after sentencepiece ran: [[0,1,2],[3,4,5]] @ [[0,1,2],[3,4,5]]^T = [[5,14],[14,50]]
  auto b = a.matmul(a.t());
  EXPECT_FLOAT_EQ(b[0][0].item<float>(), 5.f);
  EXPECT_FLOAT_EQ(b[1][1].item<float>(), 50.f);
  EXPECT_THROW(sp.decode({100000}), InputError);
}

TEST(SentencePiece, MissingOrCorruptModelIsInputError) {
  test::TempDir dir;
  EXPECT_THROW(SentencePiece(dir.path / "absent.model"), InputError);
  auto junk = dir.write("junk.model", "this is not a protobuf");
  EXPECT_THROW(SentencePiece{junk}, InputError);
}

}  // namespace
}  // namespace r1
