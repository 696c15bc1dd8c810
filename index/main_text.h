// Main-text extraction for fetched web pages (readability-style), parsed with gumbo. Unlike
// html_text.h (the whole document, for local files), this keeps only the page's main content:
// menus, page headers and footers, cookie banners, share/related/comment/ad blocks and link
// farms are dropped. The same safety limits as html_text.h apply (kMaxHtmlBytes, a nesting
// pre-scan against kMaxHtmlNesting). Pure function, thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "index/result.h"

namespace chaja {

struct MainTextSection {
  std::string heading;  // "" for the text before the first heading
  std::string text;
};

struct MainText {
  std::string title;          // <title>, else og:title, else the first <h1>; white space collapsed
  std::string canonical_url;  // <link rel=canonical> resolved against page_url, or ""
  std::string published;      // as the page states it (usually ISO 8601), or ""
  std::string language;       // <html lang>, or ""
  // Headings as Markdown-style "# " lines, paragraphs separated by blank lines, list items
  // "- ", table rows one per line with cells joined by " | ", <pre> kept verbatim.
  std::string text;
  std::vector<MainTextSection> sections;  // text split at its heading lines
};

// html_utf8 should be UTF-8; invalid sequences are replaced by U+FFFD. Errors: kTooLarge over
// kMaxHtmlBytes, kInvalidInput when nested deeper than kMaxHtmlNesting. A page with no content
// gives an empty text, not an error.
Result<MainText> extract_main_text(std::string_view html_utf8, std::string_view page_url);

// Resolves a URL reference against an absolute base URL (RFC 3986 section 5, dot segments
// removed). An absolute ref is returned as is; "" when base is not absolute and ref is relative.
std::string resolve_url(std::string_view base, std::string_view ref);

}  // namespace chaja
