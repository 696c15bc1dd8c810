#include "agent/extractive.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
#include <regex>
#include <unordered_map>
#include <unordered_set>

#include "agent/citations.h"
#include "index/chunker.h"
#include "index/tokenizer.h"
#include "index/utf8.h"

namespace chaja {
namespace {

constexpr size_t kMinSentenceChars = 8;
constexpr size_t kLongSentenceChars = 320;
constexpr size_t kMinFragmentChars = 40;
constexpr double kTitleWordWeight = 0.5;
constexpr double kLoneSyllableWeight = 0.5;
constexpr double kMissingWordWeight = 0.3;
constexpr double kRankDecay = 0.04;     // later passages weigh a little less
constexpr double kMaxRedundancy = 0.6;  // term overlap above which a sentence adds nothing

// Light normalisation so "lamps" matches "lamp": drop a plural s from longer Latin words.
std::string normalise(std::string t) {
  if (t.size() > 3 && t.back() == 's' && t[t.size() - 2] != 's' &&
      static_cast<unsigned char>(t[0]) < 0x80)
    t.pop_back();
  return t;
}

std::unordered_set<std::string> term_set(std::string_view text, TokenMode mode) {
  std::unordered_set<std::string> out;
  for (auto& t : tokenize(text, mode)) out.insert(normalise(std::move(t)));
  return out;
}

bool ends_sentence(std::string_view s) {
  const size_t last = utf8::floor_boundary(s, s.size() - 1);
  size_t len = 0;
  const char32_t cp = utf8::decode(s, last, len);
  return cp == '.' || cp == '!' || cp == '?' || cp == 0x3002 || cp == 0xFF01 || cp == 0xFF1F ||
         cp == '"' || cp == ')' || cp == 0x201D;
}

// Strips Markdown decoration that reads badly inside an answer sentence, and the source's own
// footnote markers: a "[7]" copied from a document would read as a citation of ours.
std::string clean_sentence(std::string_view s) {
  while (!s.empty() && (s[0] == '#' || s[0] == '-' || s[0] == '*' || s[0] == '>' || s[0] == ' '))
    s.remove_prefix(1);
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (const size_t m = footnote_marker_length(s, i); m > 0) {
      i += m - 1;
      continue;
    }
    if (s[i] == '`') continue;
    if ((s[i] == '*' || s[i] == '_') && i + 1 < s.size() && s[i + 1] == s[i]) {
      ++i;
      continue;
    }
    out.push_back(s[i] == '\n' || s[i] == '\r' ? ' ' : s[i]);
  }
  return out;
}

// A word of the question and its terms (one for a Latin word, its bigrams for a Korean one).
struct QueryWord {
  std::vector<std::string> terms;
  size_t start = 0, end = 0;  // byte range in the question
  double focus = 1.0;         // > 1 for the word the question asks about
};

// Korean question words, and the English phrases after which the asked-about word follows.
constexpr std::string_view kKoreanQuestionWords[] = {"몇",     "며칠", "얼마", "언제", "누구",
                                                     "누가",   "어디", "무엇", "어느", "무슨",
                                                     "어떻게", "어떤", "왜"};
constexpr std::string_view kEnglishFocusPhrases[] = {"how many ", "how much ", "how long ",
                                                     "how far ", "how old "};
constexpr double kFocusWeight = 2.0;

// The word a question asks about weighs double: in Korean the word just before the question
// word (방문객은 몇 명), in English the first content word after "how many", "how much", ... The
// rest of the question mostly names the subject, which retrieval has already matched; the focus
// word decides between that subject's sentences.
void mark_focus(std::string_view question, std::vector<QueryWord>& words) {
  if (words.empty()) return;
  for (std::string_view qw : kKoreanQuestionWords) {
    for (size_t pos = question.find(qw); pos != std::string_view::npos;
         pos = question.find(qw, pos + 1)) {
      QueryWord* before = nullptr;
      for (auto& w : words)
        if (w.end <= pos) before = &w;
      if (before) before->focus = kFocusWeight;
    }
  }
  std::string lower(question);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (std::string_view phrase : kEnglishFocusPhrases) {
    const size_t pos = lower.find(phrase);
    if (pos == std::string::npos) continue;
    for (auto& w : words) {
      if (w.start >= pos + phrase.size()) {
        w.focus = kFocusWeight;
        break;
      }
    }
  }
}

std::vector<QueryWord> query_words(std::string_view question) {
  std::vector<QueryWord> words;
  std::unordered_set<std::string> seen;
  size_t prev_end = 0;
  bool have_prev = false;
  auto collect = [&](TokenMode mode) {
    tokenize(question, mode, [&](std::string_view token, size_t start, size_t end) {
      std::string t = normalise(std::string(token));
      // Bigrams of one word overlap: 달빛 [0,6) and 빛포 [3,9).
      const bool same_word = have_prev && start < prev_end;
      if (!same_word) {
        words.emplace_back();
        words.back().start = start;
      }
      words.back().end = end;
      if (seen.insert(t).second) words.back().terms.push_back(std::move(t));
      prev_end = end;
      have_prev = true;
    });
  };
  collect(TokenMode::kQuery);
  std::erase_if(words, [](const QueryWord& w) { return w.terms.empty(); });
  if (words.empty()) {  // a question of stop words only: use every word
    seen.clear();
    have_prev = false;
    collect(TokenMode::kDocument);
    std::erase_if(words, [](const QueryWord& w) { return w.terms.empty(); });
  }
  mark_focus(question, words);
  return words;
}

struct Candidate {
  size_t hit = 0;    // index into hits
  size_t order = 0;  // position of the sentence in its passage
  Span span;         // in the hit's text
  std::unordered_set<std::string> terms;
  double score = 0;
};

double overlap(const std::unordered_set<std::string>& a, const std::unordered_set<std::string>& b) {
  if (a.empty() || b.empty()) return 0;
  size_t common = 0;
  for (const auto& t : a) common += b.count(t);
  return static_cast<double>(common) / static_cast<double>(std::min(a.size(), b.size()));
}

// ---- Leads: the short answer of a direct lookup -----------------------------------------------
//
// A question that asks for a name, a date or an amount gets its answer span first ("박서연 [1].",
// "14 October 1873 [1]."), taken from the best supporting sentence. Precision over recall: a span
// is given only when it has the asked type, is not part of the question, and stands out as the
// one nearest the question's words (the asked-about word when there is one).

enum class LookupKind { kNone, kName, kDate, kAmount };

struct Lookup {
  LookupKind kind = LookupKind::kNone;
  std::string counter;  // Korean amounts: the counter after 몇 (명, 개, 일 for 며칠); "" for any
  bool money = false;  // an amount of money is asked for (얼마, 가격, how much, price)
  bool money_only = false;
};

std::string ascii_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool has(std::string_view text, std::string_view what) {
  return text.find(what) != std::string_view::npos;
}

// Counters after 몇, longest first so that 몇 개월 is not read as 몇 개.
constexpr std::string_view kKoreanCounters[] = {
    "개월", "시간", "퍼센트", "가지", "킬로미터", "킬로그램", "미터", "달러", "유로", "위안",
    "만원", "명",   "개",     "일",   "년",       "원",       "번",   "회",   "건",   "곳",
    "대",   "장",   "권",     "배",   "살",       "세",       "달",   "주",   "분",   "초",
    "층",   "종",   "%",      "엔",   "킬로",     "톤",       "쪽",   "병",   "잔",   "채"};

Lookup classify_question(std::string_view question) {
  Lookup l;
  if (contains_hangul(question)) {
    const bool how_many_years = has(question, "몇 년") || has(question, "몇년");
    if (has(question, "언제") || has(question, "날짜") || has(question, "며칠에") ||
        has(question, "몇 월") || has(question, "몇월") || has(question, "몇 시") ||
        has(question, "연도") || has(question, "일자") ||
        (how_many_years && !has(question, "동안") && !has(question, "년간") &&
         !has(question, "년 간"))) {
      if (!has(question, "몇 시간")) {
        l.kind = LookupKind::kDate;
        return l;
      }
    }
    if (has(question, "며칠")) {
      l.kind = LookupKind::kAmount;
      l.counter = "일";
      return l;
    }
    if (const size_t pos = question.find("몇"); pos != std::string_view::npos) {
      l.kind = LookupKind::kAmount;
      std::string_view rest = question.substr(pos + std::string_view("몇").size());
      while (!rest.empty() && rest[0] == ' ') rest.remove_prefix(1);
      for (std::string_view c : kKoreanCounters)
        if (rest.starts_with(c)) {
          l.counter = std::string(c == "만원" ? "원" : c);
          break;
        }
      return l;
    }
    if (has(question, "얼마") || has(question, "가격") || has(question, "금액") ||
        has(question, "비용") || has(question, "요금")) {
      l.kind = LookupKind::kAmount;
      l.money = true;
      l.money_only = !has(question, "얼마");
      return l;
    }
    if (has(question, "누구") || has(question, "누가") || has(question, "대표") ||
        has(question, "이름"))
      l.kind = LookupKind::kName;
    return l;
  }
  const std::string q = " " + ascii_lower(question);
  for (std::string_view cue : {" when ", " what year", " which year", " what date", " what day",
                               " what time", " the date ", " date of "})
    if (has(q, cue)) {
      l.kind = LookupKind::kDate;
      return l;
    }
  for (std::string_view cue :
       {" how many ", " how much ", " how long ", " how far ", " how old ", " how tall ",
        " how big ", " how large ", " how high ", " how heavy ", " number of ", " minimum ",
        " maximum ", " price ", " cost ", " length ", " limit "})
    if (has(q, cue)) {
      l.kind = LookupKind::kAmount;
      l.money = has(q, " how much ") || has(q, " price ") || has(q, " cost ");
      l.money_only = has(q, " price ") || has(q, " cost ");
      return l;
    }
  for (std::string_view cue : {" who ", " who's ", " whom ", " whose ", " name of ", " named "})
    if (has(q, cue)) {
      l.kind = LookupKind::kName;
      return l;
    }
  return l;
}

struct SpanCandidate {
  size_t start = 0, end = 0;  // bytes in the sentence
  bool money = false;
  std::string unit;  // amounts: the counter or unit words, normalised
};

bool is_ascii_alnum(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0;
}

// The code point that ends just before byte `pos` (0 at the start).
char32_t cp_before(std::string_view s, size_t pos) {
  if (pos == 0) return 0;
  size_t len = 0;
  return utf8::decode(s, utf8::floor_boundary(s, pos - 1), len);
}

void add_regex_spans(const std::string& s, const std::regex& re, size_t group,
                     std::vector<SpanCandidate>& out) {
  for (auto it = std::sregex_iterator(s.begin(), s.end(), re); it != std::sregex_iterator(); ++it) {
    const auto& m = *it;
    if (!m[group].matched || m.length(group) == 0) continue;
    const size_t start = static_cast<size_t>(m.position(group));
    if (start > 0 && (is_ascii_alnum(s[start - 1]) || s[start - 1] == '.')) continue;
    out.push_back({start, start + static_cast<size_t>(m.length(group)), false, ""});
  }
}

constexpr const char* kMonths =
    "(?:January|February|March|April|May|June|July|August|September|October|November|December|"
    "Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)\\.?";

std::vector<SpanCandidate> date_spans(const std::string& s) {
  static const std::string months = kMonths;
  static const std::vector<std::pair<std::regex, size_t>> patterns = [] {
    std::vector<std::pair<std::regex, size_t>> v;
    auto add = [&](const std::string& re, size_t group) { v.emplace_back(std::regex(re), group); };
    add("(\\d{1,2}(?:st|nd|rd|th)? (?:of )?" + months + "(?:,? \\d{4})?)\\b", 1);
    add("\\b(" + months + " \\d{1,2}(?:st|nd|rd|th)?(?:, \\d{4})?)\\b", 1);
    add("\\b(" + months + " \\d{4})\\b", 1);
    add("(\\d{4}-\\d{2}-\\d{2})\\b", 1);
    add("\\b(?:[Ii]n|[Ss]ince|[Ff]rom|[Uu]ntil|[Bb]y|[Dd]uring|[Oo]n|[Aa]round) "
        "(1\\d{3}|20\\d{2})\\b",
        1);
    add("\\((1\\d{3}|20\\d{2})\\)", 1);
    add("(\\d{1,2}:\\d{2}(?: ?[ap]\\.?m\\.?)?)", 1);
    // Korean: 2024년 9월 27일(부터 29일까지), 9월 27일, 5월, 2024. 9. 27., 오후 3시 30분.
    add("(\\d{4}년(?: ?\\d{1,2}월)?(?: ?\\d{1,2}일)?(?:(?:부터|~| ~ ) ?(?:\\d{1,2}월 "
        "?)?\\d{1,2}일(?:까지)?)?)",
        1);
    add("(\\d{1,2}월(?: ?\\d{1,2}일)?(?:(?:부터|~| ~ ) ?(?:\\d{1,2}월 ?)?\\d{1,2}일(?:까지)?)?)",
        1);
    add("(\\d{4}\\. ?\\d{1,2}\\. ?\\d{1,2}\\.?)", 1);
    add("((?:오전|오후|새벽|저녁|밤) ?\\d{1,2}시(?!간)(?: ?\\d{1,2}분)?)", 1);
    add("(\\d{1,2}시(?!간)(?: ?\\d{1,2}분)?)", 1);
    return v;
  }();
  std::vector<SpanCandidate> out;
  for (const auto& [re, group] : patterns) add_regex_spans(s, re, group, out);
  return out;
}

constexpr std::string_view kEnglishUnits[] = {
    "mile",      "metre",    "meter",    "kilometre", "kilometer", "km",      "foot",   "feet",
    "inch",      "kg",       "kilogram", "gram",      "tonne",     "ton",     "year",   "month",
    "week",      "day",      "hour",     "minute",    "second",    "percent", "people", "person",
    "visitor",   "employee", "staff",    "character", "request",   "dollar",  "euro",   "pound",
    "won",       "yen",      "byte",     "kb",        "mb",        "gb",      "tb",     "ship",
    "keeper",    "user",     "member",   "point",     "step",      "time",    "page",   "word",
    "item",      "unit",     "storey",   "floor",     "copy",      "mbps",    "gbps",   "ms",
    "parameter", "token",    "core",     "gpu",       "node",      "degree",  "litre",  "liter",
    "acre",      "hectare"};

constexpr std::string_view kEnglishStop[] = {
    "a",    "an",    "the",   "and",    "or",   "of",    "in",    "on",  "at",   "to",   "for",
    "by",   "from",  "with",  "is",     "was",  "are",   "were",  "be",  "been", "it",   "its",
    "as",   "that",  "this",  "than",   "but",  "if",    "so",    "not", "no",   "per",  "into",
    "over", "under", "after", "before", "each", "every", "which", "who", "when", "where"};

bool in_list(std::string_view w, std::initializer_list<std::string_view> list) {
  return std::find(list.begin(), list.end(), w) != list.end();
}

template <size_t N>
bool in_array(std::string_view w, const std::string_view (&list)[N]) {
  return std::find(std::begin(list), std::end(list), w) != std::end(list);
}

// The next ASCII word (letters, digits, hyphens) at or after `pos` past one space, or empty.
std::string_view next_word(std::string_view s, size_t pos, size_t& word_start) {
  if (pos >= s.size() || s[pos] != ' ') return {};
  size_t i = pos + 1;
  word_start = i;
  while (i < s.size() && (std::isalpha(static_cast<unsigned char>(s[i])) || s[i] == '-')) ++i;
  return s.substr(word_start, i - word_start);
}

std::vector<SpanCandidate> amount_spans(const std::string& s,
                                        const std::unordered_set<std::string>& question_words) {
  std::vector<SpanCandidate> out;
  // Korean: digits with 만/천/억/조 (18만 6천 명, 2조 1천억 개) or a native number word (열두 명),
  // then a counter.
  static const std::regex korean = [] {
    std::string counters;
    for (std::string_view c : kKoreanCounters) {
      if (!counters.empty()) counters += '|';
      counters += c == "%" ? "%" : std::string(c);
    }
    const std::string num = "\\d+(?:[.,]\\d+)*";
    const std::string mag = "(?:조|억|만|천|백)";
    const std::string native =
        "(?:열한|열두|열세|열네|스무|스물|서른|마흔|다섯|여섯|일곱|여덟|아홉|한|두|세|네|열)";
    return std::regex("((?:" + num + "(?: ?" + mag + ")*(?: " + num + "(?: ?" + mag + ")+)*|" +
                      native + ") ?(" + counters + "))");
  }();
  for (auto it = std::sregex_iterator(s.begin(), s.end(), korean); it != std::sregex_iterator();
       ++it) {
    const auto& m = *it;
    const size_t start = static_cast<size_t>(m.position(1));
    const size_t end = start + static_cast<size_t>(m.length(1));
    if (start > 0 && (is_ascii_alnum(s[start - 1]) || s[start - 1] == '.')) continue;
    if (utf8::is_hangul(cp_before(s, start))) continue;  // 세계 is no number
    const std::string counter = m[2].str();
    // A Korean counter must not run on into a longer word (개 of 개발); a following particle or
    // verb is glued in Korean, so only Latin letters and digits are refused.
    if (end < s.size() && is_ascii_alnum(s[end]) && counter != "%") continue;
    if (std::isdigit(static_cast<unsigned char>(s[start])) == 0 && m.length(1) > 12) continue;
    const bool money = in_list(counter, {"원", "만원", "달러", "유로", "위안", "엔"});
    out.push_back({start, end, money, counter});
  }
  // English: $4.2 billion, 23 nautical miles, 600 requests per minute, 14 characters, 12%.
  static const std::regex english(
      "((?:\\$|€|£|₩|US\\$) ?)?(\\d+(?:[.,]\\d+)*)((?: ?%| percent| per cent)?)"
      "((?: (?:thousand|million|billion|trillion)\\b)?)");
  for (auto it = std::sregex_iterator(s.begin(), s.end(), english); it != std::sregex_iterator();
       ++it) {
    const auto& m = *it;
    const size_t start = static_cast<size_t>(m.position(0));
    size_t end = start + static_cast<size_t>(m.length(0));
    if (start > 0 && (is_ascii_alnum(s[start - 1]) || s[start - 1] == '.' || s[start - 1] == '-'))
      continue;
    const std::string digits = m[2].str();
    if (std::count(digits.begin(), digits.end(), '.') > 1) continue;  // a version: 3.2.0
    if (end < s.size() && (is_ascii_alnum(s[end]) || static_cast<unsigned char>(s[end]) >= 0x80))
      continue;  // 15일, 3rd, 12GB: Korean and glued units are read above or not at all
    const bool money = m[1].matched && m.length(1) > 0;
    std::string unit = m[3].matched ? m[3].str() : "";
    if (m[4].matched && m.length(4) > 0) unit += m[4].str();
    if (unit.empty() || !money) {
      size_t ws = 0;
      const std::string w1 = ascii_lower(next_word(s, end, ws));
      const bool capital = !w1.empty() && std::isupper(static_cast<unsigned char>(s[ws])) &&
                           !in_array(normalise(w1), kEnglishUnits);
      if (!w1.empty() && !in_array(w1, kEnglishStop) && !capital) {
        const bool w1_unit = in_array(normalise(w1), kEnglishUnits) || question_words.count(w1) ||
                             question_words.count(normalise(w1));
        end = ws + w1.size();
        unit += " " + normalise(w1);
        size_t ws2 = 0;
        const std::string w2 = ascii_lower(next_word(s, end, ws2));
        if (!w1_unit && !w2.empty() && in_array(normalise(w2), kEnglishUnits)) {
          end = ws2 + w2.size();
          unit += " " + normalise(w2);
        }
        // Then the question's own words: 600 requests per minute.
        for (;;) {
          size_t ws3 = 0;
          const std::string w3 = ascii_lower(next_word(s, end, ws3));
          if (w3.empty() || !question_words.count(w3)) break;
          end = ws3 + w3.size();
        }
      } else if (unit.empty()) {
        continue;  // a bare number: an amount needs its unit
      }
    }
    const bool money_word = has(unit, "dollar") || has(unit, "euro") || has(unit, "pound") ||
                            has(unit, " won") || has(unit, " yen");
    out.push_back({start, end, money || money_word, unit});
  }
  return out;
}

constexpr std::string_view kKoreanSurnames[] = {
    "김", "이", "박", "최", "정", "강", "조", "윤", "장", "임", "한", "오", "서", "신", "권",
    "황", "안", "송", "류", "유", "전", "홍", "고", "문", "양", "손", "배", "백", "허", "남",
    "심", "노", "하", "곽", "성", "차", "주", "우", "구", "민", "진", "나", "지", "엄", "채"};
constexpr std::string_view kKoreanTitles[] = {
    "대표", "사장", "회장",   "교수",   "박사",   "씨",     "님",     "원장",   "총장",   "장관",
    "의원", "감독", "작가",   "위원장", "연구원", "팀장",   "소장",   "이사",   "시장",   "군수",
    "선생", "기자", "변호사", "창업자", "설립자", "대통령", "총리",   "단장",   "센터장", "부장",
    "과장", "실장", "본부장", "선수",   "관장",   "회원",   "책임자", "개발자", "저자",   "의장"};
constexpr std::string_view kKoreanParticles[] = {
    "에서는", "에서", "으로", "에게", "까지", "부터", "이라는", "라는", "과의", "와의", "은", "는",
    "이",     "가",   "을",   "를",   "의",   "에",   "와",     "과",   "도",   "로",   "인", "만"};

// A Hangul word without one trailing particle (박서연은 -> 박서연), when the stem keeps two
// syllables.
std::string_view strip_particle(std::string_view w) {
  for (std::string_view p : kKoreanParticles)
    if (w.size() > p.size() && w.ends_with(p) &&
        utf8::length(w.substr(0, w.size() - p.size())) >= 2)
      return w.substr(0, w.size() - p.size());
  return w;
}

bool starts_with_title(std::string_view w) {
  for (std::string_view t : kKoreanTitles)
    if (w.starts_with(t)) return true;
  return false;
}
bool contains_title(std::string_view w) {
  for (std::string_view t : kKoreanTitles)
    if (t.size() > 3 && has(w, t)) return true;  // two syllables or more: 이사 in 이사회
  return false;
}

// The space-separated word containing or starting at byte `pos`.
std::string_view word_around(std::string_view s, size_t start, size_t end) {
  while (start > 0 && s[start - 1] != ' ') --start;
  while (end < s.size() && s[end] != ' ') ++end;
  return s.substr(start, end - start);
}

std::vector<SpanCandidate> name_spans(const std::string& s, std::string_view question) {
  std::vector<SpanCandidate> out;
  const std::string q = ascii_lower(question);
  std::string qspaced = " ";  // the question's words between spaces, lower-cased
  for (char c : q) qspaced += is_ascii_alnum(c) || c == '-' || (c & 0x80) ? c : ' ';
  qspaced += ' ';
  // Korean person names: three syllables after a common surname, next to a title (창업자인
  // 박서연 대표이사는, 대표 박서연은).
  for_each_run(s, [&](const Run& r) {
    if (r.kind != RunKind::kSyllabic || r.glued) return;
    const std::string_view word(s.data() + r.start, r.end - r.start);
    if (r.end < s.size() && s[r.end] != ' ' && s[r.end] != ',') return;
    const std::string_view stem = strip_particle(word);
    if (utf8::length(stem) != 3 || contains_title(stem) || has(question, stem)) return;
    if (!in_array(stem.substr(0, 3), kKoreanSurnames)) return;
    bool titled = r.end + 1 < s.size() && s[r.end] == ' ' &&
                  starts_with_title(word_around(s, r.end + 1, r.end + 1));
    if (stem.size() < word.size()) {
      const std::string_view suffix = word.substr(stem.size());
      if (suffix == "씨" || suffix == "님") titled = true;
    }
    if (r.start >= 2 && s[r.start - 1] == ' ') {
      const std::string_view prev = strip_particle(word_around(s, r.start - 2, r.start - 2));
      for (std::string_view t : kKoreanTitles)
        if (prev.ends_with(t)) titled = true;
    }
    if (titled) out.push_back({r.start, r.start + stem.size(), false, ""});
  });
  // Quoted names: '다온AI랩', "Harbour Trust".
  static const std::regex quoted("(?:'|‘|\"|“|「)([^'’\"”」]{2,40})(?:'|’|\"|”|」)");
  add_regex_spans(s, quoted, 1, out);
  std::erase_if(out, [&](const SpanCandidate& c) {
    const std::string_view text(s.data() + c.start, c.end - c.start);
    for (const auto& t : tokenize(text, TokenMode::kQuery))
      if (has(q, t)) return true;
    return false;
  });
  // English: a run of capitalised words none of which is in the question (Park Seo-yeon, Alan
  // Stevenson), not at the start of the sentence unless two words long or more.
  static const std::regex capitalised(
      "\\b([A-Z][a-z]*(?:[-'][A-Za-z]+)*\\.?(?: (?:(?:de|van|von|da|di|du|le|la|bin) )?[A-Z][a-z]*"
      "(?:[-'][A-Za-z]+)*\\.?)*)");
  static const std::initializer_list<std::string_view> kNotNames = {
      "the",      "a",        "an",        "in",       "on",     "it",       "its",    "this",
      "that",     "these",    "those",     "he",       "she",    "they",     "we",     "our",
      "after",    "before",   "when",      "while",    "since",  "during",   "for",    "at",
      "by",       "from",     "with",      "and",      "but",    "if",       "each",   "every",
      "monday",   "tuesday",  "wednesday", "thursday", "friday", "saturday", "sunday", "january",
      "february", "march",    "april",     "may",      "june",   "july",     "august", "september",
      "october",  "november", "december",  "today",    "there",  "i",        "you",    "his",
      "her",      "their",    "one",       "two",      "some",   "all",      "most",   "many"};
  for (auto it = std::sregex_iterator(s.begin(), s.end(), capitalised);
       it != std::sregex_iterator(); ++it) {
    size_t start = static_cast<size_t>(it->position(1));
    size_t end = start + static_cast<size_t>(it->length(1));
    // Cut at words that are no names or that the question contains.
    std::vector<std::pair<size_t, size_t>> pieces;
    size_t piece_start = std::string::npos, i = start;
    while (i < end) {
      size_t j = s.find(' ', i);
      if (j == std::string::npos || j > end) j = end;
      std::string w = ascii_lower(std::string_view(s).substr(i, j - i));
      while (!w.empty() && w.back() == '.') w.pop_back();
      const bool bad = w.empty() || in_list(w, kNotNames) || has(qspaced, " " + w + " ") ||
                       has(qspaced, " " + normalise(w) + " ") ||
                       (std::islower(static_cast<unsigned char>(s[i])) != 0);
      const bool connector = std::islower(static_cast<unsigned char>(s[i])) != 0;
      if (bad && !(connector && piece_start != std::string::npos)) {
        if (piece_start != std::string::npos) pieces.emplace_back(piece_start, i - 1);
        piece_start = std::string::npos;
      } else if (piece_start == std::string::npos && !connector) {
        piece_start = i;
      }
      i = j + 1;
    }
    if (piece_start != std::string::npos) pieces.emplace_back(piece_start, end);
    for (auto [a, b] : pieces) {
      while (b > a && (s[b - 1] == '.' || s[b - 1] == ' ')) --b;
      const std::string_view text(s.data() + a, b - a);
      const bool sentence_start = s.find_first_not_of(" \"'(") == a;
      if (sentence_start && !has(text, " ") && !has(text, "-")) continue;
      if (b - a < 2) continue;
      out.push_back({a, b, false, ""});
    }
  }
  return out;
}

// Byte offsets at which the sentence's space-separated words start.
std::vector<size_t> word_starts(std::string_view s) {
  std::vector<size_t> starts;
  for (size_t i = 0; i < s.size(); ++i)
    if (s[i] != ' ' && (i == 0 || s[i - 1] == ' ')) starts.push_back(i);
  return starts;
}

size_t word_index(const std::vector<size_t>& starts, size_t byte) {
  const auto it = std::upper_bound(starts.begin(), starts.end(), byte);
  return it == starts.begin() ? 0 : static_cast<size_t>(it - starts.begin() - 1);
}

constexpr size_t kMaxLeadGap = 4;      // words between a span and the question's words
constexpr size_t kMaxLoneLeadGap = 6;  // the same when the span is the only one of its type
constexpr size_t kMaxNameGap = 3;      // names must sit right by the question's words
constexpr size_t kMaxLeadChars = 40;

std::string find_lookup_span(std::string_view question, std::string_view sentence_view,
                             const std::vector<QueryWord>& words) {
  const Lookup lookup = classify_question(question);
  if (lookup.kind == LookupKind::kNone) return "";
  const std::string s(sentence_view);
  std::unordered_set<std::string> qwords;  // the question's words, lower-cased, and normalised
  {
    std::string w;
    for (char c : ascii_lower(question) + " ") {
      if (is_ascii_alnum(c) || c == '-') {
        w += c;
      } else if (!w.empty()) {
        qwords.insert(w);
        qwords.insert(normalise(w));
        w.clear();
      }
    }
  }
  std::vector<SpanCandidate> cands;
  switch (lookup.kind) {
    case LookupKind::kDate:
      cands = date_spans(s);
      break;
    case LookupKind::kAmount:
      cands = amount_spans(s, qwords);
      break;
    case LookupKind::kName:
      cands = name_spans(s, question);
      break;
    case LookupKind::kNone:
      break;
  }
  // Spans inside longer ones go (9월 27일 within 2024년 9월 27일); so do spans the question
  // already says.
  std::erase_if(cands, [&](const SpanCandidate& c) {
    if (has(question, std::string_view(s).substr(c.start, c.end - c.start))) return true;
    return std::any_of(cands.begin(), cands.end(), [&](const SpanCandidate& o) {
      return &o != &c && o.start <= c.start && o.end >= c.end &&
             (o.end - o.start) > (c.end - c.start);
    });
  });
  if (lookup.kind == LookupKind::kAmount) {
    if (!lookup.counter.empty())
      std::erase_if(cands, [&](const SpanCandidate& c) { return c.unit != lookup.counter; });
    if (lookup.money) {
      const bool any_money =
          std::any_of(cands.begin(), cands.end(), [](const SpanCandidate& c) { return c.money; });
      if (any_money || lookup.money_only)
        std::erase_if(cands, [](const SpanCandidate& c) { return !c.money; });
    }
  }
  // Where the question's words are; the asked-about word alone when the sentence has it.
  const std::vector<size_t> starts = word_starts(s);
  std::vector<size_t> focus_at, any_at;
  std::unordered_set<std::string> focus_terms, all_terms;
  for (const QueryWord& w : words)
    for (const auto& t : w.terms) {
      all_terms.insert(t);
      if (w.focus > 1.0) focus_terms.insert(t);
    }
  tokenize(s, TokenMode::kDocument, [&](std::string_view tok, size_t b, size_t) {
    const std::string t = normalise(std::string(tok));
    if (focus_terms.count(t)) focus_at.push_back(word_index(starts, b));
    if (all_terms.count(t)) any_at.push_back(word_index(starts, b));
  });
  const std::vector<size_t>& anchors = focus_at.empty() ? any_at : focus_at;
  if (anchors.empty() || cands.empty()) return "";
  // English "how many requests": a span whose unit is the asked-about word wins outright.
  if (lookup.kind == LookupKind::kAmount && lookup.counter.empty() && !focus_terms.empty()) {
    std::vector<SpanCandidate> named;
    for (const auto& c : cands)
      for (const auto& t : focus_terms)
        if (has(c.unit, " " + t)) {
          named.push_back(c);
          break;
        }
    if (!named.empty()) cands = std::move(named);
  }
  auto distance = [&](const SpanCandidate& c) {
    const size_t w0 = word_index(starts, c.start), w1 = word_index(starts, c.end - 1);
    size_t best = std::string::npos;
    for (size_t a : anchors)  // inside the span: its unit is the asked word (600 requests)
      best = std::min(best, a < w0 ? w0 - a : a > w1 ? a - w1 : 0);
    return best;
  };
  const SpanCandidate* best = nullptr;
  size_t best_d = std::string::npos, second_d = std::string::npos;
  std::string best_text;
  for (const auto& c : cands) {
    const std::string text = s.substr(c.start, c.end - c.start);
    const size_t d = distance(c);
    if (best && text == best_text) continue;  // the same span twice is one span
    if (d < best_d) {
      second_d = best_d;
      best_d = d;
      best = &c;
      best_text = text;
    } else {
      second_d = std::min(second_d, d);
    }
  }
  if (!best || best_d == std::string::npos) return "";
  const bool alone = second_d == std::string::npos;
  const size_t limit = lookup.kind == LookupKind::kName ? kMaxNameGap
                       : alone                          ? kMaxLoneLeadGap
                                                        : kMaxLeadGap;
  if (best_d > limit || (!alone && second_d <= best_d)) return "";
  size_t start = best->start;
  // Korean: the asked-about noun right before the amount reads as part of it (연차 15일).
  if (lookup.kind == LookupKind::kAmount && contains_hangul(question) && start >= 2 &&
      s[start - 1] == ' ') {
    const std::string_view prev = word_around(s, start - 2, start - 2);
    for (const QueryWord& w : words)
      if (w.focus > 1.0 && !prev.empty() &&
          (question.substr(w.start, w.end - w.start) == prev ||
           strip_particle(question.substr(w.start, w.end - w.start)) == prev))
        start -= prev.size() + 1;
  }
  std::string span = s.substr(start, best->end - start);
  if (utf8::length(span) > kMaxLeadChars) return "";
  return span;
}

// ---- Related questions without a model ---------------------------------------------------------
//
// Topics come from the passages in order: their section headings (and Markdown headings inside
// their text), then salient words (frequent in the passages, absent from the question). Each
// becomes a question through a fixed template in the question's language; a heading that is
// already a question is kept as one. Topics the question already covers are skipped.

constexpr size_t kMaxTopicChars = 40;

std::string trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '#'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == ':'))
    s.remove_suffix(1);
  return std::string(s);
}

