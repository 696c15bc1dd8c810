// Normalisation of web results, the backend registry and the fallback chain. The backends' wire
// formats live in web_search_backends.cpp.
#include "connectors/web_search.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <set>
#include <string_view>

#include "connectors/wire_json.h"

namespace chaja {

// Defined in web_search_backends.cpp.
Result<std::unique_ptr<WebSearch>> make_searxng_search(const Env& env,
                                                       const WebSearchSettings& settings);
Result<std::unique_ptr<WebSearch>> make_brave_search(const Env& env,
                                                     const WebSearchSettings& settings);
Result<std::unique_ptr<WebSearch>> make_tavily_search(const Env& env,
                                                      const WebSearchSettings& settings);

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

void append_utf8(std::string& out, uint32_t cp) {
  if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) cp = 0xFFFD;
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// Decodes one entity starting at s[0] == '&'; returns the bytes consumed (0: not an entity).
size_t decode_entity(std::string_view s, std::string& out) {
  const size_t semi = s.find(';');
  if (semi == std::string_view::npos || semi < 2 || semi > 10) return 0;
  const std::string_view body = s.substr(1, semi - 1);
  if (body[0] == '#') {
    uint32_t cp = 0;
    const bool hex = body.size() > 1 && (body[1] == 'x' || body[1] == 'X');
    const std::string_view digits = body.substr(hex ? 2 : 1);
    if (digits.empty()) return 0;
    for (char c : digits) {
      int d = -1;
      if (c >= '0' && c <= '9') d = c - '0';
      if (hex && c >= 'a' && c <= 'f') d = c - 'a' + 10;
      if (hex && c >= 'A' && c <= 'F') d = c - 'A' + 10;
      if (d < 0) return 0;
      cp = cp * (hex ? 16 : 10) + static_cast<uint32_t>(d);
      if (cp > 0x10FFFF) cp = 0x110000;
    }
    append_utf8(out, cp);
    return semi + 1;
  }
  static const std::pair<std::string_view, std::string_view> kNamed[] = {
      {"amp", "&"},         {"lt", "<"},          {"gt", ">"},         {"quot", "\""},
      {"apos", "'"},        {"nbsp", " "},        {"ndash", "\u2013"}, {"mdash", "\u2014"},
      {"hellip", "\u2026"}, {"lsquo", "\u2018"},  {"rsquo", "\u2019"}, {"ldquo", "\u201c"},
      {"rdquo", "\u201d"},  {"middot", "\u00b7"}, {"copy", "\u00a9"},  {"reg", "\u00ae"}};
  for (const auto& [name, text] : kNamed) {
    if (body == name) {
      out += text;
      return semi + 1;
    }
  }
  return 0;
}

std::string url_key(std::string_view url) {
  std::string key(url.substr(0, url.find('#')));
  const size_t scheme_end = key.find("://");
  if (scheme_end != std::string::npos) {
    const size_t host_end = key.find_first_of("/?", scheme_end + 3);
    const size_t n = host_end == std::string::npos ? key.size() : host_end;
    for (size_t i = 0; i < n; ++i)
      key[i] = static_cast<char>(std::tolower(static_cast<unsigned char>(key[i])));
  }
  while (!key.empty() && key.back() == '/') key.pop_back();
  return key;
}

// ---- Published dates ----

constexpr int64_t kDaySeconds = 86'400;
constexpr int64_t kEarliestDate = 631'152'000;  // 1990-01-01T00:00:00Z
constexpr size_t kMaxDateBytes = 200;

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_ascii_letter(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
char ascii_lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

// A cursor over a date's text. Every reader consumes only when it succeeds.
class DateCursor {
 public:
  explicit DateCursor(std::string_view s) : s_(s) {}
  bool done() const { return i_ == s_.size(); }
  size_t pos() const { return i_; }
  void reset(size_t pos) { i_ = pos; }
  char peek() const { return done() ? '\0' : s_[i_]; }
  // Skips spaces and tabs; true when there was at least one.
  bool spaces() {
    const size_t start = i_;
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t')) ++i_;
    return i_ > start;
  }
  // A literal; ASCII letters compare case-insensitively, other bytes (UTF-8) exactly.
  bool eat(std::string_view lit) {
    if (s_.size() - i_ < lit.size()) return false;
    for (size_t k = 0; k < lit.size(); ++k)
      if (ascii_lower(s_[i_ + k]) != ascii_lower(lit[k])) return false;
    i_ += lit.size();
    return true;
  }
  // min..max digits not followed by another digit.
  std::optional<int64_t> number(size_t min_digits, size_t max_digits) {
    size_t end = i_;
    while (end < s_.size() && is_digit(s_[end])) ++end;
    const size_t n = end - i_;
    if (n < min_digits || n > max_digits) return std::nullopt;
    int64_t value = 0;
    for (; i_ < end; ++i_) value = value * 10 + (s_[i_] - '0');
    return value;
  }
  // Exactly n digits, whatever follows ("0900" of "+0900" as 09 then 00).
  std::optional<int64_t> fixed(size_t n) {
    if (s_.size() - i_ < n) return std::nullopt;
    int64_t value = 0;
    for (size_t k = 0; k < n; ++k) {
      if (!is_digit(s_[i_ + k])) return std::nullopt;
      value = value * 10 + (s_[i_ + k] - '0');
    }
    i_ += n;
    return value;
  }
  // A run of ASCII letters, lower-cased ("" when there is none).
  std::string word() {
    std::string w;
    while (i_ < s_.size() && is_ascii_letter(s_[i_])) w += ascii_lower(s_[i_++]);
    return w;
  }

 private:
  std::string_view s_;
  size_t i_ = 0;
};

// Seconds since the epoch of a civil date's midnight (UTC), nullopt for an impossible date.
std::optional<int64_t> midnight_seconds(int64_t y, int64_t m, int64_t d) {
  if (y < 1 || y > 9999 || m < 1 || m > 12 || d < 1 || d > 31) return std::nullopt;
  const std::chrono::year_month_day ymd{std::chrono::year{static_cast<int>(y)},
                                        std::chrono::month{static_cast<unsigned>(m)},
                                        std::chrono::day{static_cast<unsigned>(d)}};
  if (!ymd.ok()) return std::nullopt;
  return int64_t{std::chrono::sys_days{ymd}.time_since_epoch().count()} * kDaySeconds;
}

// 1..12 for an English month name or its abbreviation ("may", "sep", "sept", "september").
int month_number(std::string_view w) {
  static constexpr std::string_view kMonths[] = {"january",   "february", "march",    "april",
                                                 "may",       "june",     "july",     "august",
                                                 "september", "october",  "november", "december"};
  if (w == "sept") return 9;
  for (int i = 0; i < 12; ++i)
    if (w.size() >= 3 && kMonths[i].starts_with(w) && (w.size() == 3 || w == kMonths[i]))
      return i + 1;
  return 0;
}

bool is_weekday(std::string_view w) {
  static constexpr std::string_view kDays[] = {"monday", "tuesday",  "wednesday", "thursday",
                                               "friday", "saturday", "sunday"};
  for (std::string_view d : kDays)
    if (w == d || w == d.substr(0, 3)) return true;
  return false;
}

// "st", "nd", "rd" or "th" after a day of the month.
void skip_ordinal(DateCursor& c) {
  for (std::string_view s : {"st", "nd", "rd", "th"})
    if (c.eat(s)) return;
}

// "HH:MM[:SS[.fff]]", then optionally spaces and a zone ("Z", "UTC", "GMT", "+09:00", "-0500",
// "+09"). The result is seconds into the day minus the zone's offset (may be out of 0..86399).
std::optional<int64_t> read_clock(DateCursor& c) {
  const auto hh = c.number(1, 2);
  if (!hh || !c.eat(":")) return std::nullopt;
  const auto mm = c.number(2, 2);
  if (!mm) return std::nullopt;
  int64_t ss = 0;
  if (c.eat(":")) {
    const auto s = c.number(2, 2);
    if (!s) return std::nullopt;
    ss = *s;
    if ((c.eat(".") || c.eat(",")) && !c.number(1, 9)) return std::nullopt;
  }
  if (*hh > 23 || *mm > 59 || ss > 60) return std::nullopt;
  int64_t offset = 0;
  const size_t before_zone = c.pos();
  c.spaces();
  if (c.eat("utc") || c.eat("gmt") || c.eat("ut") || c.eat("z")) {
  } else if (c.peek() == '+' || c.peek() == '-') {
    const int64_t sign = c.peek() == '-' ? -1 : 1;
    c.reset(c.pos() + 1);
    const auto oh = c.fixed(2);
    if (!oh) return std::nullopt;
    int64_t om = 0;
    const bool colon = c.eat(":");
    if (colon || is_digit(c.peek())) {
      const auto m = c.fixed(2);
      if (!m) return std::nullopt;
      om = *m;
    }
    if (*oh > 23 || om > 59) return std::nullopt;
    offset = sign * (*oh * 3600 + om * 60);
  } else {
    c.reset(before_zone);
  }
  return *hh * 3600 + *mm * 60 + ss - offset;
}

struct WebDate {
  int64_t seconds = 0;
  bool date_only = false;  // no time of day was given
};

// An absolute date: ISO 8601, "2024.05.01", "2024/05/01", "2024년 5월 1일", RFC 1123,
// "May 1, 2024", "1 May 2024"; each optionally followed by a time of day.
std::optional<WebDate> read_absolute(std::string_view text) {
  DateCursor c(text);
  int64_t y = 0, m = 0, d = 0;
  bool iso = false;
  if (const auto year = c.number(4, 4)) {
    y = *year;
    if (c.eat("-")) {  // 2024-05-01
      const auto mo = c.number(2, 2);
      if (!mo || !c.eat("-")) return std::nullopt;
      const auto day = c.number(2, 2);
      if (!day) return std::nullopt;
      m = *mo;
      d = *day;
      iso = true;
    } else if (c.peek() == '.' || c.peek() == '/') {  // 2024.05.01, 2024. 5. 1., 2024/05/01
      const std::string sep(1, c.peek());
      c.eat(sep);
      c.spaces();
      const auto mo = c.number(1, 2);
      if (!mo || !c.eat(sep)) return std::nullopt;
      c.spaces();
      const auto day = c.number(1, 2);
      if (!day) return std::nullopt;
      if (sep == ".") c.eat(".");
      m = *mo;
      d = *day;
    } else {  // 2024년 5월 1일
      c.spaces();
      if (!c.eat("년")) return std::nullopt;
      c.spaces();
      const auto mo = c.number(1, 2);
      if (!mo || !c.eat("월")) return std::nullopt;
      c.spaces();
      const auto day = c.number(1, 2);
      if (!day || !c.eat("일")) return std::nullopt;
      m = *mo;
      d = *day;
    }
  } else {
    // [Weekday,] 1 May 2024 | [Weekday,] May 1, 2024
    const size_t start = c.pos();
    if (is_weekday(c.word())) {
      c.eat(",");
      c.spaces();
    } else {
      c.reset(start);
    }
    if (const auto day = c.number(1, 2)) {
      d = *day;
      skip_ordinal(c);
      if (!c.spaces()) return std::nullopt;
      m = month_number(c.word());
      c.eat(".");
      c.eat(",");
      if (!c.spaces()) return std::nullopt;
    } else {
      m = month_number(c.word());
      c.eat(".");
      if (!c.spaces()) return std::nullopt;
      const auto day2 = c.number(1, 2);
      if (!day2) return std::nullopt;
      d = *day2;
      skip_ordinal(c);
      const bool comma = c.eat(",");
      if (!c.spaces() && !comma) return std::nullopt;
      c.spaces();
    }
    if (m == 0) return std::nullopt;
    const auto year2 = c.number(4, 4);
    if (!year2) return std::nullopt;
    y = *year2;
  }
  const auto midnight = midnight_seconds(y, m, d);
  if (!midnight) return std::nullopt;
  if (c.done()) return WebDate{*midnight, true};
  if (!(iso && c.eat("t")) && !c.spaces()) return std::nullopt;
  const auto clock = read_clock(c);
  if (!clock || !c.done()) return std::nullopt;
  return WebDate{*midnight + *clock, false};
}

// Seconds per English unit ("days", "hr", "min"); 0 for anything else.
int64_t english_unit(std::string_view w) {
  static const std::pair<std::string_view, int64_t> kUnits[] = {{"s", 1},
                                                                {"sec", 1},
                                                                {"secs", 1},
                                                                {"second", 1},
                                                                {"seconds", 1},
                                                                {"min", 60},
                                                                {"mins", 60},
                                                                {"minute", 60},
                                                                {"minutes", 60},
                                                                {"h", 3600},
                                                                {"hr", 3600},
                                                                {"hrs", 3600},
                                                                {"hour", 3600},
                                                                {"hours", 3600},
                                                                {"d", kDaySeconds},
                                                                {"day", kDaySeconds},
                                                                {"days", kDaySeconds},
                                                                {"w", 7 * kDaySeconds},
                                                                {"wk", 7 * kDaySeconds},
                                                                {"wks", 7 * kDaySeconds},
                                                                {"week", 7 * kDaySeconds},
                                                                {"weeks", 7 * kDaySeconds},
                                                                {"mo", 30 * kDaySeconds},
                                                                {"mos", 30 * kDaySeconds},
                                                                {"month", 30 * kDaySeconds},
                                                                {"months", 30 * kDaySeconds},
                                                                {"y", 365 * kDaySeconds},
                                                                {"yr", 365 * kDaySeconds},
                                                                {"yrs", 365 * kDaySeconds},
                                                                {"year", 365 * kDaySeconds},
                                                                {"years", 365 * kDaySeconds}};
  for (const auto& [name, seconds] : kUnits)
    if (w == name) return seconds;
  return 0;
}

// A relative date counted back from now: "3 days ago", "an hour ago", "2h ago", "yesterday",
// "3일 전", "2 시간 전", "어제", "하루 전".
std::optional<int64_t> read_relative(std::string_view text, int64_t now) {
  static const std::pair<std::string_view, int64_t> kWords[] = {{"now", 0},
                                                                {"just now", 0},
                                                                {"today", 0},
                                                                {"yesterday", kDaySeconds},
                                                                {"방금", 0},
                                                                {"방금 전", 0},
                                                                {"오늘", 0},
                                                                {"어제", kDaySeconds},
                                                                {"그제", 2 * kDaySeconds},
                                                                {"그저께", 2 * kDaySeconds},
                                                                {"하루 전", kDaySeconds}};
  for (const auto& [words, back] : kWords) {
    DateCursor w(text);
    if (w.eat(words) && w.done()) return now - back;
  }
  DateCursor c(text);
  int64_t n = 1;
  if (const auto num = c.number(1, 6)) {
    n = *num;
  } else {
    const std::string article = c.word();
    if (article != "a" && article != "an" && article != "one") return std::nullopt;
    if (!c.spaces()) return std::nullopt;
  }
  c.spaces();
  int64_t unit = 0;
  const std::string w = c.word();
  if (!w.empty()) {
    unit = english_unit(w);
    if (unit == 0 || !c.spaces() || c.word() != "ago") return std::nullopt;
  } else {
    static const std::pair<std::string_view, int64_t> kKoreanUnits[] = {{"초", 1},
                                                                        {"분", 60},
                                                                        {"시간", 3600},
                                                                        {"일", kDaySeconds},
                                                                        {"주", 7 * kDaySeconds},
                                                                        {"개월", 30 * kDaySeconds},
                                                                        {"달", 30 * kDaySeconds},
                                                                        {"년", 365 * kDaySeconds}};
    for (const auto& [name, seconds] : kKoreanUnits) {
      if (c.eat(name)) {
        unit = seconds;
        break;
      }
    }
    c.spaces();
    if (unit == 0 || !c.eat("전")) return std::nullopt;
  }
  if (!c.done()) return std::nullopt;
  return now - n * unit;
}

std::optional<WebDate> parse_date(std::string_view text, int64_t now) {
  if (text.size() > kMaxDateBytes) return std::nullopt;
  constexpr std::string_view kSpace = " \t\r\n\f\v";
  const size_t first = text.find_first_not_of(kSpace);
  if (first == std::string_view::npos) return std::nullopt;
  text = text.substr(first, text.find_last_not_of(kSpace) - first + 1);
  std::optional<WebDate> date = read_absolute(text);
  if (!date) {
    if (const auto rel = read_relative(text, now)) date = WebDate{*rel, false};
  }
  if (!date || date->seconds < kEarliestDate || date->seconds > now + kDaySeconds)
    return std::nullopt;
  return date;
}

// "2024-05-01T10:00:00Z".
std::string iso_utc(int64_t seconds) {
  const int64_t days = seconds / kDaySeconds - (seconds % kDaySeconds < 0 ? 1 : 0);
  const int64_t rest = seconds - days * kDaySeconds;
  const std::chrono::year_month_day ymd{std::chrono::sys_days{std::chrono::days{days}}};
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02dZ", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<int>(rest / 3600), static_cast<int>(rest / 60 % 60),
                static_cast<int>(rest % 60));
  return buf;
}

}  // namespace

