#include "index/main_text.h"

#include <gumbo.h>

#include <algorithm>
#include <cctype>
#include <string>
#include <unordered_map>
#include <vector>

#include "index/html_tags.h"
#include "index/html_text.h"
#include "index/utf8.h"

namespace chaja {
namespace {

using html::heading_level;
using html::is_block;

// ---- Heuristics and their constants --------------------------------------------------------
// Content nested deeper than this is ignored (stack safety; the pre-scan already bounds it).
constexpr int kMaxDepth = 256;
// A block whose link text is more than this share of its text is a link farm and dropped.
constexpr double kLinkFarmDensity = 0.5;
// ...unless it is this short (in code points): a sentence with one link in it is content.
constexpr size_t kLinkFarmMinChars = 25;
// <article>/<main>/[role=main] is taken when it holds at least this many code points of text
// (outside dropped blocks) and its link density is under kLinkFarmDensity.
constexpr size_t kSubstantialChars = 140;
// Scoring (readability-style): each paragraph-like block (p, pre, td, blockquote, li, dd) of at
// least kMinParagraphChars code points scores 1 + punctuation marks (, . 。 、 ! ? and the Korean
// sentence ends 다. 요. once more) + min(chars / 100, 3); the score goes in full to its parent
// and half to its grandparent. A candidate's final score is multiplied by (1 - link density)
// and gets +kClassWeight when its class/id looks like content (article, content, post, ...).
constexpr size_t kMinParagraphChars = 25;
constexpr double kClassWeight = 25.0;
// Siblings of the best candidate are kept when they score at least this share of it (and at
// least kMinSiblingScore), or are paragraphs of plain prose (see sibling_is_prose).
constexpr double kSiblingShare = 0.2;
constexpr double kMinSiblingScore = 10.0;

// Elements never part of the main text: besides what no reader keeps, asides and the loose
// controls a page puts around its content.
bool always_dropped(GumboTag tag) {
  return html::is_never_text(tag) || tag == GUMBO_TAG_ASIDE || tag == GUMBO_TAG_INPUT ||
         tag == GUMBO_TAG_LABEL;
}

bool paragraph_like(GumboTag tag) {
  return tag == GUMBO_TAG_P || tag == GUMBO_TAG_PRE || tag == GUMBO_TAG_TD ||
         tag == GUMBO_TAG_BLOCKQUOTE || tag == GUMBO_TAG_LI || tag == GUMBO_TAG_DD;
}

std::string lower(std::string_view s) {
  std::string r(s);
  for (char& c : r) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return r;
}

std::string attr(const GumboElement& el, const char* name) {
  const GumboAttribute* a = gumbo_get_attribute(&el.attributes, name);
  return a ? std::string(a->value) : std::string();
}

const GumboNode* child(const GumboElement& el, unsigned i) {
  return static_cast<const GumboNode*>(el.children.data[i]);
}

bool contains_any(const std::string& s, std::initializer_list<const char*> words) {
  for (const char* w : words)
    if (s.find(w) != std::string::npos) return true;
  return false;
}

// class and id, lower-cased, split into tokens at anything not alphanumeric.
std::vector<std::string> class_tokens(const GumboElement& el) {
  const std::string s = lower(attr(el, "class") + " " + attr(el, "id"));
  std::vector<std::string> out;
  std::string cur;
  for (char c : s) {
    if (std::isalnum(static_cast<unsigned char>(c))) {
      cur.push_back(c);
    } else if (!cur.empty()) {
      out.push_back(std::move(cur));
      cur.clear();
    }
  }
  if (!cur.empty()) out.push_back(std::move(cur));
  return out;
}

// Boilerplate by class/id. Strong words drop a block whatever else its class says; weak words
// only when no content word (article, content, main, post, body, entry, story) is there too.
bool boilerplate_class(const GumboElement& el) {
  bool weak = false, positive = false;
  for (const std::string& t : class_tokens(el)) {
    if (contains_any(t, {"cookie", "consent", "gdpr", "popup", "modal", "share", "social",
                         "related", "comment", "advert", "sponsor", "newsletter", "subscribe",
                         "breadcrumb", "banner", "taboola", "outbrain"}) ||
        t == "ad" || t == "ads" || t == "sns")
      return true;
    if (contains_any(t, {"sidebar", "menu", "nav", "footer", "masthead", "widget", "promo",
                         "recommend", "popular", "trending", "toolbar", "pagination", "tags"}))
      weak = true;
    if (contains_any(t, {"article", "content", "main", "post", "body", "entry", "story"}))
      positive = true;
  }
  return weak && !positive;
}

bool content_class(const GumboElement& el) {
  for (const std::string& t : class_tokens(el))
    if (contains_any(t, {"article", "content", "main", "post", "body", "entry", "story", "text"}))
      return true;
  return false;
}

bool hidden(const GumboElement& el) {
  if (gumbo_get_attribute(&el.attributes, "hidden")) return true;
  if (attr(el, "aria-hidden") == "true") return true;
  std::string style = lower(attr(el, "style"));
  style.erase(std::remove(style.begin(), style.end(), ' '), style.end());
  return style.find("display:none") != std::string::npos ||
         style.find("visibility:hidden") != std::string::npos;
}

struct Stats {
  size_t chars = 0;       // code points of text, white space excluded
  size_t link_chars = 0;  // of which inside <a>
  double score = 0;       // readability content score (candidates only)
  bool dropped = false;   // boilerplate, hidden or a link farm
  double link_density() const {
    return chars == 0 ? 0.0 : static_cast<double>(link_chars) / static_cast<double>(chars);
  }
};

size_t count_chars(const char* s) {
  size_t n = 0;
  for (const unsigned char* p = reinterpret_cast<const unsigned char*>(s); *p; ++p)
    if ((*p & 0xC0) != 0x80 && !std::isspace(*p)) ++n;
  return n;
}

size_t count_punctuation(std::string_view s) {
  size_t n = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == ',' || c == '.' || c == '!' || c == '?') ++n;
  }
  for (std::string_view p : {"。", "、", "다.", "요."})
    for (size_t pos = s.find(p); pos != std::string_view::npos; pos = s.find(p, pos + 1)) ++n;
  return n;
}

