// `chaja config check [--config FILE]`: validates the configuration file and prints what it
// configures, with the environment's overrides; secrets are shown only as where they come from.
#pragma once

#include "agent/cli_args.h"

namespace chaja {

// 0 when the file is valid, 2 when it is not (the message names the line), 1 when it cannot be
// read.
int cmd_config(const cli::Args& a);

}  // namespace chaja
