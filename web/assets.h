// The web UI's files, embedded into the binary at build time (cmake/ChajaEmbed.cmake), so that
// `chaja serve` works offline with no files beside it.
#pragma once

#include <string_view>

namespace chaja::web {

// The bytes of an embedded file by name (e.g. "index.html"); empty when there is none.
std::string_view find(std::string_view name);

}  // namespace chaja::web
