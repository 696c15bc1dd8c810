#include "agent/citations.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <memory>
#include <unordered_set>
#include <utility>

#include "index/chunker.h"
#include "index/tokenizer.h"
#include "index/utf8.h"

namespace chaja {
namespace {

constexpr int kMaxMarkerNumber = 999;    // three digits
constexpr char32_t kEnd = 0x110000;      // "next code point" at the end of the stream
constexpr char32_t kInvalid = 0x110001;  // bytes that are not valid UTF-8 (passed through)

bool is_open(char32_t cp) {
  return cp == '[' || cp == 0xFF3B || cp == 0x3010;
}
bool is_close(char32_t cp) {
  return cp == ']' || cp == 0xFF3D || cp == 0x3011;
}
bool is_separator(char32_t cp) {
  return cp == ',' || cp == 0xFF0C || cp == 0x3001;
}
bool is_range(char32_t cp) {
  return cp == '-' || cp == 0x2013 || cp == '~' || cp == 0xFF5E;
}

int digit_of(char32_t cp) {
  if (cp >= '0' && cp <= '9') return static_cast<int>(cp - '0');
  if (cp >= 0xFF10 && cp <= 0xFF19) return static_cast<int>(cp - 0xFF10);
  return -1;
}

// A dropped marker's spaces go when what follows ends a clause (or the line, or the text).
bool ends_clause(char32_t cp) {
  switch (cp) {
    case kEnd:
    case '\n':
    case '\r':
    case '.':
    case ',':
    case ';':
    case ':':
    case '!':
    case '?':
    case ')':
    case ']':
    case '}':
    case 0x3002:  // 。
    case 0x3001:  // 、
    case 0xFF0C:  // ，
    case 0xFF01:  // ！
    case 0xFF1F:  // ？
    case 0xFF09:  // ）
    case 0x300D:  // 」
    case 0x300F:  // 』
    case 0x201D:  // ”
      return true;
    default:
      return false;
  }
}

size_t sequence_length(unsigned char lead) {
  if (lead >= 0xC2 && lead <= 0xDF) return 2;
  if (lead >= 0xE0 && lead <= 0xEF) return 3;
  if (lead >= 0xF0 && lead <= 0xF4) return 4;
  return 0;
}

}  // namespace

CitationRewriter::CitationRewriter(size_t sources)
    : max_source_(static_cast<int>(std::min<size_t>(sources, kMaxMarkerNumber))),
      final_of_(static_cast<size_t>(max_source_) + 1, 0),
      in_group_(static_cast<size_t>(max_source_) + 1, 0) {}

std::string CitationRewriter::feed(std::string_view delta, std::vector<int>* first_cited) {
  first_ = first_cited;
  for (const char c : delta) put_byte(static_cast<unsigned char>(c));
  first_ = nullptr;
  return std::exchange(out_, {});
}

std::string CitationRewriter::finish(std::vector<int>* first_cited) {
  first_ = first_cited;
  if (!utf8_.empty()) {  // a truncated sequence: pass its bytes through
    const std::string raw = std::exchange(utf8_, {});
    utf8_need_ = 0;
    step(kInvalid, raw);
  }
  if (state_ == State::kMarker) {
    if (any_digit_) {  // "[2" cut off: a marker that names nothing
      marker_raw_.clear();
      group_open_ = true;
      group_spaces_ = 0;
      state_ = State::kAfterMarker;
    } else {
      fail_marker();
    }
  }
  if (state_ == State::kAfterMarker) close_group(kEnd);
  out_.append(std::exchange(pre_spaces_, 0), ' ');
  first_ = nullptr;
  return std::exchange(out_, {});
}

// Assembles code points from bytes, so that a delta may end anywhere.
void CitationRewriter::put_byte(unsigned char b) {
  if (utf8_need_ > 0) {
    if ((b & 0xC0) == 0x80) {
      utf8_.push_back(static_cast<char>(b));
      if (--utf8_need_ > 0) return;
      const std::string raw = std::exchange(utf8_, {});
      size_t len = 0;
      char32_t cp = utf8::decode(raw, 0, len);
      if (len != raw.size()) cp = kInvalid;  // overlong or surrogate
      step(cp, raw);
      return;
    }
    const std::string raw = std::exchange(utf8_, {});  // broken sequence
    utf8_need_ = 0;
    step(kInvalid, raw);
  }
  const char byte = static_cast<char>(b);
  if (b < 0x80) {
    step(b, std::string_view(&byte, 1));
  } else if (const size_t n = sequence_length(b)) {
    utf8_.assign(1, byte);
    utf8_need_ = n - 1;
  } else {
    step(kInvalid, std::string_view(&byte, 1));
  }
}

void CitationRewriter::emit(char32_t cp, std::string_view raw) {
  out_.append(raw);
  if (cp == '\n')
    line_start_ = true;
  else if (cp != '\t' && cp != '\r')
    line_start_ = false;
}

void CitationRewriter::step(char32_t cp, std::string_view raw) {
  switch (state_) {
    case State::kText:
      if (cp == ' ') {
        ++pre_spaces_;
      } else if (is_open(cp)) {
        start_marker(raw);
      } else {
        out_.append(std::exchange(pre_spaces_, 0), ' ');
        emit(cp, raw);
      }
      return;
    case State::kAfterMarker:
      if (cp == ' ') {
        ++group_spaces_;
      } else if (is_open(cp)) {
        start_marker(raw);
      } else {
        close_group(cp);
        emit(cp, raw);
      }
      return;
    case State::kMarker:
      step_marker(cp, raw);
      return;
  }
}

void CitationRewriter::start_marker(std::string_view raw) {
  state_ = State::kMarker;
  marker_raw_.assign(raw);
  part_ = Part::kOpen;
  number_ = digits_ = 0;
  any_digit_ = range_pending_ = last_is_range_ = false;
  items_.clear();
}

void CitationRewriter::end_number() {
  if (range_pending_) {
    items_.back().second = number_;
    range_pending_ = false;
    last_is_range_ = true;
  } else {
    items_.emplace_back(number_, number_);
    last_is_range_ = false;
  }
  number_ = digits_ = 0;
}

void CitationRewriter::step_marker(char32_t cp, std::string_view raw) {
  if (marker_raw_.size() + raw.size() > kMaxMarkerBytes) {
    fail_marker();
    step(cp, raw);
    return;
  }
  const int d = digit_of(cp);
  bool ok = false;
  bool closed = false;
  switch (part_) {
    case Part::kOpen:
    case Part::kAfterSeparator:
    case Part::kAfterRange:
      if (cp == ' ') {
        ok = true;
      } else if (d >= 0) {
        ok = true;
        part_ = Part::kNumber;
        number_ = d;
        digits_ = 1;
        any_digit_ = true;
      }
      break;
    case Part::kNumber:
      if (d >= 0) {
        ok = digits_ < 3;  // "[2024]" is not a marker
        number_ = number_ * 10 + d;
        ++digits_;
        break;
      }
      if (cp == ' ' || is_separator(cp) || is_range(cp) || is_close(cp)) end_number();
      [[fallthrough]];
    case Part::kAfterNumber:
      if (cp == ' ') {
        ok = true;
        part_ = Part::kAfterNumber;
      } else if (is_separator(cp)) {
        ok = true;
        part_ = Part::kAfterSeparator;
      } else if (is_range(cp)) {
        ok = !last_is_range_;  // "[1-2-3]" is not a marker
        range_pending_ = true;
        part_ = Part::kAfterRange;
      } else if (is_close(cp)) {
        ok = closed = true;
      }
      break;
  }
  if (!ok) {
    fail_marker();
    step(cp, raw);
    return;
  }
  if (closed) {
    commit_marker();
    return;
  }
  marker_raw_.append(raw);
}

// A marker closed: its valid numbers join the open group.
void CitationRewriter::commit_marker() {
  for (const auto& [a, b] : items_) {
    const int lo = std::max(std::min(a, b), 1);
    const int hi = std::min(std::max(a, b), max_source_);
    for (int n = lo; n <= hi; ++n) {
      if (in_group_[static_cast<size_t>(n)]) continue;
      in_group_[static_cast<size_t>(n)] = 1;
      group_.push_back(n);
    }
  }
  marker_raw_.clear();
  group_open_ = true;
  group_spaces_ = 0;  // spaces between the markers of a group go
  state_ = State::kAfterMarker;
}

// What looked like a marker was text: the group before it (if any) is written, then the text.
void CitationRewriter::fail_marker() {
  if (group_open_)
    close_group('[');  // not a clause end: the spaces before a dropped group stay
  else
    out_.append(std::exchange(pre_spaces_, 0), ' ');
  out_.append(marker_raw_);
  line_start_ = false;
  marker_raw_.clear();
  state_ = State::kText;
}

void CitationRewriter::close_group(char32_t next) {
  if (!group_.empty()) {
    std::vector<int> finals;
    finals.reserve(group_.size());
    for (const int m : group_) {
      in_group_[static_cast<size_t>(m)] = 0;
      int& f = final_of_[static_cast<size_t>(m)];
      if (f == 0) {
        cited_.push_back(m);
        f = static_cast<int>(cited_.size());
        if (first_) first_->push_back(m);
      }
      finals.push_back(f);
    }
    std::sort(finals.begin(), finals.end());
    out_.append(pre_spaces_, ' ');
    for (const int f : finals) {
      out_.push_back('[');
      out_.append(std::to_string(f));
      out_.push_back(']');
    }
    out_.append(group_spaces_, ' ');
    line_start_ = false;
  } else if (!line_start_ && !ends_clause(next)) {
    out_.append(std::max(pre_spaces_, group_spaces_), ' ');  // "foo [9] bar" -> "foo bar"
  }
  group_.clear();
  group_open_ = false;
  pre_spaces_ = group_spaces_ = 0;
  state_ = State::kText;
}

std::string rewrite_citations(std::string_view answer, size_t sources, std::vector<int>* cited) {
  CitationRewriter rewriter(sources);
  std::string out = rewriter.feed(answer);
  out += rewriter.finish();
  if (cited) *cited = rewriter.cited();
  return out;
}

// ---- Claims -------------------------------------------------------------------------------------

namespace {

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// A number as written: digits, thousands groups (",ddd") and one decimal part (".d+").
double plain_number(std::string_view s, size_t& i) {
  std::string digits;
  while (i < s.size()) {
    if (is_digit(s[i])) {
      digits.push_back(s[i++]);
    } else if (s[i] == ',' && i + 3 < s.size() && is_digit(s[i + 1]) && is_digit(s[i + 2]) &&
               is_digit(s[i + 3]) && (i + 4 >= s.size() || !is_digit(s[i + 4])) &&
               digits.find('.') == std::string::npos) {
      ++i;
    } else if (s[i] == '.' && i + 1 < s.size() && is_digit(s[i + 1]) &&
               digits.find('.') == std::string::npos) {
      digits.push_back(s[i++]);
    } else {
      break;
    }
  }
  return std::strtod(digits.c_str(), nullptr);
}

// Korean numeral units right after a number: 백 천 (within a section), 만 억 조 (sections).
double unit_at(std::string_view s, size_t i, size_t& len) {
  len = 0;
  if (i >= s.size()) return 0;
  const char32_t cp = utf8::decode(s, i, len);
  switch (cp) {
    case 0xBC31:  // 백
      return 1e2;
    case 0xCC9C:  // 천
      return 1e3;
    case 0xB9CC:  // 만
      return 1e4;
    case 0xC5B5:  // 억
      return 1e8;
    case 0xC870:  // 조
      return 1e12;
    default:
      len = 0;
      return 0;
  }
}

// A number in a sentence: its value ("18만 6천" = 186000) and the numbers written in it (18, 6).
struct NumberExpr {
  double value = 0;
  std::vector<double> parts;
};

// Numbers written in the text; Korean numerals with units combine ("1억 2천만" = 120000000).
std::vector<NumberExpr> numbers_in(std::string_view s) {
  std::vector<NumberExpr> out;
  size_t i = 0;
  while (i < s.size()) {
    if (!is_digit(s[i])) {
      ++i;
      continue;
    }
    NumberExpr e;
    double total = 0, section = 0, current = 0;
    bool has_current = false;
    for (;;) {
      current = plain_number(s, i);
      has_current = true;
      e.parts.push_back(current);
      size_t len = 0;
      bool large = false;
      for (double u = unit_at(s, i, len); u > 0; u = unit_at(s, i, len)) {
        i += len;
        if (u < 1e4) {
          section += (has_current ? current : 1) * u;
        } else {
          const double base = section + (has_current ? current : 0);
          total += (base > 0 ? base : 1) * u;
          section = 0;
          large = true;
        }
        has_current = false;
        if (i < s.size() && is_digit(s[i])) break;  // "3천5백"
      }
      if (i < s.size() && is_digit(s[i]) && !has_current) continue;
      // "18만 6천": after a large unit, one space and a number with a unit continue the value.
      if (large && i + 1 < s.size() && s[i] == ' ' && is_digit(s[i + 1])) {
        size_t j = i + 1;
        plain_number(s, j);
        size_t l2 = 0;
        if (unit_at(s, j, l2) > 0) {
          ++i;
          continue;
        }
      }
      break;
    }
    e.value = total + section + (has_current ? current : 0);
    out.push_back(std::move(e));
  }
  return out;
}

bool contains_value(const std::vector<double>& values, double v) {
  return std::any_of(values.begin(), values.end(), [v](double x) {
    return std::fabs(x - v) <= 1e-9 * std::max(1.0, std::fabs(v));
  });
}

struct SourceFacts {
  std::unordered_set<std::string> terms;
  std::vector<double> numbers;  // values and the numbers written in them
};

SourceFacts facts_of(std::string_view text) {
  SourceFacts f;
  tokenize(text, TokenMode::kDocument,
           [&](std::string_view t, size_t, size_t) { f.terms.emplace(t); });
  for (NumberExpr& e : numbers_in(text)) {
    f.numbers.push_back(e.value);
    f.numbers.insert(f.numbers.end(), e.parts.begin(), e.parts.end());
  }
  return f;
}

// Length of a canonical marker "[n]" (1 to 3 digits) at s[i], 0 if none; n gets its number.
size_t marker_at(std::string_view s, size_t i, int& n) {
  if (s[i] != '[') return 0;
  size_t j = i + 1;
  n = 0;
  while (j < s.size() && j - i <= 3 && is_digit(s[j])) n = n * 10 + (s[j++] - '0');
  if (j == i + 1 || j >= s.size() || s[j] != ']') return 0;
  return j + 1 - i;
}

bool is_ascii_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_ascii_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_ascii_space(s.back())) s.remove_suffix(1);
  return s;
}

