#include <fstream>
#include <iostream>
#include <memory>

#include "r1/cli/commands.h"
#include "r1/core/error.h"
#include "r1/core/output_file.h"
#include "r1/data/demo_corpus.h"
#include "r1/data/task_generators.h"

namespace r1::cli {

namespace {

struct GenDataOptions {
  std::string task;
  std::size_t n = 1000;
  uint64_t seed = 42;
  std::string output;
};

int gen_data(const GenDataOptions& o) {
  auto demo_rows = generate_demo_task(o.task, o.n, o.seed);
  auto rows = demo_rows ? std::move(*demo_rows) : generate_task(o.task, o.n, o.seed);
  OutputFile out(o.output);
  for (const auto& row : rows) out.write(row.dump() + "\n");
  out.close();
  std::cerr << "wrote " << rows.size() << " " << o.task << " problems to " << o.output << "\n";
  return kExitOk;
}

}  // namespace

void add_gen_data_command(CLI::App& app, Action& action) {
  std::string tasks;
  for (const auto& g : task_generators()) tasks += "\n  " + g.name + ": " + g.description;
  for (const auto& g : demo_task_generators()) tasks += "\n  " + g.name + ": " + g.description;
  auto* sub = app.add_subcommand("gen-data", "Generate a synthetic training set (JSONL). Tasks:" + tasks);
  auto o = std::make_shared<GenDataOptions>();
  sub->add_option("task", o->task, "Task name (listed above)")->required();
  sub->add_option("--n", o->n, "Number of problems")->capture_default_str()->check(at_least(1));
  sub->add_option("--seed", o->seed, "Random seed (same seed, same file)")->capture_default_str();
  sub->add_option("--output,-o", o->output, "Output JSONL file")->required();
  sub->callback([&action, o] { action = [o] { return gen_data(*o); }; });
}

}  // namespace r1::cli