class Analyzer {
 public:
  std::unordered_map<const GumboNode*, Stats> stats;
  std::vector<const GumboNode*> landmarks;   // article, main, [role=main]
  std::vector<const GumboNode*> candidates;  // parents of scored paragraphs
  std::vector<std::string> times;            // <time datetime> inside an <article>/<main>
  std::string first_h1;

  // Computes the stats of node and below; returns its own text as a side product (only for
  // paragraph-like nodes' punctuation count, so it is built only while inside one).
  Stats analyze(const GumboNode* node, int depth, bool in_link, bool in_content, bool in_article,
                std::string* para_text) {
    Stats s;
    if (depth > kMaxDepth) return s;
    if (node->type == GUMBO_NODE_TEXT || node->type == GUMBO_NODE_CDATA) {
      s.chars = count_chars(node->v.text.text);
      if (in_link) s.link_chars = s.chars;
      if (para_text) *para_text += node->v.text.text;
      return s;
    }
    if (node->type != GUMBO_NODE_ELEMENT && node->type != GUMBO_NODE_TEMPLATE) return s;
    const GumboElement& el = node->v.element;
    Stats& mine = stats[node];
    if (drop_by_markup(el, in_content)) {
      mine.dropped = true;
      return s;
    }
    const std::string role = lower(attr(el, "role"));
    const bool landmark = el.tag == GUMBO_TAG_ARTICLE || el.tag == GUMBO_TAG_MAIN || role == "main";
    if (landmark) landmarks.push_back(node);
    if (el.tag == GUMBO_TAG_TIME && (in_article || landmark)) {
      const std::string dt = attr(el, "datetime");
      if (!dt.empty()) times.push_back(dt);
    }
    const bool content = in_content || landmark || el.tag == GUMBO_TAG_SECTION;
    const bool link = in_link || el.tag == GUMBO_TAG_A;
    std::string own_text;
    std::string* text_sink = para_text ? para_text : (paragraph_like(el.tag) ? &own_text : nullptr);
    for (unsigned i = 0; i < el.children.length; ++i) {
      const Stats c =
          analyze(child(el, i), depth + 1, link, content, in_article || landmark, text_sink);
      s.chars += c.chars;
      s.link_chars += c.link_chars;
    }
    // A block that is mostly links (a menu, a tag cloud, a list of teasers) is a link farm.
    if ((is_block(el.tag) || el.tag == GUMBO_TAG_LI) && el.tag != GUMBO_TAG_BODY &&
        s.chars >= kLinkFarmMinChars && s.link_density() > kLinkFarmDensity) {
      mine = Stats{};
      mine.dropped = true;
      return Stats{};
    }
    mine.chars = s.chars;
    mine.link_chars = s.link_chars;
    if (heading_level(el.tag) == 1 && first_h1.empty()) first_h1 = text_of(node);
    if (paragraph_like(el.tag) && !para_text && s.chars >= kMinParagraphChars) {
      const double score = 1.0 + static_cast<double>(count_punctuation(own_text)) +
                           std::min(static_cast<double>(s.chars) / 100.0, 3.0);
      add_score(node->parent, score);
      if (node->parent) add_score(node->parent->parent, score / 2);
    }
    return s;
  }

