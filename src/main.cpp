#include "r1/cli/commands.h"
#include "r1/runtime.h"

int main(int argc, char** argv) {
  r1::ensure_idle_threads_sleep(argv);
  return r1::cli::run(argc, argv);
}
