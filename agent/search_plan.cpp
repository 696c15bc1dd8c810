#include "agent/search_plan.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <nlohmann/json.hpp>
#include <unordered_map>

#include "index/tokenizer.h"
#include "index/utf8.h"
#include "prompts/prompts.h"

namespace chaja {
namespace {

using json = nlohmann::json;

constexpr size_t kMaxOutputBytes = 64 * 1024;  // a longer "plan" is not a plan
constexpr size_t kBridgePassages = 6;          // passages shown to the bridge model
constexpr size_t kBridgePassageBytes = 700;    // of each
constexpr size_t kMinContentWords = 2;         // on each side of a split
constexpr double kLanguageShare = 0.2;         // of the letters, for a language to count

constexpr std::array<std::string_view, 21> kClauseWords = {
    "who", "what", "when", "where", "why", "how", "which", "whose", "whom", "is",  "are",
    "was", "were", "do",   "does",  "did", "can", "could", "will",  "has",  "have"};
constexpr std::array<std::string_view, 11> kKoreanQuestionWords = {
    "누구", "무엇", "뭐", "언제", "어디", "얼마", "몇", "어느", "어떤", "어떻게", "왜"};
// Past-tense syllables before a clause-joining 고 (설립되었고, 출시했고, 됐고).
constexpr std::array<std::string_view, 7> kPastSyllables = {"었", "았", "였", "했",
                                                            "됐", "웠", "겠"};
constexpr std::array<std::string_view, 5> kSubjectParticles = {"의", "은", "는", "이", "가"};
constexpr std::array<std::string_view, 8> kParticles = {"의", "은", "는", "이",
                                                        "가", "을", "를", "에"};
constexpr std::array<std::string_view, 6> kNoneWords = {"none", "없음",     "n/a",
                                                        "no",   "없습니다", "null"};

template <size_t N>
bool one_of(std::string_view w, const std::array<std::string_view, N>& list) {
  return std::find(list.begin(), list.end(), w) != list.end();
}

std::string lower_ascii(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

bool is_blank(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_blank(s.back())) s.remove_suffix(1);
  return s;
}

// Comparison key of a query: ASCII lower-cased, runs of blanks as one space, no trailing
// question mark or full stop.
std::string query_key(std::string_view s) {
  std::string out;
  bool space = false;
  for (char c : trim(s)) {
    if (is_blank(c)) {
      space = true;
      continue;
    }
    if (space && !out.empty()) out += ' ';
    space = false;
    out += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  }
  while (!out.empty() && (out.back() == '?' || out.back() == '.' || out.back() == '!'))
    out.pop_back();
  if (out.ends_with("？")) out.resize(out.size() - 3);
  return out;
}

// A query as one trimmed line of valid UTF-8, kMaxPlannedQueryChars code points at most; "" when
// it is none.
std::string clean_query(std::string_view s) {
  if (!utf8::is_valid(s)) return "";
  std::string out;
  for (char c : trim(s)) {
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return "";
    out += c;
  }
  if (out.find("\xEF\xBF\xBD") != std::string::npos) return "";  // U+FFFD: repaired bytes
  const size_t chars = utf8::length(out);
  if (chars == 0 || chars > kMaxPlannedQueryChars) return "";
  return out;
}

std::string language_name(std::string_view code) {
  if (code == "ko") return "Korean";
  if (code == "en") return "English";
  return std::string(code);
}

std::string names_of(const std::vector<std::string>& codes) {
  std::string out;
  for (const std::string& c : codes) {
    if (!out.empty()) out += " and ";
    out += language_name(c);
  }
  return out;
}

// ---- rule plans ----

struct Word {
  std::string_view text;
  size_t start = 0, end = 0;  // byte range in the query
};

std::vector<Word> words_of(std::string_view s) {
  std::vector<Word> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && is_blank(s[i])) ++i;
    size_t j = i;
    while (j < s.size() && !is_blank(s[j])) ++j;
    if (j > i) out.push_back({s.substr(i, j - i), i, j});
    i = j;
  }
  return out;
}