// "## 2. Devices" -> "Devices"; "(플랫폼팀)" and similar asides go.
std::string clean_heading(std::string_view h) {
  std::string s = trim(h);
  size_t i = 0;
  while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.')) ++i;
  if (i > 0 && i < s.size() && s[i] == ' ') s = s.substr(i + 1);
  if (const size_t open = s.find(" ("); open != std::string::npos && s.back() == ')')
    s.resize(open);
  return trim(s);
}

// Compared ignoring case, spaces and punctuation.
std::string comparable(std::string_view s) {
  std::string out;
  for (char c : s)
    if (is_ascii_alnum(c) || (static_cast<unsigned char>(c) & 0x80))
      out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool has_batchim(std::string_view word) {
  if (word.empty()) return false;
  size_t len = 0;
  const char32_t cp = utf8::decode(word, utf8::floor_boundary(word, word.size() - 1), len);
  if (cp >= 0xAC00 && cp <= 0xD7A3) return (cp - 0xAC00) % 28 != 0;
  // A Latin word or digit: read as Korean speakers would, roughly (GPU는, CUDA는, API는).
  return false;
}

// The thing a Korean question asks about: the words up to the first one ending in 의
// (제12회 달빛포구 축제의 방문객은 -> 제12회 달빛포구 축제), or "" when there is none.
std::string korean_subject(std::string_view question) {
  size_t start = 0;
  for (size_t i = 0; i <= question.size(); ++i) {
    if (i < question.size() && question[i] != ' ') continue;
    const std::string_view w = question.substr(start, i - start);
    if (w.ends_with("의") && w.size() > std::string_view("의").size())
      return std::string(question.substr(0, i - std::string_view("의").size()));
    start = i + 1;
  }
  return "";
}

// The first run of capitalised words after the question word (When was the Greywick Point
// lighthouse lit -> Greywick Point), or "".
std::string english_subject(std::string_view question) {
  std::string best, cur;
  size_t i = 0;
  bool first = true;
  while (i < question.size()) {
    size_t j = i;
    while (j < question.size() && question[j] != ' ') ++j;
    std::string w(question.substr(i, j - i));
    while (!w.empty() && !is_ascii_alnum(w.back())) w.pop_back();
    const bool cap = !w.empty() && std::isupper(static_cast<unsigned char>(w[0])) && !first;
    if (cap) {
      cur += (cur.empty() ? "" : " ") + w;
    } else if (!cur.empty()) {
      break;
    }
    first = false;
    i = j + 1;
  }
  best = cur;
  return best;
}

std::string korean_question(std::string_view topic, const std::string& subject, bool heading) {
  const std::string t(topic);
  // A heading that is a question without its polite ending: 학습은 어떻게 이루어지나.
  for (std::string_view end : {"나", "까", "인가", "는가"})
    if (heading && t.ends_with(end) && utf8::length(t) > 4 && has(t, " ")) return t + "요?";
  const std::string prefix = subject.empty() || has(t, subject) ? "" : subject + "의 ";
  if (heading) return prefix + t + "에 대해 더 알려 주시겠어요?";
  return prefix + t + (has_batchim(t) ? "은" : "는") + " 어떻게 되나요?";
}

std::string english_question(std::string_view topic, const std::string& source, bool heading) {
  std::string t(topic);
  if (heading && t.ends_with("?")) return t;
  // "Building the tower" reads as "building the tower" inside a sentence; names stay.
  const size_t sp = t.find(' ');
  const std::string first = t.substr(0, sp);
  if (t.size() > 1 && std::isupper(static_cast<unsigned char>(t[0])) &&
      std::islower(static_cast<unsigned char>(t[1])) && !has(source, first))
    t[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(t[0])));
  if (source.empty()) return "What else do the sources say about " + t + "?";
  return "What does " + source + " say about " + t + "?";
}