  static std::string text_of(const GumboNode* node, int depth = 0) {
    if (depth > kMaxDepth) return "";
    if (node->type == GUMBO_NODE_TEXT) return node->v.text.text;
    if (node->type != GUMBO_NODE_ELEMENT) return "";
    std::string r;
    for (unsigned i = 0; i < node->v.element.children.length; ++i)
      r += text_of(child(node->v.element, i), depth + 1);
    return r;
  }

 private:
  std::unordered_map<const GumboNode*, bool> is_candidate_;

  void add_score(const GumboNode* node, double score) {
    if (!node || node->type != GUMBO_NODE_ELEMENT) return;
    if (!is_candidate_[node]) {
      is_candidate_[node] = true;
      candidates.push_back(node);
    }
    stats[node].score += score;
  }

  // header and footer are dropped at page level only: inside an article, main or section they
  // carry the headline and byline. Class heuristics are not applied to html, body, main and
  // article themselves (a body class such as "modal-open" says nothing about its content).
  static bool drop_by_markup(const GumboElement& el, bool in_content) {
    if (always_dropped(el.tag) || hidden(el)) return true;
    if ((el.tag == GUMBO_TAG_HEADER || el.tag == GUMBO_TAG_FOOTER) && !in_content) return true;
    const std::string role = lower(attr(el, "role"));
    if (role == "navigation" || role == "banner" || role == "contentinfo" ||
        role == "complementary" || role == "dialog" || role == "alertdialog" || role == "search" ||
        role == "menu" || role == "menubar")
      return true;
    if (el.tag == GUMBO_TAG_HTML || el.tag == GUMBO_TAG_BODY || el.tag == GUMBO_TAG_MAIN ||
        el.tag == GUMBO_TAG_ARTICLE || role == "main")
      return false;
    return boilerplate_class(el);
  }
};

// Renders the kept part of a subtree as text, skipping what the analyzer dropped.
class Renderer : public html::TextOut {
 public:
  explicit Renderer(const std::unordered_map<const GumboNode*, Stats>& stats) : stats_(stats) {}

  void walk(const GumboNode* node, bool in_pre, int depth = 0) {
    if (depth > kMaxDepth) return;
    if (node->type == GUMBO_NODE_TEXT || node->type == GUMBO_NODE_CDATA ||
        node->type == GUMBO_NODE_WHITESPACE) {
      text(node->v.text.text, in_pre);
      return;
    }
    if (node->type != GUMBO_NODE_ELEMENT) return;
    const auto it = stats_.find(node);
    if (it == stats_.end() || it->second.dropped) return;
    const GumboElement& el = node->v.element;
    if (el.tag == GUMBO_TAG_BR) {
      newline();
      return;
    }
    const int level = heading_level(el.tag);
    const bool block = is_block(el.tag) || level > 0;
    if (block) paragraph();
    if (level > 0) out.append(static_cast<size_t>(level), '#').push_back(' ');
    if (el.tag == GUMBO_TAG_LI) {
      newline();
      out += "- ";
    }
    if (el.tag == GUMBO_TAG_TR) newline();
    if ((el.tag == GUMBO_TAG_TD || el.tag == GUMBO_TAG_TH) && !at_line_start()) out += " | ";
    const bool pre = in_pre || el.tag == GUMBO_TAG_PRE;
    for (unsigned i = 0; i < el.children.length; ++i) walk(child(el, i), pre, depth + 1);
    if (block) paragraph();
  }

