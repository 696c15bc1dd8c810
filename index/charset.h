// Turns the bytes of a text file into valid UTF-8: a UTF-8 BOM is dropped, UTF-16 with a BOM and
// legacy charsets (CP949/EUC-KR, Latin-1, ...) detected by uchardet are converted with iconv, and
// stray invalid bytes in otherwise UTF-8 text are replaced by U+FFFD. Text that is neither is
// rejected. The web fetcher reuses this with the charset a server declares.
#pragma once

#include <string>
#include <string_view>

#include "index/result.h"

namespace chaja {

struct DecodedText {
  std::string text;  // valid UTF-8
  std::string
      note;  // what was done, for a warning ("converted from UHC", "repaired 3 ..."); "" if nothing
};

// declared_charset: a charset named by the source (HTTP header, <meta>), or "" to detect.
Result<DecodedText> decode_to_utf8(std::string bytes, std::string_view declared_charset = "");

// Converts bytes in a named charset to UTF-8 with iconv; kInvalidInput if any byte does not
// convert.
Result<std::string> convert_to_utf8(std::string_view bytes, std::string_view charset);

}  // namespace chaja
