#include "agent/extractive.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <unordered_map>
#include <unordered_set>

#include "index/chunker.h"
#include "index/tokenizer.h"
#include "index/utf8.h"

namespace chaja {
namespace {

constexpr size_t kMinSentenceChars = 8;
constexpr size_t kLongSentenceChars = 320;
constexpr size_t kSnippetChars = 300;
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

std::string snippet_from(std::string_view text, size_t start) {
  std::string_view rest = text.substr(start);
  size_t end = rest.size(), chars = 0;
  for (size_t i = 0; i < rest.size(); ++chars) {
    if (chars == kSnippetChars) {
      end = i;
      break;
    }
    size_t len = 0;
    utf8::decode(rest, i, len);
    i += len;
  }
  std::string out(rest.substr(0, end));
  if (end < rest.size()) out += "…";
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
      const double w =
          word_weight[i] * (in_title * 2 > words[i].terms.size() ? kTitleWordWeight : 1.0);
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

  // One citation per document or web page: two passages of one are one source to a reader.
  std::unordered_map<std::string, int> number_of_source;
  for (const Candidate* c : chosen) {
    const Passage& hit = hits[c->hit];
    const std::string key =
        hit.kind == SourceKind::kWeb ? "w" + hit.source : "d" + std::to_string(hit.doc_id);
    auto [it, inserted] =
        number_of_source.emplace(key, static_cast<int>(answer.citations.size()) + 1);
    if (inserted)
      answer.citations.push_back(
          citation_of(hit, it->second, snippet_from(hit.text, c->span.start)));
    const std::string sentence = clean_sentence(
        std::string_view(hit.text).substr(c->span.start, c->span.end - c->span.start));
    answer.parts.push_back(sentence + " [" + std::to_string(it->second) + "]");
  }
  return answer;
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
  for (size_t i = 0; i < extracted.parts.size(); ++i) {
    std::string piece = (i == 0 ? "" : " ") + extracted.parts[i];
    response.answer += piece;
    events.emplace_back(DeltaEvent{std::move(piece)});
  }
  events.emplace_back(RelatedEvent{response.related_questions});
  events.emplace_back(DoneEvent{std::move(response)});
  return events;
}

}  // namespace chaja
