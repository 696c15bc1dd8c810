// Text and title from a PDF's bytes, through poppler-cpp (the only user of poppler). The input is
// treated as hostile: size and page caps, locked files refused, corrupt files an error value.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "index/result.h"

namespace chaja {

struct PdfLimits {
  uint64_t max_bytes = 64ull << 20;       // the PDF itself (kTooLarge above)
  int max_pages = 2000;                   // kTooLarge above
  uint64_t max_text_bytes = 64ull << 20;  // extracted text; a content-stream bomb stops here
};

struct PdfText {
  std::string title;  // the metadata Title, trimmed; "" if none
  std::string text;   // valid UTF-8: pages in reading order, separated by a blank line; lines
                      // wrapped at the margin are joined (see pdf_text.cpp)
  int pages = 0;
};

// Errors: kTooLarge (over a limit), kUnsupported (locked by a password), kInvalidInput (not a
// readable PDF). A PDF encrypted without a user password (permissions only) opens and is read.
// Thread-safe: separate calls share nothing but poppler's global state, which it guards.
Result<PdfText> pdf_to_text(std::string_view bytes, const PdfLimits& limits = {});

}  // namespace chaja
