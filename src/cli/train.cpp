#include <spdlog/spdlog.h>

#include <memory>

#include "r1/cli/commands.h"
#include "r1/core/config.h"
#include "r1/core/log.h"
#include "r1/dist/world.h"
#include "r1/model/device.h"
#include "r1/rl/trainer.h"

namespace r1::cli {

void add_train_command(CLI::App& app, Action& action) {
  auto* sub = app.add_subcommand("train", "GRPO training from a YAML config (`r1train --config F` is the same)");
  struct Args {
    std::string file;
    std::vector<std::string> overrides;
    ResumeOptions resume;
  };
  auto args = std::make_shared<Args>();
  add_config_options(sub, args->file, args->overrides);
  add_resume_options(sub, args->resume, "train.output_dir");
  sub->callback([&action, args] {
    action = [args] {
      Config config = load_config({args->file, args->overrides}, ConfigUse::Train);
      if (config.train.threads > 0) configure_threads(config.train.threads);
      const WorldEnv world = read_world_env();  // torchrun / srun; one process when neither
      if (world.size == 1) {
        Trainer trainer(config, args->resume);
        trainer.run();
        return 0;
      }
      log_as_rank(world.rank);
      torch::Device device = resolve_device(config.model.device);
      if (device.is_cuda()) {  // one GPU per rank of a node
        device = torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(world.local_rank));
        config.model.device = device.str();
      }
      Communicator comm(world, config.dist.backend, device, std::chrono::seconds(config.dist.timeout_s));
      spdlog::info("{}: rank {} of {} on {} ({} backend)", world.launcher, world.rank, world.size, device.str(),
                   option_name(config.dist.backend));
      Trainer trainer(config, args->resume, &comm);
      trainer.run();
      return 0;
    };
  });
}

}  // namespace r1::cli
