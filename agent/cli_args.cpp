#include "agent/cli_args.h"

#include <cstdio>
#include <cstdlib>

namespace chaja::cli {
namespace fs = std::filesystem;

int exit_code(const Error& e) {
  return (e.kind == ErrorKind::kInvalidInput || e.kind == ErrorKind::kUnsupported) ? kExitUsage
                                                                                   : kExitError;
}

int fail(const Error& e) {
  std::fprintf(stderr, "chaja: %s\n", e.message.c_str());
  return exit_code(e);
}

int usage_error(const std::string& message) {
  std::fprintf(stderr, "chaja: %s (see chaja --help)\n", message.c_str());
  return kExitUsage;
}

fs::path data_dir(const Args& a) {
  if (!a.value("--data").empty()) return a.value("--data");
  if (const char* env = std::getenv("CHAJA_DATA"); env && *env) return env;
  if (const char* xdg = std::getenv("XDG_DATA_HOME"); xdg && *xdg) return fs::path(xdg) / "chaja";
  if (const char* home = std::getenv("HOME"); home && *home)
    return fs::path(home) / ".local/share/chaja";
  return "chaja-data";
}

}  // namespace chaja::cli