std::optional<int64_t> parse_web_date(std::string_view text, int64_t now) {
  const auto date = parse_date(text, now);
  if (!date) return std::nullopt;
  return date->seconds;
}

int64_t web_recency_seconds(WebRecency recency) {
  switch (recency) {
    case WebRecency::kNone:
      return 0;
    case WebRecency::kDay:
      return kDaySeconds;
    case WebRecency::kWeek:
      return 7 * kDaySeconds;
    case WebRecency::kMonth:
      return 31 * kDaySeconds;
    case WebRecency::kYear:
      return 366 * kDaySeconds;
  }
  return 0;
}

int64_t web_unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string web_plain_text(std::string_view html) {
  std::string text;
  text.reserve(html.size());
  for (size_t i = 0; i < html.size();) {
    const char c = html[i];
    if (c == '<') {
      // A tag starts with a letter, '/', '!' or '?'; anything else is a literal '<'.
      const char next = i + 1 < html.size() ? html[i + 1] : '\0';
      if (std::isalpha(static_cast<unsigned char>(next)) || next == '/' || next == '!' ||
          next == '?') {
        const size_t close = html.find('>', i);
        if (close != std::string_view::npos) {
          const std::string tag = lower(html.substr(i + 1, std::min<size_t>(close - i - 1, 4)));
          // Block-level breaks become spaces; inline tags (<strong>) vanish.
          if (tag.starts_with("br") || tag.starts_with("p") || tag.starts_with("/p") ||
              tag.starts_with("div") || tag.starts_with("/div") || tag.starts_with("li"))
            text += ' ';
          i = close + 1;
          continue;
        }
      }
    }
    if (c == '&') {
      const size_t used = decode_entity(html.substr(i), text);
      if (used > 0) {
        i += used;
        continue;
      }
    }
    text += c;
    ++i;
  }
  std::string out = wire::quote(text, text.size() + 16);
  // quote() turns controls into spaces; also fold the no-break space into a plain one.
  std::string folded;
  folded.reserve(out.size());
  for (size_t i = 0; i < out.size(); ++i) {
    if (static_cast<unsigned char>(out[i]) == 0xC2 && i + 1 < out.size() &&
        static_cast<unsigned char>(out[i + 1]) == 0xA0) {
      if (folded.empty() || folded.back() != ' ') folded += ' ';
      ++i;
      continue;
    }
    folded += out[i];
  }
  while (!folded.empty() && folded.back() == ' ') folded.pop_back();
  while (!folded.empty() && folded.front() == ' ') folded.erase(0, 1);
  return folded;
}

