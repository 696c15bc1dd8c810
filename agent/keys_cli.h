// `chaja keys create|list|revoke`: the server's API keys in <data>/keys.db (index/key_store.h).
#pragma once

#include "agent/cli_args.h"

namespace chaja {

// Exit codes as every command: 0 ok, 1 runtime error (an unknown id included), 2 bad usage.
int cmd_keys(const cli::Args& a);

}  // namespace chaja
