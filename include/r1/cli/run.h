// The r1train entry point: parses argv, runs the chosen subcommand, returns the exit code.
#pragma once

namespace r1::cli {

// Parses argv, sets up logging and threads, runs the chosen subcommand and maps
// errors to exit codes (0 ok, 1 failure, 2 bad input, 130 interrupted).
int run(int argc, char** argv);

}  // namespace r1::cli
