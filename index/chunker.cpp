#include "index/chunker.h"

#include <algorithm>
#include <array>
#include <cctype>

#include "index/utf8.h"

namespace chaja {
namespace {

// Code point at pos (valid UTF-8 assumed; invalid bytes decode as U+FFFD of length 1).
char32_t cp_at(std::string_view s, size_t pos, size_t& len) {
  return utf8::decode(s, pos, len);
}

bool is_closer(char32_t cp) {
  return cp == '"' || cp == '\'' || cp == ')' || cp == ']' || cp == 0x201D || cp == 0x2019 ||
         cp == 0x300D || cp == 0x300F || cp == 0xFF09;
}

bool starts_block(std::string_view line) {
  size_t i = line.find_first_not_of(" \t");
  if (i == std::string_view::npos) return true;
  const char c = line[i];
  if (c == '-' || c == '*' || c == '+' || c == '#' || c == '|' || c == '>') return true;
  size_t j = i;
  while (j < line.size() && std::isdigit(static_cast<unsigned char>(line[j]))) ++j;
  return j > i && j < line.size() && (line[j] == '.' || line[j] == ')');
}

// A line break inside a hard-wrapped paragraph is not a sentence end: the line before is long
// (wrapped near a margin), does not end a sentence, and the next line does not open a list item,
// heading, table row or quote. Everything else (short lines, titles, one sentence per line,
// Korean lines ending in 다/요 without a period) keeps the break as a boundary.
bool is_soft_wrap(std::string_view text, size_t newline) {
  constexpr size_t kMinWrappedLineChars = 40;
  const size_t line_start = text.rfind('\n', newline == 0 ? 0 : newline - 1);
  std::string_view line = text.substr(
      line_start == std::string_view::npos || newline == 0 ? 0 : line_start + 1,
      newline - (line_start == std::string_view::npos || newline == 0 ? 0 : line_start + 1));
  while (!line.empty() && (line.back() == ' ' || line.back() == '\r' || line.back() == '\t'))
    line.remove_suffix(1);
  if (line.empty() || utf8::length(line) < kMinWrappedLineChars) return false;
  const size_t last = utf8::floor_boundary(line, line.size() - 1);
  size_t len = 0;
  const char32_t end = utf8::decode(line, last, len);
  if (end == '.' || end == '!' || end == '?' || end == ':' || end == ';' || end == 0x3002 ||
      end == 0xFF01 || end == 0xFF1F || end == 0xB2E4 /* 다 */ || end == 0xC694 /* 요 */ ||
      end == 0xC74C /* 음 */ || end == 0xD568 /* 함 */ || end == 0xB428 /* 됨 */ ||
      end == 0xC784 /* 임 */ || is_closer(end))
    return false;
  if (newline + 1 >= text.size()) return false;
  const size_t next_end = text.find('\n', newline + 1);
  const std::string_view next =
      text.substr(newline + 1, next_end == std::string_view::npos ? std::string_view::npos
                                                                  : next_end - newline - 1);
  if (next.find_first_not_of(" \t\r") == std::string_view::npos)
    return false;  // a blank line: paragraph end
  return !starts_block(next);
}

// The lower-cased ASCII word that ends right before text[dot].
std::string word_before(std::string_view text, size_t dot) {
  constexpr size_t kLongestAbbreviation = 8;  // bounded look-back keeps the splitter linear
  size_t b = dot;
  while (b > 0 && dot - b < kLongestAbbreviation &&
         (std::isalpha(static_cast<unsigned char>(text[b - 1])) || text[b - 1] == '.'))
    --b;
  std::string w(text.substr(b, dot - b));
  for (char& c : w) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return w;
}

bool is_abbreviation(std::string_view text, size_t dot) {
  static constexpr std::array<std::string_view, 22> kAbbrev = {
      "mr",  "mrs", "ms", "dr",  "prof",   "st", "vs", "etc", "e.g", "i.e", "inc",
      "ltd", "co",  "no", "fig", "approx", "jr", "sr", "cf",  "al",  "u.s", "ca"};
  const std::string w = word_before(text, dot);
  if (w.empty()) return false;
  if (w.size() == 1)
    return std::isupper(static_cast<unsigned char>(text[dot - 1])) != 0;  // initials
  return std::find(kAbbrev.begin(), kAbbrev.end(), w) != kAbbrev.end();
}

void push_trimmed(std::string_view text, size_t b, size_t e, std::vector<Span>& out) {
  while (b < e) {
    size_t len = 0;
    if (!utf8::is_space(cp_at(text, b, len))) break;
    b += len;
  }
  while (e > b) {
    const size_t p = utf8::floor_boundary(text, e - 1);
    size_t len = 0;
    if (!utf8::is_space(cp_at(text, p, len))) break;
    e = p;
  }
  if (e > b) out.push_back({b, e});
}

// A unit the packer works with: a sentence (or a piece of an over-long one).
struct Unit {
  Span span;
  size_t chars = 0;
  bool heading = false;
};

bool is_heading_line(std::string_view s) {
  size_t i = 0;
  while (i < s.size() && i < 6 && s[i] == '#') ++i;
  return i > 0 && i < s.size() && s[i] == ' ';
}

std::string heading_text(std::string_view s) {
  size_t i = 0;
  while (i < s.size() && s[i] == '#') ++i;
  while (i < s.size() && s[i] == ' ') ++i;
  return std::string(s.substr(i));
}

// Cuts [b, e) into pieces of at most max_chars code points, preferring the last space.
void split_long(std::string_view text, Span span, size_t max_chars, std::vector<Unit>& out) {
  size_t b = span.start;
  while (b < span.end) {
    size_t pos = b, chars = 0, last_space = 0;
    while (pos < span.end && chars < max_chars) {
      size_t len = 0;
      const char32_t cp = cp_at(text, pos, len);
      if (utf8::is_space(cp) && chars > max_chars / 2) last_space = pos;
      pos += len;
      ++chars;
    }
    size_t cut = pos;
    if (pos < span.end && last_space > b) cut = last_space;
    std::vector<Span> piece;
    push_trimmed(text, b, cut, piece);
    for (const Span& p : piece)
      out.push_back({p, utf8::length(text.substr(p.start, p.end - p.start)), false});
    b = cut;
  }
}

}  // namespace

size_t footnote_marker_length(std::string_view text, size_t pos) {
  constexpr size_t kMaxMarker = 24;
  if (pos >= text.size() || text[pos] != '[') return 0;
  bool digit = false;
  for (size_t j = pos + 1; j < text.size() && j - pos < kMaxMarker; ++j) {
    const char c = text[j];
    if (c == ']') return digit ? j - pos + 1 : 0;
    if (c >= '0' && c <= '9') {
      digit = true;
    } else if (c != ',' && c != ' ' && c != '-') {
      return 0;
    }
  }
  return 0;
}

std::vector<Span> split_sentences(std::string_view text) {
  std::vector<Span> out;
  size_t start = 0;
  for (size_t i = 0; i < text.size();) {
    size_t len = 0;
    const char32_t cp = cp_at(text, i, len);
    size_t boundary = 0;  // end of the sentence (exclusive) when one ends here
    if (cp == '\n') {
      if (!is_soft_wrap(text, i)) boundary = i;
    } else if (cp == 0x3002 || cp == 0xFF01 || cp == 0xFF1F) {  // 。！？
      boundary = i + len;
    } else if (cp == '.' || cp == '!' || cp == '?') {
      size_t j = i + len;
      while (j < text.size() && (text[j] == '.' || text[j] == '!' || text[j] == '?')) ++j;
      for (;;) {  // closing quotes and brackets belong to the sentence
        size_t l2 = 0;
        if (j < text.size() && is_closer(cp_at(text, j, l2)))
          j += l2;
        else
          break;
      }
      while (const size_t m = footnote_marker_length(text, j)) j += m;  // "mayor.[7] It"
      size_t l3 = 0;
      const bool at_end = j >= text.size();
      const bool space_next = !at_end && utf8::is_space(cp_at(text, j, l3));
      if ((at_end || space_next) && !(cp == '.' && j == i + 1 && is_abbreviation(text, i))) {
        boundary = j;
      } else {
        i = j;  // the whole run is inside a sentence: never scan it again (linear time)
        continue;
      }
    }
    if (boundary > 0 || (cp == '\n' && i == 0)) {
      push_trimmed(text, start, boundary, out);
      start = boundary;
      i = std::max(i + len, boundary);
      continue;
    }
    i += len;
  }
  push_trimmed(text, start, text.size(), out);
  return out;
}

std::vector<Chunk> chunk_text(std::string_view text, const ChunkOptions& options) {
  const size_t target = std::max<size_t>(options.target_chars, 16);
  const size_t max_chars = std::max(options.max_chars, target);

  std::vector<Unit> units;
  for (const Span& s : split_sentences(text)) {
    const std::string_view sv = text.substr(s.start, s.end - s.start);
    const size_t chars = utf8::length(sv);
    if (chars > max_chars) {
      split_long(text, s, max_chars, units);
    } else {
      units.push_back({s, chars, is_heading_line(sv)});
    }
  }

  // Whether a unit of `u_chars` joins a chunk that has `chars` so far (each unit counts one more
  // for the space between units).
  const auto fits = [&](size_t chars, size_t u_chars) {
    return chars + u_chars <= target || (chars < target / 2 && chars + u_chars <= max_chars);
  };

  std::vector<Chunk> chunks;
  std::string section;
  size_t i = 0, scanned = 0;
  while (i < units.size()) {
    for (; scanned <= i; ++scanned) {  // the section in force at the chunk's first unit
      const Span& h = units[scanned].span;
      if (units[scanned].heading) section = heading_text(text.substr(h.start, h.end - h.start));
    }
    size_t j = i, chars = 0;
    while (j < units.size()) {
      const Unit& u = units[j];
      if (j > i && u.heading && chars >= target / 4) break;  // a heading opens a new chunk
      if (j > i && !fits(chars, u.chars)) break;
      chars += u.chars + 1;
      ++j;
    }
    Chunk c;
    c.start = units[i].span.start;
    c.end = units[j - 1].span.end;
    c.text = std::string(text.substr(c.start, c.end - c.start));
    c.section = section;
    chunks.push_back(std::move(c));
    if (j >= units.size()) break;
    // Overlap: repeat trailing sentences of this chunk, unless a heading starts the next one.
    size_t next = j;
    if (!units[j].heading) {
      size_t overlap = 0;
      while (next > i + 1 && !units[next - 1].heading &&
             overlap + units[next - 1].chars <= options.overlap_chars) {
        overlap += units[next - 1].chars;
        --next;
      }
      // The next chunk must take in unit j, or it is a tail of this one that adds nothing (and
      // the one after it may be again): drop overlap from the front until unit j fits after it.
      // Found by tests/fuzz/fuzz_chunker.
      size_t carried = 0;
      for (size_t u = next; u < j; ++u) carried += units[u].chars + 1;
      while (next < j && !fits(carried, units[j].chars)) {
        carried -= units[next].chars + 1;
        ++next;
      }
    }
    i = next;
  }
  return chunks;
}

}  // namespace chaja