std::string web_url_host(std::string_view url) {
  const std::string head = lower(url.substr(0, 8));
  size_t start = 0;
  if (head.starts_with("https://")) {
    start = 8;
  } else if (head.starts_with("http://")) {
    start = 7;
  } else {
    return "";
  }
  std::string_view rest = url.substr(start);
  rest = rest.substr(0, rest.find_first_of("/?#"));
  const size_t at = rest.rfind('@');
  if (at != std::string_view::npos) rest = rest.substr(at + 1);
  if (!rest.empty() && rest.front() == '[') {
    const size_t end = rest.find(']');
    return end == std::string_view::npos ? "" : lower(rest.substr(0, end + 1));
  }
  rest = rest.substr(0, rest.find(':'));
  for (char ch : rest)
    if (static_cast<unsigned char>(ch) <= 0x20 || ch == '\\') return "";
  return lower(rest);
}

bool web_host_matches(std::string_view host, std::string_view domain) {
  std::string d = lower(domain);
  while (!d.empty() && (d.front() == '.' || d.front() == ' ')) d.erase(0, 1);
  while (!d.empty() && (d.back() == '.' || d.back() == ' ' || d.back() == '/')) d.pop_back();
  if (d.starts_with("www.")) d.erase(0, 4);
  std::string h = lower(host);
  while (!h.empty() && h.back() == '.') h.pop_back();
  if (d.empty() || h.empty()) return false;
  if (h == d) return true;
  return h.size() > d.size() && h.ends_with(d) && h[h.size() - d.size() - 1] == '.';
}

