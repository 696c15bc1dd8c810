// `chaja backup DIR`: a consistent copy of the data folder while `chaja serve` keeps writing
// (index/backup.h). `chaja search --data DIR` and `chaja serve --data DIR` use the copy as is.
#pragma once

#include "agent/cli_args.h"

namespace chaja {

// Exit codes as every command: 0 ok, 1 runtime error, 2 bad usage (a target that is not a new
// or empty folder included).
int cmd_backup(const cli::Args& a);

}  // namespace chaja