std::string join(const std::vector<std::string_view>& parts) {
  std::string out;
  for (std::string_view p : parts) {
    if (!out.empty()) out += ' ';
    out += p;
  }
  return out;
}

// Words that carry content: a query-mode term (stop words and particles gone) of two code
// points or more. Korean words count once, not per bigram; "R&D" counts for nothing.
size_t content_words(std::string_view text) {
  size_t n = 0;
  for (const Word& w : words_of(text)) {
    bool content = false;
    tokenize(w.text, TokenMode::kQuery, [&](std::string_view term, size_t, size_t) {
      if (utf8::length(term) >= 2) content = true;
    });
    n += content ? 1 : 0;
  }
  return n;
}

std::string_view trim_part(std::string_view s) {
  s = trim(s);
  while (!s.empty() && (s.back() == ',' || s.back() == ';' || s.back() == ' ')) s.remove_suffix(1);
  while (!s.empty() && (s.front() == ',' || s.front() == ' ')) s.remove_prefix(1);
  return s;
}

bool starts_clause(std::string_view part) {
  const auto words = words_of(part);
  return !words.empty() && one_of(lower_ascii(words.front().text), kClauseWords);
}

// The stem of a word without the particle `p`, when it ends so and the stem keeps two
// syllables or more.
std::optional<std::string_view> stem_before(std::string_view w, std::string_view p) {
  if (w.size() <= p.size() || !w.ends_with(p)) return std::nullopt;
  const std::string_view stem = w.substr(0, w.size() - p.size());
  if (utf8::length(stem) < 2) return std::nullopt;
  return stem;
}

template <size_t N>
std::string_view particle_of(std::string_view w, const std::array<std::string_view, N>& list) {
  for (std::string_view p : list)
    if (stem_before(w, p)) return p;
  return {};
}

bool has_question_word(const std::vector<std::string_view>& words) {
  for (std::string_view w : words)
    for (std::string_view q : kKoreanQuestionWords)
      if (w.starts_with(q)) return true;
  return false;
}

// Separators: " and " before a question word, "; ", 그리고, 및. Greedy left to right: a cut
// is taken when the part so far and the next part both have content words of their own.
std::vector<std::string> split_at_separators(std::string_view q) {
  struct Cut {
    size_t at, len;
    bool needs_clause;
  };
  std::vector<Cut> cuts;
  const std::string lower = lower_ascii(q);
  const std::array<std::pair<std::string_view, bool>, 4> seps = {
      {{" and ", true}, {"; ", false}, {" 그리고 ", false}, {" 및 ", false}}};
  for (const auto& [sep, clause] : seps)
    for (size_t at = lower.find(sep); at != std::string::npos; at = lower.find(sep, at + 1))
      cuts.push_back({at, sep.size(), clause});
  std::sort(cuts.begin(), cuts.end(), [](const Cut& a, const Cut& b) { return a.at < b.at; });

  std::vector<std::string> parts;
  size_t left_start = 0;
  for (size_t i = 0; i < cuts.size(); ++i) {
    if (cuts[i].at < left_start) continue;  // overlapping separators
    const size_t right_start = cuts[i].at + cuts[i].len;
    const size_t right_end = i + 1 < cuts.size() ? cuts[i + 1].at : q.size();
    if (right_end < right_start) continue;
    const std::string_view left = trim_part(q.substr(left_start, cuts[i].at - left_start));
    const std::string_view right = trim_part(q.substr(right_start, right_end - right_start));
    if (content_words(left) >= kMinContentWords && content_words(right) >= kMinContentWords &&
        (!cuts[i].needs_clause || starts_clause(right))) {
      parts.emplace_back(left);
      left_start = right_start;
    }
  }
  if (!parts.empty()) parts.emplace_back(trim_part(q.substr(left_start)));
  return parts;
}