// The short name of a document for an English question: its title before a colon, without a
// leading article, when short enough.
std::string short_title(std::string_view title) {
  std::string t = clean_heading(title.substr(0, title.find(':')));
  if (utf8::length(t) > kMaxTopicChars || contains_hangul(t)) return "";
  return t;
}

struct Topic {
  std::string text;
  bool heading = false;
  size_t passage = 0;
};

// Words of the passages that recur and that the question does not contain, most frequent first.
std::vector<Topic> salient_words(std::string_view question, const std::vector<Passage>& passages,
                                 bool korean) {
  const std::unordered_set<std::string> qterms = term_set(question, TokenMode::kDocument);
  std::map<std::string, std::pair<size_t, size_t>> seen;  // word -> (count, first position)
  std::vector<std::pair<std::string, size_t>> order;      // word, passage
  size_t pos = 0;
  for (size_t p = 0; p < passages.size(); ++p) {
    const std::string& text = passages[p].text;
    for_each_run(text, [&](const Run& r) {
      std::string_view w(text.data() + r.start, r.end - r.start);
      if (korean != (r.kind == RunKind::kSyllabic)) return;
      if (r.glued || (r.end < text.size() && static_cast<unsigned char>(text[r.end]) >= 0x80 &&
                      r.kind == RunKind::kWord))
        return;
      std::string word;
      if (korean) {
        // Verbs and adjectives end in these; only nouns make topics.
        for (std::string_view end : {"다", "고", "며", "면", "서", "게",   "지", "한", "된", "던",
                                     "할", "될", "했", "은", "는", "니다", "요", "여", "어", "아"})
          if (w.ends_with(end) && strip_particle(w) == w) return;
        word = std::string(strip_particle(w));
        const size_t chars = utf8::length(word);
        if (chars < 2 || chars > 8) return;
      } else {
        if (r.chars < 5 || std::isdigit(static_cast<unsigned char>(w[0]))) return;
        word = ascii_lower(w);
        if (in_array(word, kEnglishStop)) return;
        word = normalise(word);
      }
      bool covered = true;
      for (const auto& t : term_set(word, TokenMode::kDocument))
        covered = covered && qterms.count(t);
      if (covered) return;
      auto [it, fresh] = seen.emplace(word, std::make_pair(size_t{0}, pos++));
      ++it->second.first;
      if (fresh) order.emplace_back(word, p);
    });
  }
  std::vector<Topic> out;
  for (const auto& [w, p] : order)
    if (seen[w].first >= 2) out.push_back({w, false, p});
  std::stable_sort(out.begin(), out.end(), [&](const Topic& a, const Topic& b) {
    return seen[a.text].first > seen[b.text].first;
  });
  return out;
}
}  // namespace

