// Plain text from an HTML document, parsed with gumbo (an HTML5-conformant parser, so broken
// markup is handled as browsers do). Block elements become line breaks, headings become
// Markdown-style "# " lines (the chunker keeps them as section names), list items "- ",
// table cells are joined with " | ". Scripts, styles, templates, forms, navigation and footers
// are dropped. This is the local-document path; the web issue's main-text extraction goes further.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "index/result.h"

namespace chaja {

struct HtmlText {
  std::string title;  // <title>, else the first <h1>, else ""
  std::string text;
};

inline constexpr size_t kMaxHtmlBytes = 16u << 20;
inline constexpr size_t kMaxHtmlNesting = 4096;

// Input must be UTF-8. gumbo recovers from any broken markup, but its tree building is quadratic
// in nesting depth, so input over kMaxHtmlBytes (kTooLarge) or nested deeper than
// kMaxHtmlNesting by a quick pre-scan (kInvalidInput) is refused before parsing.
Result<HtmlText> html_to_text(std::string_view html);

// An upper estimate of the element nesting depth, from the tags alone (void and self-closing
// elements, and those HTML closes implicitly such as <p> and <li>, do not nest).
size_t html_nesting_estimate(std::string_view html);

}  // namespace chaja