 private:
  const std::unordered_map<const GumboNode*, Stats>& stats_;
};

std::string collapse(std::string_view s) {
  std::string r;
  for (char c : s) {
    if (c == ' ' || c == '\n' || c == '\t' || c == '\r' || c == '\f') {
      if (!r.empty() && r.back() != ' ') r.push_back(' ');
    } else {
      r.push_back(c);
    }
  }
  while (!r.empty() && r.back() == ' ') r.pop_back();
  return r;
}

// Page metadata from <html>, <head> and JSON-LD, walking the whole tree once.
struct Meta {
  std::string title, og_title, canonical, language, meta_date, jsonld_date;

  void walk(const GumboNode* node, int depth = 0) {
    if (depth > kMaxDepth || node->type != GUMBO_NODE_ELEMENT) return;
    const GumboElement& el = node->v.element;
    switch (el.tag) {
      case GUMBO_TAG_HTML:
        language = collapse(attr(el, "lang"));
        break;
      case GUMBO_TAG_TITLE:
        if (title.empty()) title = collapse(Analyzer::text_of(node));
        return;
      case GUMBO_TAG_LINK: {
        const std::string rel = lower(attr(el, "rel"));
        if (canonical.empty() && (" " + rel + " ").find(" canonical ") != std::string::npos)
          canonical = collapse(attr(el, "href"));
        return;
      }
      case GUMBO_TAG_META: {
        const std::string key =
            lower(attr(el, "property") + attr(el, "name") + attr(el, "itemprop"));
        const std::string value = collapse(attr(el, "content"));
        if (key == "og:title" && og_title.empty()) og_title = value;
        if (meta_date.empty() && (key == "article:published_time" || key == "date" ||
                                  key == "pubdate" || key == "publishdate" || key == "dc.date" ||
                                  key == "dc.date.issued" || key == "datepublished"))
          meta_date = value;
        return;
      }
      case GUMBO_TAG_SCRIPT:
        if (lower(attr(el, "type")) == "application/ld+json" && jsonld_date.empty())
          jsonld_date = json_ld_date(Analyzer::text_of(node));
        return;
      default:
        break;
    }
    for (unsigned i = 0; i < el.children.length; ++i) walk(child(el, i), depth + 1);
  }

  // The string value of the first "datePublished" key; JSON-LD is not parsed as a whole (any
  // nesting, @graph or arrays work alike this way).
  static std::string json_ld_date(std::string_view json) {
    const size_t key = json.find("\"datePublished\"");
    if (key == std::string_view::npos) return "";
    size_t i = json.find(':', key);
    if (i == std::string_view::npos) return "";
    i = json.find_first_not_of(" \t\r\n", i + 1);
    if (i == std::string_view::npos || json[i] != '"') return "";
    const size_t end = json.find('"', i + 1);
    if (end == std::string_view::npos || end - i > 64) return "";
    return collapse(json.substr(i + 1, end - i - 1));
  }
};

std::string trim(std::string s) {
  const size_t b = s.find_first_not_of(" \n\t");
  if (b == std::string::npos) return "";
  const size_t e = s.find_last_not_of(" \n\t");
  return s.substr(b, e - b + 1);
}

std::vector<MainTextSection> split_sections(const std::string& text) {
  std::vector<MainTextSection> out;
  MainTextSection cur;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    const std::string line = text.substr(pos, end - pos);
    // A heading as the renderer writes it: 1 to 6 '#' and a space. Page text that merely starts
    // with '#' ("#1 in sales", a line of "##") stays text; a line of '#' alone used to throw
    // out of substr here (found by tests/fuzz/fuzz_html).
    const size_t hashes = line.find_first_not_of('#');
    if (hashes >= 1 && hashes <= 6 && line[hashes] == ' ') {  // npos > 6
      cur.text = trim(std::move(cur.text));
      if (!cur.heading.empty() || !cur.text.empty()) out.push_back(std::move(cur));
      cur = MainTextSection{};
      cur.heading = trim(line.substr(hashes + 1));
    } else {
      cur.text += line;
      cur.text.push_back('\n');
    }
    pos = end + 1;
  }
  cur.text = trim(std::move(cur.text));
  if (!cur.heading.empty() || !cur.text.empty()) out.push_back(std::move(cur));
  return out;
}