std::string no_answer_text(std::string_view question) {
  return contains_hangul(question)
             ? "찾은 자료에서 이 질문에 답할 내용을 찾지 못했습니다."
             : "I could not find an answer to this question in the sources I searched.";
}

ExtractiveAnswer extract_answer(std::string_view question, const std::vector<Passage>& hits,
                                const ExtractiveOptions& options) {
  ExtractiveAnswer answer;
  const std::vector<QueryWord> words = query_words(question);
  if (words.empty() || hits.empty()) return answer;

  std::vector<Candidate> cands;
  for (size_t h = 0; h < hits.size(); ++h) {
    const std::string& text = hits[h].text;
    size_t order = 0;
    for (const Span& s : split_sentences(text)) {
      const std::string_view sv(text.data() + s.start, s.end - s.start);
      const size_t chars = utf8::length(sv);
      if (sv.starts_with("#") || chars < kMinSentenceChars) continue;
      // A short line with no sentence punctuation is a title or a label, not an answer.
      if (chars < kMinFragmentChars && !ends_sentence(sv)) continue;
      Candidate c{h, order++, s, term_set(sv, TokenMode::kDocument), 0};
      cands.push_back(std::move(c));
    }
  }
  if (cands.empty()) return answer;

  // Each question word weighs by its IDF over the candidate sentences (rare words decide, common
  // ones don't) and counts by the share of its bigrams a sentence contains, so that a long name
  // cut into many bigrams weighs as one word.
  std::unordered_map<std::string, double> idf;
  std::unordered_set<std::string> present;  // terms found in at least one candidate
  for (const QueryWord& w : words) {
    for (const auto& t : w.terms) {
      if (idf.count(t)) continue;
      size_t df = 0;
      for (const auto& c : cands) df += c.terms.count(t);
      if (df > 0) present.insert(t);
      idf[t] = std::log(1.0 + static_cast<double>(cands.size()) / (1.0 + static_cast<double>(df)));
    }
  }
  std::vector<double> word_weight;
  double present_weight = 0;
  size_t present_words = 0;
  std::vector<bool> word_present;
  for (const QueryWord& w : words) {
    double sum = 0;
    bool any = false;
    for (const auto& t : w.terms) {
      sum += idf[t];
      any = any || present.count(t) > 0;
    }
    word_present.push_back(any);
    // A lone Hangul syllable (번, 돈, 명) is as often a bound noun or a verb stem as a content
    // word.
    const bool lone_syllable =
        w.terms.size() == 1 && utf8::length(w.terms[0]) == 1 && contains_hangul(w.terms[0]);
    word_weight.push_back(sum / static_cast<double>(w.terms.size()) *
                          (lone_syllable ? kLoneSyllableWeight : 1.0));
    if (any) {
      present_weight += word_weight.back();
      ++present_words;
    }
  }
  // A word no candidate contains (a synonym the sources don't use, a filler) cannot tell
  // sentences apart; it still dilutes the coverage, but only as a fraction of a present word.
  if (present_words == 0) return answer;
  for (size_t i = 0; i < words.size(); ++i)
    if (!word_present[i])
      word_weight[i] = kMissingWordWeight * present_weight / static_cast<double>(present_words);
  // Question words found in a passage's title already chose the document; inside it they say
  // little about which sentence answers, so they count for less there.
  std::vector<std::unordered_set<std::string>> title_terms;
  for (const auto& h : hits) title_terms.push_back(term_set(h.title, TokenMode::kDocument));
  for (auto& c : cands) {
    double matched = 0, possible = 0;
    for (size_t i = 0; i < words.size(); ++i) {
      size_t hit = 0, in_title = 0;
      for (const auto& t : words[i].terms) {
        hit += c.terms.count(t);
        in_title += title_terms[c.hit].count(t);
      }
      const double share = 1.0 / static_cast<double>(words[i].terms.size());
      // (Not the asked-about word: 방문객 in a title "… 최다 방문객 기록" still decides.)
      const bool title_word = in_title * 2 > words[i].terms.size() && words[i].focus <= 1.0;
      const double w = word_weight[i] * (title_word ? kTitleWordWeight : 1.0);
      // The focus word adds to a sentence that has it and takes nothing from one that lacks it.
      matched += w * words[i].focus * static_cast<double>(hit) * share;
      possible += w;
    }
    c.score = possible > 0 ? matched / possible : 0;
    c.score *= 1.0 - kRankDecay * static_cast<double>(std::min<size_t>(c.hit, 10));
    const size_t chars = utf8::length(
        std::string_view(hits[c.hit].text).substr(c.span.start, c.span.end - c.span.start));
    if (chars > kLongSentenceChars) c.score *= 0.85;
  }
  std::stable_sort(cands.begin(), cands.end(),
                   [](const Candidate& a, const Candidate& b) { return a.score > b.score; });
  if (cands[0].score < options.min_coverage) return answer;

  std::vector<const Candidate*> chosen;
  size_t chars = 0;
  for (const auto& c : cands) {
    if (chosen.size() == options.max_sentences) break;
    if (!chosen.empty() &&
        (c.score < options.keep_ratio * cands[0].score || c.score < options.min_coverage))
      break;
    const bool redundant = std::any_of(chosen.begin(), chosen.end(), [&](const Candidate* o) {
      return overlap(o->terms, c.terms) > kMaxRedundancy;
    });
    if (redundant) continue;
    const size_t len = utf8::length(
        std::string_view(hits[c.hit].text).substr(c.span.start, c.span.end - c.span.start));
    if (!chosen.empty() && chars + len > options.max_chars) continue;
    chars += len;
    chosen.push_back(&c);
  }

  const Candidate* lead_from = nullptr;
  {
    std::vector<std::string> focus;
    for (const QueryWord& w : words)
      if (w.focus > 1.0) focus.insert(focus.end(), w.terms.begin(), w.terms.end());
    for (const Candidate* c : chosen) {
      if (focus.empty() || std::any_of(focus.begin(), focus.end(),
                                       [&](const auto& t) { return c->terms.count(t); })) {
        lead_from = c;
        break;
      }
    }
  }

  // Order: the best sentence first, then the others by source rank (the rank of their
  // document's best passage), passage and position, so that one source's sentences read in
  // their own order and citation numbers rise through the answer.
  std::vector<std::string> source_key(hits.size());
  std::vector<size_t> source_rank(hits.size());
  {
    std::unordered_map<std::string, size_t> first_hit;
    for (size_t h = 0; h < hits.size(); ++h) {
      source_key[h] = hits[h].kind == SourceKind::kWeb ? std::string(1, 'w').append(hits[h].source)
                                                       : "d" + std::to_string(hits[h].doc_id);
      source_rank[h] = first_hit.emplace(source_key[h], h).first->second;
    }
  }
  if (chosen.size() > 2)
    std::stable_sort(chosen.begin() + 1, chosen.end(), [&](const Candidate* a, const Candidate* b) {
      return std::tie(source_rank[a->hit], a->hit, a->order) <
             std::tie(source_rank[b->hit], b->hit, b->order);
    });

  // One citation per document or web page: two passages of one are one source to a reader.
  std::unordered_map<std::string, int> number_of_source;
  for (const Candidate* c : chosen) {
    const Passage& hit = hits[c->hit];
    auto [it, inserted] =
        number_of_source.emplace(source_key[c->hit], static_cast<int>(answer.citations.size()) + 1);
    if (inserted)
      answer.citations.push_back(citation_of(hit, it->second, snippet_at(hit.text, c->span.start)));
    const std::string sentence = clean_sentence(
        std::string_view(hit.text).substr(c->span.start, c->span.end - c->span.start));
    // The marker goes before the sentence's closing punctuation: "… 출신입니다 [1]."
    const std::string mark = "[" + std::to_string(it->second) + "]";
    size_t end = sentence.size();
    for (std::string_view stop : {".", "!", "?", "。", "？", "！"})
      if (std::string_view(sentence).ends_with(stop)) {
        end = sentence.size() - stop.size();
        break;
      }
    answer.parts.push_back(sentence.substr(0, end) + " " + mark + sentence.substr(end));
  }
  // The lead comes from the best chosen sentence that has the asked-about word (방문객 of 방문객은
  // 몇 명), or the best one when the question has none; only that sentence is tried.
  if (options.lead && lead_from) {
    answer.lead =
        find_lookup_span(question,
                         clean_sentence(std::string_view(hits[lead_from->hit].text)
                                            .substr(lead_from->span.start,
                                                    lead_from->span.end - lead_from->span.start)),
                         words);
    if (!answer.lead.empty())
      answer.parts.insert(
          answer.parts.begin(),
          answer.lead + " [" + std::to_string(number_of_source[source_key[lead_from->hit]]) + "].");
  }
  return answer;
}