std::string web_query_with_sites(const WebQuery& query) {
  constexpr size_t kMaxSiteTerms = 5;
  std::string text = query.text;
  for (size_t i = 0; i < query.include_domains.size() && i < kMaxSiteTerms; ++i)
    text += (i == 0 ? " site:" : " OR site:") + query.include_domains[i];
  for (size_t i = 0; i < query.exclude_domains.size() && i < kMaxSiteTerms; ++i)
    text += " -site:" + query.exclude_domains[i];
  return text;
}

std::vector<WebResult> normalise_web_results(std::vector<WebResult> results, const WebQuery& query,
                                             int64_t now) {
  const size_t count = static_cast<size_t>(std::clamp(query.count, 1, 20));
  const int64_t window = web_recency_seconds(query.recency);
  std::vector<WebResult> out;
  std::set<std::string> seen;
  for (auto& r : results) {
    if (out.size() >= count) break;
    std::string url = wire::quote(r.url, 8192);
    const std::string host = web_url_host(url);
    if (host.empty() || url.find(' ') != std::string::npos) continue;
    if (!query.include_domains.empty() &&
        std::none_of(query.include_domains.begin(), query.include_domains.end(),
                     [&](const std::string& d) { return web_host_matches(host, d); }))
      continue;
    if (std::any_of(query.exclude_domains.begin(), query.exclude_domains.end(),
                    [&](const std::string& d) { return web_host_matches(host, d); }))
      continue;
    // Too old for the window: dropped. A date given without a time of day counts as its last
    // second (a story from late yesterday is inside a day's window). Undated: kept.
    const std::optional<WebDate> published = parse_date(r.published, now);
    if (published && window > 0 &&
        published->seconds + (published->date_only ? kDaySeconds - 1 : 0) < now - window)
      continue;
    if (!seen.insert(url_key(url)).second) continue;
    WebResult clean;
    clean.url = std::move(url);
    clean.title = web_plain_text(r.title);
    clean.snippet = web_plain_text(r.snippet);
    clean.published = published ? iso_utc(published->seconds) : wire::quote(r.published, 200);
    clean.engine = wire::quote(r.engine, 300);
    if (clean.title.empty()) clean.title = host;
    out.push_back(std::move(clean));
  }
  return out;
}

