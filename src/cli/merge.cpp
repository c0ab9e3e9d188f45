#include <spdlog/spdlog.h>

#include "r1/cli/commands.h"
#include "r1/core/error.h"
#include "r1/core/hub.h"
#include "r1/model/decoder.h"
#include "r1/model/lora.h"

namespace r1::cli {

namespace {

struct MergeArgs {
  std::string model, adapter, output;
};

// The base's stored dtype (config.json torch_dtype), so that the merged model is stored like it.
torch::Dtype stored_dtype(const TransformerConfig& config) {
  if (config.torch_dtype == "bfloat16") return torch::kBFloat16;
  if (config.torch_dtype == "float16") return torch::kFloat16;
  return torch::kFloat32;
}

int merge(const MergeArgs& args) {
  const auto config = TransformerConfig::from_json_file(std::filesystem::path(args.model) / "config.json");
  auto loaded = load_model(args.model, stored_dtype(config), torch::kCPU);
  const LoraConfig lora = load_adapter(loaded.model, args.adapter);
  merge_lora(loaded.model);  // W + scaling * B A in float32, stored in the base's dtype
  save_model(loaded.model, loaded.config, args.output, args.model);
  spdlog::info("merged {} (LoRA r {}, alpha {}) into {}: {}", args.adapter, lora.r, lora.alpha, args.model,
               args.output);
  return kExitOk;
}

}  // namespace

void add_merge_command(CLI::App& app, Action& action) {
  auto* sub = app.add_subcommand("merge", "Fold a LoRA adapter into its base model: a plain Hugging Face model "
                                          "directory with W + scaling * B A");
  auto args = std::make_shared<MergeArgs>();
  sub->add_option("--model,-m", args->model, "Base model directory (config.json, *.safetensors, tokenizer files)")
      ->required();
  sub->add_option("--adapter", args->adapter, "Adapter directory (adapter_config.json, adapter_model.safetensors)")
      ->required();
  sub->add_option("--output,-o", args->output, "Directory to write the merged model to")->required();
  sub->callback([&action, args] {
    action = [args] {
      args->model = resolve_model_dir(args->model);  // a hub id: its snapshot in the local cache
      return merge(*args);
    };
  });
}

}  // namespace r1::cli
