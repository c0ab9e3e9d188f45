#include "r1/cli/run.h"

int main(int argc, char** argv) { return r1::cli::run(argc, argv); }