WebSearchRegistry WebSearchRegistry::with_builtins() {
  WebSearchRegistry r;
  r.add("searxng", make_searxng_search);
  r.add("brave", make_brave_search);
  r.add("tavily", make_tavily_search);
  return r;
}

void WebSearchRegistry::add(const std::string& name, WebSearchFactory factory) {
  if (!factories_.contains(name)) order_.push_back(name);
  factories_[name] = std::move(factory);
}

Result<std::unique_ptr<WebSearch>> WebSearchRegistry::make(
    const std::string& name, const Env& env, const WebSearchSettings& settings) const {
  auto it = factories_.find(name);
  if (it == factories_.end()) {
    std::string known;
    for (const auto& n : order_) known += (known.empty() ? "" : ", ") + n;
    return make_error(ErrorKind::kNotFound, "unknown web search backend '" + wire::quote(name, 60) +
                                                "' (known: " + known + ")");
  }
  return it->second(env, settings);
}

std::vector<std::string> WebSearchChain::names() const {
  std::vector<std::string> out;
  for (const auto& b : backends_) out.push_back(b->name());
  return out;
}

Result<WebSearchAnswer> WebSearchChain::search(const WebQuery& query, const CancelFlag* cancel) {
  WebSearchAnswer answer;
  if (backends_.empty())
    return make_error(ErrorKind::kUnavailable, "web search: no backend configured");
  std::optional<Error> last_error;
  for (size_t i = 0; i < backends_.size(); ++i) {
    if (cancel && cancel->load()) return make_error(ErrorKind::kCancelled, "web search cancelled");
    WebSearch& backend = *backends_[i];
    auto res = backend.search(query, cancel);
    if (!res.ok()) {
      if (res.error().kind == ErrorKind::kCancelled) return res.error();
      if (res.error().kind == ErrorKind::kInvalidInput) return res.error();
      Error e = res.error();
      if (!e.message.starts_with(backend.name())) e.message = backend.name() + ": " + e.message;
      last_error = e;
      answer.failures.push_back(std::move(e));
      continue;
    }
    if (res->empty() && i + 1 < backends_.size()) {
      answer.failures.push_back(make_error(ErrorKind::kNotFound, backend.name() + ": no results"));
      continue;
    }
    answer.results = std::move(*res);
    answer.backend = backend.name();
    return answer;
  }
  // Every backend failed (the last one with an error).
  std::string message = "web search: every backend failed: ";
  for (size_t i = 0; i < answer.failures.size(); ++i)
    message += (i ? "; " : "") + answer.failures[i].message;
  return make_error(last_error ? last_error->kind : ErrorKind::kUpstream, message);
}