// "한빛반도체의 대표이사는 누구이고 기업 가치는 얼마인가요?": a question clause ended by -이고
// (or a past tense -었고) and another clause. The first becomes a question of its own; the
// second gets the first's owner or topic when it names none.
std::vector<std::string> split_korean_clauses(std::string_view q) {
  const auto words = words_of(q);
  for (size_t i = 0; i + 1 < words.size(); ++i) {
    const std::string_view w = words[i].text;
    std::string left_end;
    if (auto stem = stem_before(w, "이고")) {
      left_end = std::string(*stem) + "인가요?";
    } else if (w.ends_with("고") && w.size() > 3) {
      const std::string_view before = w.substr(0, w.size() - 3);
      const size_t last = utf8::floor_boundary(before, before.size() - 1);
      if (one_of(before.substr(last), kPastSyllables)) {
        left_end = std::string(before) + "나요?";
      } else if (one_of(before, kKoreanQuestionWords)) {
        left_end = std::string(before) + "인가요?";
      }
    }
    if (left_end.empty()) continue;
    std::vector<std::string_view> left_words;
    for (size_t k = 0; k <= i; ++k) left_words.push_back(words[k].text);
    if (!has_question_word(left_words)) continue;
    const std::string_view left_text = q.substr(0, words[i].end);
    const std::string_view right_text = trim_part(q.substr(words[i + 1].start));
    if (content_words(left_text) < kMinContentWords || content_words(right_text) < kMinContentWords)
      return {};
    left_words.pop_back();
    left_words.push_back(left_end);
    std::string left = join(left_words);

    // The owner (X의) or topic (X는) of the first clause, for a second clause naming none.
    std::string right(right_text);
    const std::string_view first = words.front().text;
    const std::string_view right_first = words[i + 1].text;
    if (i > 0 && particle_of(first, kSubjectParticles) == "의" &&
        particle_of(right_first, kSubjectParticles) != "의") {
      right = std::string(first) + " " + right;
    } else if (i > 0 && !particle_of(first, kSubjectParticles).empty() &&
               particle_of(right_first, kParticles).empty()) {
      const std::string_view p = particle_of(first, kSubjectParticles);
      right = std::string(first.substr(0, first.size() - p.size())) + " " + right;
    }
    return {left, right};
  }
  return {};
}

// "한빛반도체와 다온랩의 기업 가치는 각각 얼마인가요?" -> one question per name.
std::vector<std::string> split_korean_each(std::string_view q) {
  const auto words = words_of(q);
  size_t each = words.size();
  for (size_t i = 0; i < words.size(); ++i)
    if (words[i].text == "각각") each = i;
  if (each == words.size()) return {};
  for (size_t i = 0; i + 2 < each; ++i) {
    std::optional<std::string_view> x = stem_before(words[i].text, "와");
    if (!x) x = stem_before(words[i].text, "과");
    if (!x) continue;
    const std::string_view y = words[i + 1].text;
    const std::string_view y_particle = particle_of(y, kParticles);
    std::vector<std::string_view> prefix, rest;
    for (size_t k = 0; k < i; ++k) prefix.push_back(words[k].text);
    for (size_t k = i + 2; k < words.size(); ++k)
      if (k != each) rest.push_back(words[k].text);
    const std::string x_owner = std::string(*x) + std::string(y_particle);
    std::vector<std::string_view> first_words = prefix, second_words = prefix;
    first_words.push_back(x_owner);
    second_words.push_back(y);
    first_words.insert(first_words.end(), rest.begin(), rest.end());
    second_words.insert(second_words.end(), rest.begin(), rest.end());
    std::string first = join(first_words), second = join(second_words);
    if (content_words(first) < kMinContentWords || content_words(second) < kMinContentWords)
      return {};
    return {first, second};
  }
  return {};
}

// ---- model output ----

// Where JSON may sit in a model's output, most likely first.
std::vector<std::string_view> json_candidates(std::string_view s) {
  std::vector<std::string_view> out;
  const size_t fence = s.find("```");
  if (fence != std::string_view::npos) {
    const size_t body = s.find('\n', fence);
    if (body != std::string_view::npos) {
      const size_t close = s.find("```", body);
      out.push_back(
          s.substr(body + 1, (close == std::string_view::npos ? s.size() : close) - body - 1));
    }
  }
  // An object, else a bare array (an object without "queries" is no plan, whatever it holds).
  const bool object = s.find('{') != std::string_view::npos;
  const size_t a = s.find(object ? '{' : '['), b = s.rfind(object ? '}' : ']');
  if (a != std::string_view::npos && b != std::string_view::npos && b > a)
    out.push_back(s.substr(a, b - a + 1));
  out.push_back(trim(s));
  return out;
}

