// The `chaja` command line (CONTRACT §1). Exit codes: 0 ok, 1 runtime error, 2 bad usage.
#pragma once

namespace chaja {

int run_cli(int argc, char** argv);

}  // namespace chaja