std::string lookup_span(std::string_view question, std::string_view sentence) {
  return find_lookup_span(question, clean_sentence(sentence), query_words(question));
}

namespace {

// At least two letters (Hangul, Han, Kana or a word script's), digits not counted.
bool has_letters(std::string_view t) {
  size_t letters = 0;
  for (size_t i = 0; i < t.size() && letters < 2;) {
    size_t len = 0;
    const char32_t cp = utf8::decode(t, i, len);
    letters += (utf8::is_hangul(cp) || utf8::is_han_or_kana(cp) || utf8::is_word_char(cp)) &&
               !(cp >= '0' && cp <= '9');
    i += len == 0 ? 1 : len;
  }
  return letters >= 2;
}

}  // namespace

std::vector<std::string> derived_related_questions(std::string_view question,
                                                   const std::vector<Passage>& passages, size_t n) {
  std::vector<std::string> out;
  if (passages.empty() || n == 0) return out;
  const bool korean = contains_hangul(question);
  const std::string subject = korean ? korean_subject(question) : english_subject(question);
  const std::unordered_set<std::string> qterms = term_set(question, TokenMode::kDocument);

  std::vector<Topic> topics;
  for (size_t p = 0; p < passages.size(); ++p) {
    topics.push_back({clean_heading(passages[p].section), true, p});
    std::string_view text = passages[p].text;
    for (size_t i = 0; i < text.size();) {
      size_t j = text.find('\n', i);
      if (j == std::string_view::npos) j = text.size();
      if (text[i] == '#') topics.push_back({clean_heading(text.substr(i, j - i)), true, p});
      i = j + 1;
    }
  }
  for (Topic& t : salient_words(question, passages, korean)) topics.push_back(std::move(t));

  std::unordered_set<std::string> used = {comparable(question)};
  std::unordered_set<std::string> used_topics;
  for (const Topic& topic : topics) {
    if (out.size() == n) break;
    const std::string& t = topic.text;
    if (t.empty() || utf8::length(t) > kMaxTopicChars || !utf8::is_valid(t)) continue;
    if (korean ? !contains_hangul(t) && std::count(t.begin(), t.end(), ' ') > 2
               : contains_hangul(t))
      continue;
    // A topic the question already covers would ask the same again.
    bool covered = true;
    for (const auto& term : term_set(t, TokenMode::kQuery)) covered = covered && qterms.count(term);
    if (covered || !used_topics.insert(comparable(t)).second) continue;
    std::string source = short_title(passages[topic.passage].title);
    if (source.empty() || has(comparable(source), comparable(t))) source = subject;
    // The question's subject owns the topics of the first source's document; another
    // document's topic is asked about under that document's own title, or not at all.
    const Passage& first = passages.front();
    const Passage& from = passages[topic.passage];
    const bool same_document =
        from.kind == first.kind && from.doc_id == first.doc_id && from.source == first.source;
    if (!same_document && source == subject && !topic.heading) continue;
    if (!has_letters(t)) continue;  // "5." is a numbering, not a topic
    const std::string about = same_document ? subject : source == subject ? "" : source;
    std::string q = korean ? korean_question(t, about, topic.heading)
                           : english_question(t, source, topic.heading);
    if (!used.insert(comparable(q)).second) continue;
    out.push_back(std::move(q));
  }
  return out;
}