const json* plan_array(const json& j) {
  if (j.is_array()) return &j;
  if (j.is_object()) {
    const auto it = j.find("queries");
    if (it != j.end() && it->is_array()) return &*it;
  }
  return nullptr;
}

}  // namespace

std::string question_language(std::string_view text) {
  return contains_hangul(text) ? "ko" : "en";
}

std::vector<std::string> document_languages(const std::vector<std::string>& texts) {
  size_t hangul = 0, latin = 0, letters = 0;
  for (const std::string& t : texts) {
    for (size_t i = 0; i < t.size();) {
      size_t len = 1;
      const char32_t cp = utf8::decode(t, i, len);
      i += len;
      const bool is_latin = (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') ||
                            (cp >= 0xC0 && cp <= 0x24F && cp != 0xD7 && cp != 0xF7);
      if (utf8::is_hangul(cp)) {
        ++hangul;
      } else if (is_latin) {
        ++latin;
      } else if (!utf8::is_word_char(cp) && !utf8::is_han_or_kana(cp)) {
        continue;
      }
      if (cp < '0' || cp > '9') ++letters;
    }
  }
  std::vector<std::pair<size_t, std::string>> found;
  if (letters == 0) return {};
  if (static_cast<double>(hangul) >= kLanguageShare * static_cast<double>(letters))
    found.emplace_back(hangul, "ko");
  if (static_cast<double>(latin) >= kLanguageShare * static_cast<double>(letters))
    found.emplace_back(latin, "en");
  std::stable_sort(found.begin(), found.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  std::vector<std::string> out;
  for (auto& f : found) out.push_back(std::move(f.second));
  return out;
}

ChatRequest plan_prompt(std::string_view query,
                        const std::vector<std::string>& document_languages) {
  const std::string own = question_language(query);
  std::vector<std::string> other;
  for (const std::string& l : document_languages)
    if (l != own) other.push_back(l);
  const std::string documents =
      document_languages.empty() ? "unknown languages" : names_of(document_languages);
  const std::string max_queries = std::to_string(kMaxPlanQueries);
  const std::string translate = other.empty() ? "none here: do not translate" : names_of(other);
  std::string system =
      prompts::fill(prompts::find("plan_search.txt"), {{"{question_language}", language_name(own)},
                                                       {"{document_languages}", documents},
                                                       {"{max_queries}", max_queries},
                                                       {"{translate_into}", translate}});
  ChatRequest r;
  r.system = std::move(system);
  r.messages.push_back({ChatRole::kUser, std::string(query)});
  r.temperature = 0;
  r.max_tokens = 400;
  return r;
}

std::vector<std::string> parse_plan(std::string_view model_output, std::string_view query) {
  std::vector<std::string> out{std::string(query)};
  if (model_output.size() > kMaxOutputBytes) return out;
  std::string text(model_output);
  utf8::repair(text);  // invalid bytes become U+FFFD; the strings holding them are dropped
  const json* items = nullptr;
  json parsed;
  for (std::string_view candidate : json_candidates(text)) {
    parsed = json::parse(candidate, nullptr, /*allow_exceptions=*/false);
    if (!parsed.is_discarded() && (items = plan_array(parsed))) break;
  }
  if (!items) return out;
  std::vector<std::string> seen{query_key(query)};
  for (const json& item : *items) {
    if (out.size() == kMaxPlanQueries) break;
    if (!item.is_string()) continue;
    std::string q = clean_query(item.get_ref<const std::string&>());
    if (q.empty()) continue;
    std::string key = query_key(q);
    if (key.empty() || std::find(seen.begin(), seen.end(), key) != seen.end()) continue;
    seen.push_back(std::move(key));
    out.push_back(std::move(q));
  }
  return out;
}

std::vector<std::string> rule_plan(std::string_view query) {
  std::vector<std::string> out{std::string(query)};
  std::vector<std::string> parts;
  if (contains_hangul(query)) {
    parts = split_korean_each(query);
    if (parts.empty()) parts = split_korean_clauses(query);
  }
  if (parts.empty()) parts = split_at_separators(query);
  std::vector<std::string> seen{query_key(query)};
  for (std::string& p : parts) {
    if (out.size() == kMaxPlanQueries) break;
    std::string key = query_key(p);
    if (p.empty() || std::find(seen.begin(), seen.end(), key) != seen.end()) continue;
    seen.push_back(std::move(key));
    out.push_back(std::move(p));
  }
  return out;
}

ChatRequest bridge_prompt(std::string_view question,
                          const std::vector<std::string>& passage_texts) {
  std::string user = "Question: " + std::string(question) + "\n\nPassages found:\n";
  for (size_t i = 0; i < passage_texts.size() && i < kBridgePassages; ++i) {
    std::string text = passage_texts[i];
    if (text.size() > kBridgePassageBytes)
      text = text.substr(0, utf8::floor_boundary(text, kBridgePassageBytes)) + "…";
    // A passage cannot close its own fence.
    for (size_t at = text.find("</passage"); at != std::string::npos;
         at = text.find("</passage", at))
      text.replace(at, 2, "< /");
    user += "<passage n=\"" + std::to_string(i + 1) + "\">\n" + text + "\n</passage>\n";
  }
  if (passage_texts.empty()) user += "(none)\n";
  ChatRequest r;
  r.system = prompts::fill(prompts::find("bridge_search.txt"),
                           {{"{language}", language_name(question_language(question))}});
  r.messages.push_back({ChatRole::kUser, std::move(user)});
  r.temperature = 0;
  r.max_tokens = 80;
  return r;
}

std::optional<std::string> parse_bridge(std::string_view output, std::string_view question,
                                        const std::vector<std::string>& already_searched) {
  if (!utf8::is_valid(output)) return std::nullopt;
  std::string_view s = trim(output);
  s = trim(s.substr(0, s.find('\n')));
  for (std::string_view label : {"Search query:", "search query:", "Query:", "query:", "Search:",
                                 "search:", "검색어:", "질의:", "- ", "* "})
    if (s.starts_with(label)) s = trim(s.substr(label.size()));
  auto quote = [](char c) { return c == '"' || c == '\'' || c == '`' || c == ' '; };
  while (!s.empty() && quote(s.front())) s.remove_prefix(1);
  while (!s.empty() && quote(s.back())) s.remove_suffix(1);
  std::string q = clean_query(s);
  if (q.empty()) return std::nullopt;
  // NONE alone or anywhere as a word ("NONE needed."), and its spellings.
  std::string bare = query_key(q);
  while (!bare.empty() && (bare.back() == '.' || bare.back() == '!')) bare.pop_back();
  if (one_of(bare, kNoneWords) || bare.starts_with("none")) return std::nullopt;
  for (const Word& w : words_of(q))
    if (std::string_view t = w.text;
        t.starts_with("NONE") && (t.size() == 4 || !std::isalpha(static_cast<unsigned char>(t[4]))))
      return std::nullopt;
  const std::string key = query_key(q);
  if (key == query_key(question)) return std::nullopt;
  for (const std::string& earlier : already_searched)
    if (key == query_key(earlier)) return std::nullopt;
  return q;
}

std::vector<int64_t> fuse_rankings(const std::vector<std::vector<int64_t>>& ranked_ids,
                                   size_t limit) {
  std::vector<int64_t> order;  // first appearance
  std::unordered_map<int64_t, double> score;
  for (const auto& list : ranked_ids) {
    std::unordered_map<int64_t, bool> in_list;
    size_t rank = 0;
    for (int64_t id : list) {
      ++rank;
      if (!in_list.emplace(id, true).second) continue;
      auto [it, fresh] = score.emplace(id, 0.0);
      if (fresh) order.push_back(id);
      it->second += 1.0 / (kRrfK + static_cast<double>(rank));
    }
  }
  std::stable_sort(order.begin(), order.end(),
                   [&](int64_t a, int64_t b) { return score.at(a) > score.at(b); });
  if (limit > 0 && order.size() > limit) order.resize(limit);
  return order;
}

}  // namespace chaja