// A sibling of plain prose belongs to the content even when it scored little: a block that
// directly holds a scored paragraph, or a paragraph, with a link density under kProseLinkDensity.
constexpr double kProseLinkDensity = 0.25;
bool sibling_is_prose(const GumboNode* node, const Stats& s) {
  if (node->type != GUMBO_NODE_ELEMENT) return false;
  if (s.score > 0 && s.link_density() < kProseLinkDensity) return true;
  if (node->v.element.tag != GUMBO_TAG_P) return false;
  if (s.chars >= 80) return s.link_density() < kProseLinkDensity;
  const std::string t = Analyzer::text_of(node);
  return s.chars > 0 && s.link_chars == 0 && count_punctuation(t) > 0;
}

std::string remove_dot_segments(std::string_view path) {
  std::vector<std::string> parts;
  size_t pos = 0;
  const bool absolute = !path.empty() && path[0] == '/';
  std::string last;
  while (pos <= path.size()) {
    size_t end = path.find('/', pos);
    if (end == std::string_view::npos) end = path.size();
    const std::string seg(path.substr(pos, end - pos));
    const bool at_end = end == path.size();
    if (seg == "..") {
      if (!parts.empty()) parts.pop_back();
      if (at_end) parts.emplace_back();
    } else if (seg == ".") {
      if (at_end) parts.emplace_back();
    } else if (!(seg.empty() && pos == 0 && absolute)) {
      parts.push_back(seg);
    }
    pos = end + 1;
  }
  std::string r = absolute ? "/" : "";
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i) r.push_back('/');
    r += parts[i];
  }
  return r;
}

size_t scheme_end(std::string_view s) {  // index of ':' after a valid scheme, or npos
  if (s.empty() || !std::isalpha(static_cast<unsigned char>(s[0]))) return std::string_view::npos;
  for (size_t i = 1; i < s.size(); ++i) {
    const char c = s[i];
    if (c == ':') return i;
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '-' && c != '.')
      return std::string_view::npos;
  }
  return std::string_view::npos;
}

}  // namespace

std::string resolve_url(std::string_view base, std::string_view ref) {
  if (scheme_end(ref) != std::string_view::npos) return std::string(ref);
  const size_t colon = scheme_end(base);
  if (colon == std::string_view::npos) return "";
  const std::string_view scheme = base.substr(0, colon + 1);  // "https:"
  if (ref.substr(0, 2) == "//") return std::string(scheme) + std::string(ref);
  // Split base into authority, path and query (the fragment never carries over).
  std::string_view rest = base.substr(colon + 1);
  rest = rest.substr(0, rest.find('#'));
  std::string_view authority;
  if (rest.substr(0, 2) == "//") {
    const size_t end = rest.find_first_of("/?", 2);
    authority = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end);
  }
  const size_t q = rest.find('?');
  const std::string_view base_path = rest.substr(0, q);
  const std::string_view base_query = q == std::string_view::npos ? "" : rest.substr(q);
  std::string prefix = std::string(scheme) + std::string(authority);
  if (ref.empty()) return prefix + std::string(base_path) + std::string(base_query);
  if (ref[0] == '#')
    return prefix + std::string(base_path) + std::string(base_query) + std::string(ref);
  if (ref[0] == '?') return prefix + std::string(base_path) + std::string(ref);
  const size_t tail_at = ref.find_first_of("?#");
  const std::string_view ref_path = ref.substr(0, tail_at);
  const std::string tail =
      tail_at == std::string_view::npos ? "" : std::string(ref.substr(tail_at));
  std::string merged;
  if (ref_path.empty()) {
    merged = std::string(base_path);
  } else if (ref_path[0] == '/') {
    merged = std::string(ref_path);
  } else {
    const size_t slash = base_path.rfind('/');
    merged = (slash == std::string_view::npos ? std::string(!authority.empty() ? "/" : "")
                                              : std::string(base_path.substr(0, slash + 1))) +
             std::string(ref_path);
  }
  return prefix + remove_dot_segments(merged) + tail;
}

