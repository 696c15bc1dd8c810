#include "index/html_text.h"

#include <gumbo.h>

#include <algorithm>
#include <cctype>
#include <string>
#include <unordered_set>

#include "index/html_tags.h"

namespace chaja {
namespace {

using html::heading_level;
using html::is_block;

// Never text, and page footers (a local HTML file's footer is boilerplate too).
bool skipped(GumboTag tag) {
  return html::is_never_text(tag) || tag == GUMBO_TAG_FOOTER;
}

bool hidden(const GumboElement& el) {
  if (gumbo_get_attribute(&el.attributes, "hidden")) return true;
  const GumboAttribute* aria = gumbo_get_attribute(&el.attributes, "aria-hidden");
  return aria && std::string_view(aria->value) == "true";
}

class Walker : public html::TextOut {
 public:
  std::string first_h1;

  // Content nested deeper than kMaxDepth is dropped: hostile input cannot exhaust the stack.
  static constexpr int kMaxDepth = 256;

  void walk(const GumboNode* node, bool in_pre, int depth = 0) {
    if (depth > kMaxDepth) return;
    if (node->type == GUMBO_NODE_TEXT || node->type == GUMBO_NODE_CDATA ||
        node->type == GUMBO_NODE_WHITESPACE) {
      text(node->v.text.text, in_pre);
      return;
    }
    if (node->type != GUMBO_NODE_ELEMENT && node->type != GUMBO_NODE_TEMPLATE) return;
    const GumboElement& el = node->v.element;
    if (skipped(el.tag) || hidden(el)) return;

    const int level = heading_level(el.tag);
    const bool block = is_block(el.tag) || level > 0;
    if (el.tag == GUMBO_TAG_BR) {
      newline();
      return;
    }
    if (block) paragraph();
    if (level > 0) out.append(static_cast<size_t>(level), '#').push_back(' ');
    if (el.tag == GUMBO_TAG_LI) {
      newline();
      out += "- ";
    }
    if (el.tag == GUMBO_TAG_TR) newline();
    if ((el.tag == GUMBO_TAG_TD || el.tag == GUMBO_TAG_TH) && !at_line_start()) out += " | ";

    const size_t before = out.size();
    const bool pre = in_pre || el.tag == GUMBO_TAG_PRE;
    for (unsigned i = 0; i < el.children.length; ++i)
      walk(static_cast<const GumboNode*>(el.children.data[i]), pre, depth + 1);

    if (level == 1 && first_h1.empty()) first_h1 = trim(out.substr(before));
    if (block) paragraph();
  }

  static std::string trim(std::string s) {
    const size_t b = s.find_first_not_of(" \n\t");
    if (b == std::string::npos) return "";
    const size_t e = s.find_last_not_of(" \n\t");
    return s.substr(b, e - b + 1);
  }
};

std::string find_title(const GumboNode* node, int depth = 0) {
  if (node->type != GUMBO_NODE_ELEMENT || depth > 8) return "";
  const GumboElement& el = node->v.element;
  if (el.tag == GUMBO_TAG_TITLE && el.children.length > 0) {
    const auto* child = static_cast<const GumboNode*>(el.children.data[0]);
    if (child->type == GUMBO_NODE_TEXT) return child->v.text.text;
  }
  if (el.tag == GUMBO_TAG_BODY) return "";  // a <title> belongs in <head>
  for (unsigned i = 0; i < el.children.length; ++i) {
    std::string t = find_title(static_cast<const GumboNode*>(el.children.data[i]), depth + 1);
    if (!t.empty()) return t;
  }
  return "";
}

}  // namespace

size_t html_nesting_estimate(std::string_view html) {
  static const std::unordered_set<std::string_view> kNoNesting = {
      "area", "base",  "br",    "col",    "embed",    "hr",      "img",      "input",
      "link", "meta",  "param", "source", "track",    "wbr",     "p",        "li",
      "dt",   "dd",    "tr",    "td",     "th",       "option",  "optgroup", "rp",
      "rt",   "tbody", "thead", "tfoot",  "colgroup", "caption", "!doctype"};
  static const std::unordered_set<std::string_view> kRawText = {"script", "style", "textarea",
                                                                "title",  "xmp",   "plaintext"};
  size_t depth = 0, deepest = 0;
  size_t i = 0;
  const size_t n = html.size();
  while ((i = html.find('<', i)) != std::string_view::npos) {
    if (html.substr(i, 4) == "<!--") {
      const size_t end = html.find("-->", i + 4);
      if (end == std::string_view::npos) break;
      i = end + 3;
      continue;
    }
    const bool closing = i + 1 < n && html[i + 1] == '/';
    size_t name_start = i + (closing ? 2 : 1), name_end = name_start;
    while (name_end < n && (std::isalnum(static_cast<unsigned char>(html[name_end])) ||
                            html[name_end] == '!' || html[name_end] == '-'))
      ++name_end;
    const size_t close = html.find('>', name_end);
    if (close == std::string_view::npos) break;
    if (name_end == name_start) {  // "<" that starts no tag
      i = name_start;
      continue;
    }
    std::string name(html.substr(name_start, name_end - name_start));
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    i = close + 1;
    if (closing) {
      if (!kNoNesting.count(name) && depth > 0) --depth;
      continue;
    }
    if (kRawText.count(name)) {  // skip to the matching end tag: its content is not markup
      const size_t end = html.find("</", i);
      i = end == std::string_view::npos ? n : end;
      continue;
    }
    const bool self_closing = html[close - 1] == '/';
    if (!self_closing && !kNoNesting.count(name)) deepest = std::max(deepest, ++depth);
  }
  return deepest;
}

Result<HtmlText> html_to_text(std::string_view html) {
  if (html.size() > kMaxHtmlBytes)
    return make_error(ErrorKind::kTooLarge, "HTML of " + std::to_string(html.size()) +
                                                " bytes is over the limit of " +
                                                std::to_string(kMaxHtmlBytes));
  if (html_nesting_estimate(html) > kMaxHtmlNesting)
    return make_error(ErrorKind::kInvalidInput, "HTML nested deeper than " +
                                                    std::to_string(kMaxHtmlNesting) +
                                                    " elements; refusing to parse it");
  GumboOptions options = kGumboDefaultOptions;
  options.max_errors = 100;  // stop collecting parse errors early; parsing itself goes on
  GumboOutput* output = gumbo_parse_with_options(&options, html.data(), html.size());
  Walker w;
  w.walk(output->root, false);
  HtmlText result;
  std::string title = find_title(output->root);
  // Collapse white space inside the title.
  std::string collapsed;
  for (char c : title) {
    const bool ws = c == ' ' || c == '\n' || c == '\t' || c == '\r';
    if (ws) {
      if (!collapsed.empty() && collapsed.back() != ' ') collapsed.push_back(' ');
    } else {
      collapsed.push_back(c);
    }
  }
  result.title = Walker::trim(collapsed);
  if (result.title.empty()) result.title = w.first_h1;
  result.text = Walker::trim(std::move(w.out));
  gumbo_destroy_output(&options, output);
  return result;
}

}  // namespace chaja
