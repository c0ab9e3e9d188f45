#include "r1/cli/commands.h"

int main(int argc, char** argv) { return r1::cli::run(argc, argv); }
