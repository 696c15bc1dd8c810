// fuzz_config: agent/config.h. The input is a configuration file's text, and the same bytes as
// a CHAJA_CORS_ORIGINS value. Invariants:
//   - parse_config never throws; a rejected file gives kInvalidInput whose message starts with
//     the file's name and is valid UTF-8;
//   - an accepted file has valid UTF-8 settings, and merged_env over it works;
//   - parse_origins accepts only origins that parse again to themselves (normalised), none empty.
#include <string>
#include <string_view>

#include "agent/config.h"
#include "index/utf8.h"
#include "tests/fuzz/fuzz_util.h"

namespace {

using chaja::utf8::is_valid;

// A directory that does not exist: an api_key_file given as a relative path resolves under it
// and cannot be read, so the fuzzer never reads the machine's files by accident.
const std::string kName = "/nonexistent-chaja-fuzz/chaja.json";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  chaja::Result<chaja::FileConfig> config = chaja::parse_config(text, kName);
  if (config) {
    FUZZ_CHECK(is_valid(config->default_model));
    FUZZ_CHECK(is_valid(config->embedder));
    for (const std::string& origin : config->cors_origins) FUZZ_CHECK(is_valid(origin));
    for (const auto& [name, value] : config->provider_env) {
      FUZZ_CHECK(is_valid(name));
      FUZZ_CHECK(is_valid(value));
    }
    (void)chaja::merged_env(*config, chaja::Env{});
  } else {
    FUZZ_CHECK(config.error().kind == chaja::ErrorKind::kInvalidInput);
    FUZZ_CHECK(config.error().message.starts_with(kName));
    FUZZ_CHECK(is_valid(config.error().message));
  }

  chaja::Result<std::vector<std::string>> origins = chaja::parse_origins(text);
  if (origins) {
    for (const std::string& origin : *origins) {
      FUZZ_CHECK(!origin.empty());
      FUZZ_CHECK(is_valid(origin));
      chaja::Result<std::vector<std::string>> again = chaja::parse_origins(origin);
      FUZZ_CHECK(again.ok() && again->size() == 1 && again->front() == origin);
    }
  } else {
    FUZZ_CHECK(origins.error().kind == chaja::ErrorKind::kInvalidInput);
  }
  return 0;
}