std::deque<AnswerEvent> extractive_events(std::string_view question,
                                          const std::vector<Passage>& passages, AskResponse base) {
  ExtractiveAnswer extracted = extract_answer(question, passages);
  AskResponse response = std::move(base);
  response.model = "extractive";
  response.citations = extracted.citations;
  std::deque<AnswerEvent> events;
  events.emplace_back(SourcesEvent{response.citations});
  if (extracted.parts.empty()) extracted.parts.push_back(no_answer_text(question));
  // As with a model's answer, each source is announced (event: citation) just before the first
  // delta that cites it.
  std::vector<bool> announced(response.citations.size(), false);
  for (size_t i = 0; i < extracted.parts.size(); ++i) {
    std::string piece = (i == 0 ? "" : " ") + extracted.parts[i];
    for (size_t at = piece.find('['); at != std::string::npos; at = piece.find('[', at + 1)) {
      size_t n = 0, j = at + 1;
      while (j < piece.size() && piece[j] >= '0' && piece[j] <= '9' && n < 1000)
        n = n * 10 + static_cast<size_t>(piece[j++] - '0');
      if (j == at + 1 || j >= piece.size() || piece[j] != ']' || n == 0 || n > announced.size() ||
          announced[n - 1])
        continue;
      announced[n - 1] = true;
      events.emplace_back(CitationEvent{response.citations[n - 1]});
    }
    response.answer += piece;
    events.emplace_back(DeltaEvent{std::move(piece)});
  }
  // Related questions come from the cited sources first, then the other passages.
  std::vector<Passage> ordered;
  std::vector<bool> taken(passages.size(), false);
  for (const Citation& c : response.citations)
    for (size_t i = 0; i < passages.size(); ++i)
      if (!taken[i] && passages[i].kind == c.kind && passages[i].doc_id == c.doc_id &&
          passages[i].source == c.source) {
        taken[i] = true;
        ordered.push_back(passages[i]);
      }
  // Other passages only when nothing was cited: an uncited document's topics would be
  // questions about something the answer never touched.
  if (ordered.empty()) ordered = passages;
  response.related_questions = derived_related_questions(question, ordered);
  events.emplace_back(RelatedEvent{response.related_questions});
  events.emplace_back(DoneEvent{std::move(response)});
  return events;
}

}  // namespace chaja
