// Plain text from an HTML document, parsed with gumbo (an HTML5-conformant parser, so broken
// markup is handled as browsers do). Block elements become line breaks, headings become
// Markdown-style "# " lines (the chunker keeps them as section names), list items "- ",
// table cells are joined with " | ". Scripts, styles, templates, forms, navigation and footers
// are dropped. This is the local-document path; the web issue's main-text extraction goes further.
#pragma once

#include <string>
#include <string_view>

namespace chaja {

struct HtmlText {
  std::string title;  // <title>, else the first <h1>, else ""
  std::string text;
};

// Input must be UTF-8. Never fails: gumbo recovers from any markup.
HtmlText html_to_text(std::string_view html);

}  // namespace chaja
