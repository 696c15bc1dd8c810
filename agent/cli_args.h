// What the `chaja` subcommands share: the parsed command line, the exit codes (0 ok, 1 runtime
// error, 2 bad usage), error reporting and the data folder. The commands live in cli.cpp and,
// one file each when they grow, beside it (keys_cli.cpp).
#pragma once

#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "index/result.h"

namespace chaja::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitError = 1;
inline constexpr int kExitUsage = 2;

struct Args {
  std::string command;
  std::vector<std::string> positional;
  std::map<std::string, std::string> values;
  std::set<std::string> flags;
  std::map<std::string, std::vector<std::string>> lists;  // repeatable options, values in order

  bool flag(const std::string& f) const { return flags.count(f) > 0; }
  std::string value(const std::string& k, const std::string& fallback = "") const {
    auto it = values.find(k);
    return it == values.end() ? fallback : it->second;
  }
};

// kExitUsage for kInvalidInput and kUnsupported, kExitError for the rest.
int exit_code(const Error& e);
// Prints "chaja: MESSAGE" to stderr; returns exit_code(e).
int fail(const Error& e);
// Prints the message and a pointer to --help to stderr; returns kExitUsage.
int usage_error(const std::string& message);
// --data, else $CHAJA_DATA, else $XDG_DATA_HOME/chaja, else ~/.local/share/chaja.
std::filesystem::path data_dir(const Args& a);

}  // namespace chaja::cli