bool all_digits(std::string_view t) {
  return std::all_of(t.begin(), t.end(), is_digit);
}

}  // namespace

std::vector<Claim> verify_claims(std::string_view answer,
                                 const std::vector<std::string>& source_texts, double threshold) {
  std::vector<std::unique_ptr<SourceFacts>> facts(source_texts.size());  // built when cited
  // Sentences with their markers. A marker standing alone after a sentence's full stop
  // ("… 원입니다. [1]") belongs to that sentence.
  std::vector<Claim> pieces;
  std::vector<bool> marked;
  for (const Span& span : split_sentences(answer)) {
    const std::string_view sentence = answer.substr(span.start, span.end - span.start);
    std::string text;
    bool has_marker = false;
    Claim claim;
    for (size_t i = 0; i < sentence.size();) {
      int n = 0;
      if (const size_t len = marker_at(sentence, i, n)) {
        while (!text.empty() && text.back() == ' ') text.pop_back();
        const bool valid = n >= 1 && static_cast<size_t>(n) <= source_texts.size();
        if (text.empty() && !pieces.empty()) {
          // Leading markers close the sentence before.
          if (valid && std::find(pieces.back().citations.begin(), pieces.back().citations.end(),
                                 n) == pieces.back().citations.end())
            pieces.back().citations.push_back(n);
          marked.back() = true;
        } else {
          has_marker = true;
          if (valid &&
              std::find(claim.citations.begin(), claim.citations.end(), n) == claim.citations.end())
            claim.citations.push_back(n);
        }
        i += len;
        continue;
      }
      if (!(text.empty() && sentence[i] == ' ')) text.push_back(sentence[i]);
      ++i;
    }
    claim.text = std::string(trim(text));
    if (claim.text.empty()) {
      if (has_marker && !pieces.empty()) {
        for (int n : claim.citations)
          if (std::find(pieces.back().citations.begin(), pieces.back().citations.end(), n) ==
              pieces.back().citations.end())
            pieces.back().citations.push_back(n);
        marked.back() = true;
      }
      continue;
    }
    pieces.push_back(std::move(claim));
    marked.push_back(has_marker);
  }

  std::vector<Claim> claims;
  for (size_t p = 0; p < pieces.size(); ++p) {
    if (!marked[p]) continue;
    Claim claim = std::move(pieces[p]);
    std::vector<const SourceFacts*> cited;
    for (const int n : claim.citations) {
      auto& f = facts[static_cast<size_t>(n - 1)];
      if (!f) f = std::make_unique<SourceFacts>(facts_of(source_texts[static_cast<size_t>(n - 1)]));
      cited.push_back(f.get());
    }
    const auto in_sources = [&](const std::string& term) {
      return std::any_of(cited.begin(), cited.end(),
                         [&](const SourceFacts* f) { return f->terms.count(term) > 0; });
    };
    const auto number_in_sources = [&](double v) {
      return std::any_of(cited.begin(), cited.end(),
                         [&](const SourceFacts* f) { return contains_value(f->numbers, v); });
    };

    size_t terms = 0, found = 0;
    for (const std::string& t : query_terms(claim.text)) {
      if (all_digits(t)) continue;  // numbers are checked by value below
      ++terms;
      if (in_sources(t)) ++found;
    }
    claim.support = terms == 0 ? 1.0 : static_cast<double>(found) / static_cast<double>(terms);
    for (const NumberExpr& e : numbers_in(claim.text)) {
      const bool ok = number_in_sources(e.value) ||
                      std::all_of(e.parts.begin(), e.parts.end(), number_in_sources);
      if (!ok) {
        claim.support = std::min(claim.support, threshold / 2);
        break;
      }
    }
    if (cited.empty()) claim.support = 0;
    claim.supported = claim.support >= threshold;
    claims.push_back(std::move(claim));
  }
  return claims;
}

