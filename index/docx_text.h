// Text and title from a Word .docx's bytes: the ZIP read with libzip, word/document.xml,
// word/styles.xml and docProps/core.xml parsed with libxml2's streaming reader (the only users of
// libzip and libxml2). The input is treated as hostile: byte caps on the file and on each
// uncompressed part (zip bombs), no DTDs, no entity expansion, no network, no huge-tree mode.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "index/result.h"

namespace chaja {

struct DocxLimits {
  uint64_t max_bytes = 64ull << 20;       // the .docx itself (kTooLarge above)
  uint64_t max_part_bytes = 64ull << 20;  // one uncompressed XML part, declared or actually read
  uint64_t max_text_bytes = 64ull << 20;  // extracted text
};

struct DocxText {
  std::string title;  // docProps/core.xml dc:title, else the first non-empty paragraph of at most
                      // 100 characters (without its heading marks), else ""
  std::string text;   // valid UTF-8, one line a paragraph: runs concatenated, w:tab a tab,
                      // w:br/w:cr a newline; headings (style "heading 1..6" / "제목 1..6", or an
                      // outline level) as Markdown "# " lines; table cells joined by " | ", one
                      // line a row
};

// Errors: kTooLarge (over a limit), kUnsupported (an OLE container: a password-protected Office
// file or a legacy .doc; or a ZIP entry encrypted with a password), kInvalidInput ("not a readable
// .docx": not a ZIP, no word/document.xml, malformed XML, a DTD). Invalid UTF-8 inside a part is
// repaired (U+FFFD). Thread-safe: calls share nothing but libxml2's global state, initialised once.
Result<DocxText> docx_to_text(std::string_view bytes, const DocxLimits& limits = {});

}  // namespace chaja