Result<std::unique_ptr<WebSearchChain>> make_web_search_chain(const Env& env,
                                                              const std::string& order,
                                                              const WebSearchSettings& settings,
                                                              const WebSearchRegistry& registry) {
  std::vector<std::string> names;
  bool explicit_order = false;
  for (size_t pos = 0; pos <= order.size();) {
    size_t comma = order.find(',', pos);
    if (comma == std::string::npos) comma = order.size();
    std::string name = lower(order.substr(pos, comma - pos));
    name.erase(0, name.find_first_not_of(" \t"));
    name.erase(name.find_last_not_of(" \t") + 1);
    if (!name.empty()) {
      explicit_order = true;
      if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
    }
    pos = comma + 1;
  }
  std::vector<std::unique_ptr<WebSearch>> backends;
  if (explicit_order) {
    for (const auto& name : names) {
      auto b = registry.make(name, env, settings);
      if (!b.ok()) return b.error();
      backends.push_back(std::move(*b));
    }
  } else {
    std::string why;
    for (const auto& name : registry.names()) {
      auto b = registry.make(name, env, settings);
      if (b.ok()) {
        backends.push_back(std::move(*b));
      } else {
        why += (why.empty() ? "" : "; ") + b.error().message;
      }
    }
    if (backends.empty())
      return make_error(ErrorKind::kUnavailable, "no web search backend configured: " + why);
  }
  return std::make_unique<WebSearchChain>(std::move(backends));
}

}  // namespace chaja
