// Tag classes shared by the HTML readers (html_text for indexed files, main_text for fetched
// pages), so that both break lines and mark headings the same way.
#pragma once

#include <gumbo.h>

#include <string>

namespace chaja::html {

// Elements whose content is never text to read: code, styling, embedded media, form controls,
// the document head and navigation. Each reader drops a few more of its own.
inline bool is_never_text(GumboTag tag) {
  switch (tag) {
    case GUMBO_TAG_SCRIPT:
    case GUMBO_TAG_STYLE:
    case GUMBO_TAG_NOSCRIPT:
    case GUMBO_TAG_TEMPLATE:
    case GUMBO_TAG_SVG:
    case GUMBO_TAG_IFRAME:
    case GUMBO_TAG_HEAD:
    case GUMBO_TAG_NAV:
    case GUMBO_TAG_FORM:
    case GUMBO_TAG_BUTTON:
    case GUMBO_TAG_SELECT:
    case GUMBO_TAG_TEXTAREA:
    case GUMBO_TAG_OBJECT:
    case GUMBO_TAG_EMBED:
    case GUMBO_TAG_CANVAS:
    case GUMBO_TAG_MATH:
      return true;
    default:
      return false;
  }
}

// Elements that start a new line of text (the readers drop some of them, e.g. aside or footer,
// before they ever ask).
inline bool is_block(GumboTag tag) {
  switch (tag) {
    case GUMBO_TAG_P:
    case GUMBO_TAG_DIV:
    case GUMBO_TAG_SECTION:
    case GUMBO_TAG_ARTICLE:
    case GUMBO_TAG_MAIN:
    case GUMBO_TAG_HEADER:
    case GUMBO_TAG_FOOTER:
    case GUMBO_TAG_ASIDE:
    case GUMBO_TAG_BLOCKQUOTE:
    case GUMBO_TAG_PRE:
    case GUMBO_TAG_UL:
    case GUMBO_TAG_OL:
    case GUMBO_TAG_DL:
    case GUMBO_TAG_DT:
    case GUMBO_TAG_DD:
    case GUMBO_TAG_TABLE:
    case GUMBO_TAG_FIGURE:
    case GUMBO_TAG_FIGCAPTION:
    case GUMBO_TAG_ADDRESS:
    case GUMBO_TAG_HR:
    case GUMBO_TAG_BODY:
    case GUMBO_TAG_CAPTION:
      return true;
    default:
      return false;
  }
}

// 1-6 for h1-h6, 0 for anything else.
inline int heading_level(GumboTag tag) {
  switch (tag) {
    case GUMBO_TAG_H1:
      return 1;
    case GUMBO_TAG_H2:
      return 2;
    case GUMBO_TAG_H3:
      return 3;
    case GUMBO_TAG_H4:
      return 4;
    case GUMBO_TAG_H5:
      return 5;
    case GUMBO_TAG_H6:
      return 6;
    default:
      return 0;
  }
}

// The text the readers write, with the line discipline they share: white space collapsed as a
// browser does (outside <pre>), one line break between blocks, a blank line between paragraphs.
class TextOut {
 public:
  std::string out;

 protected:
  bool at_line_start() const { return out.empty() || out.back() == '\n'; }

  void newline() {
    while (!out.empty() && out.back() == ' ') out.pop_back();
    if (!at_line_start()) out.push_back('\n');
  }

  void paragraph() {
    newline();
    if (out.size() >= 2 && out[out.size() - 2] != '\n') out.push_back('\n');
  }

  void text(const char* s, bool in_pre) {
    if (in_pre) {
      out += s;
      return;
    }
    for (const char* p = s; *p; ++p) {
      const char c = *p;
      if (c == ' ' || c == '\n' || c == '\t' || c == '\r' || c == '\f') {
        if (!at_line_start() && out.back() != ' ') out.push_back(' ');
      } else {
        out.push_back(c);
      }
    }
  }
};

}  // namespace chaja::html