Result<MainText> extract_main_text(std::string_view html_utf8, std::string_view page_url) {
  if (html_utf8.size() > kMaxHtmlBytes)
    return make_error(ErrorKind::kTooLarge, "HTML of " + std::to_string(html_utf8.size()) +
                                                " bytes is over the limit of " +
                                                std::to_string(kMaxHtmlBytes));
  if (html_nesting_estimate(html_utf8) > kMaxHtmlNesting)
    return make_error(ErrorKind::kInvalidInput, "HTML nested deeper than " +
                                                    std::to_string(kMaxHtmlNesting) +
                                                    " elements; refusing to parse it");
  std::string html(html_utf8);
  utf8::repair(html);

  GumboOptions options = kGumboDefaultOptions;
  options.max_errors = 100;
  GumboOutput* output = gumbo_parse_with_options(&options, html.data(), html.size());

  Meta meta;
  meta.walk(output->root);
  Analyzer an;
  an.analyze(output->root, 0, false, false, false, nullptr);

  // 1. A substantial landmark: the largest <article>, else the largest <main>/[role=main].
  std::vector<const GumboNode*> chosen;
  for (int pass = 0; pass < 2 && chosen.empty(); ++pass) {
    const GumboNode* best = nullptr;
    size_t best_chars = 0;
    for (const GumboNode* n : an.landmarks) {
      if ((n->v.element.tag == GUMBO_TAG_ARTICLE) != (pass == 0)) continue;
      const Stats& s = an.stats[n];
      if (s.dropped || s.chars < kSubstantialChars || s.link_density() >= kLinkFarmDensity)
        continue;
      if (s.chars > best_chars) best = n, best_chars = s.chars;
    }
    if (best) chosen.push_back(best);
  }
  // 2. Else the best-scoring candidate with its substantial siblings.
  if (chosen.empty()) {
    const GumboNode* best = nullptr;
    double best_score = 0;
    for (const GumboNode* n : an.candidates) {
      Stats& s = an.stats[n];
      if (s.dropped) continue;
      s.score =
          s.score * (1.0 - s.link_density()) + (content_class(n->v.element) ? kClassWeight : 0.0);
      if (s.score > best_score) best = n, best_score = s.score;
    }
    if (best && best->parent && best->parent->type == GUMBO_NODE_ELEMENT &&
        best->v.element.tag != GUMBO_TAG_BODY) {
      const double threshold = std::max(kMinSiblingScore, best_score * kSiblingShare);
      const GumboElement& parent = best->parent->v.element;
      for (unsigned i = 0; i < parent.children.length; ++i) {
        const GumboNode* sib = child(parent, i);
        if (sib == best) {
          chosen.push_back(sib);
          continue;
        }
        const auto it = an.stats.find(sib);
        if (it == an.stats.end() || it->second.dropped) continue;
        if (it->second.score >= threshold || sibling_is_prose(sib, it->second))
          chosen.push_back(sib);
      }
    } else if (best) {
      chosen.push_back(best);
    }
  }

  Renderer r(an.stats);
  for (const GumboNode* n : chosen) r.walk(n, false);

  MainText result;
  result.title = !meta.title.empty()      ? meta.title
                 : !meta.og_title.empty() ? meta.og_title
                                          : collapse(an.first_h1);
  // Only an http(s) canonical URL is reported (never javascript:, data: and the like).
  if (!meta.canonical.empty()) {
    std::string url = resolve_url(page_url, meta.canonical);
    const std::string scheme = lower(url.substr(0, 8));
    if (scheme.rfind("http://", 0) == 0 || scheme.rfind("https://", 0) == 0)
      result.canonical_url = std::move(url);
  }
  result.published = !meta.meta_date.empty()     ? meta.meta_date
                     : !meta.jsonld_date.empty() ? meta.jsonld_date
                     : !an.times.empty()         ? collapse(an.times.front())
                                                 : "";
  result.language = meta.language;
  result.text = trim(std::move(r.out));
  result.sections = split_sections(result.text);
  gumbo_destroy_output(&options, output);
  return result;
}

}  // namespace chaja