std::string snippet_at(std::string_view passage, size_t start) {
  constexpr size_t kSnippetChars = 300;
  std::string_view rest = passage.substr(std::min(start, passage.size()));
  std::string out;
  size_t chars = 0, i = 0;
  bool line_start = true;
  while (i < rest.size() && chars < kSnippetChars) {
    const char c = rest[i];
    if (line_start && (c == '#' || c == '>' || c == ' ')) {  // "## Heading", "> quote"
      ++i;
      continue;
    }
    line_start = false;
    if (c == '\n' || c == '\r' || c == '\t') {
      if (!out.empty() && out.back() != ' ') out.push_back(' ');
      line_start = c == '\n';
      ++i;
      continue;
    }
    if (c == '*' || c == '`' || (c == '_' && (i + 1 < rest.size() && rest[i + 1] == '_'))) {
      ++i;  // emphasis and code marks; a single '_' may be part of a name
      continue;
    }
    size_t len = 0;
    utf8::decode(rest, i, len);
    out.append(rest.substr(i, len));
    i += len;
    ++chars;
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  if (i < rest.size()) out += "…";
  return out;
}

std::string citation_snippet(std::string_view passage, std::string_view query) {
  const std::vector<std::string> terms = query_terms(query);
  const std::unordered_set<std::string> wanted(terms.begin(), terms.end());
  size_t best_start = 0, best = 0;
  for (const Span& span : split_sentences(passage)) {
    size_t common = 0;
    for (const std::string& t : query_terms(passage.substr(span.start, span.end - span.start)))
      common += wanted.count(t);
    if (common > best) {
      best = common;
      best_start = span.start;
    }
  }
  return snippet_at(passage, best_start);
}

}  // namespace chaja
