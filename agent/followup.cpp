#include "agent/followup.h"

#include <algorithm>
#include <array>

#include "index/tokenizer.h"
#include "index/utf8.h"
#include "prompts/prompts.h"

namespace chaja {
namespace {

constexpr size_t kMaxHistoryTurns = 4;     // turns shown to the rewriting model
constexpr size_t kMaxAnswerBytes = 600;    // of each earlier answer
constexpr size_t kMaxRewriteBytes = 1000;  // a longer "query" is not a query
constexpr size_t kShortQuestionTerms = 2;  // at most this many content terms: leans on context

// Korean particles that end a topic or possessive phrase, longest first.
constexpr std::array<std::string_view, 16> kParticles = {
    "에서는", "으로는", "이라는", "에서", "으로", "에게", "까지", "부터",
    "의",     "은",     "는",     "이",   "가",   "을",   "를",   "에"};
// The ones that mark a phrase as the question's subject or owner.
constexpr std::array<std::string_view, 6> kTopicParticles = {"에서는", "의", "은",
                                                             "는",     "이", "가"};

// Determiners and pronouns that point back at an earlier turn.
constexpr std::array<std::string_view, 9> kKoreanDeterminers = {
    "그", "이", "저", "해당", "그런", "이런", "저런", "위", "앞"};
constexpr std::array<std::string_view, 16> kKoreanPronouns = {
    "그것", "이것", "저것", "그곳", "이곳", "거기", "여기", "그녀",
    "그분", "그들", "그의", "그는", "그가", "그게", "이게", "그걸"};
constexpr std::array<std::string_view, 20> kEnglishPronouns = {
    "it",    "its", "it's", "they", "them", "their", "theirs", "this", "that",   "these",
    "those", "he",  "him",  "his",  "she",  "her",   "there",  "same", "former", "latter"};
constexpr std::array<std::string_view, 18> kEnglishQuestionWords = {
    "what", "who", "whom", "whose", "when", "where", "why", "how", "which",
    "is",   "are", "was",  "were",  "do",   "does",  "did", "can", "and"};

struct Word {
  std::string text;  // without surrounding punctuation
  size_t start = 0, end = 0;
};

bool is_punct(unsigned char c) {
  return c == '?' || c == '!' || c == '.' || c == ',' || c == ';' || c == ':' || c == '"' ||
         c == '\'' || c == '(' || c == ')';
}

std::vector<Word> words_of(std::string_view s) {
  std::vector<Word> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n')) ++i;
    size_t j = i;
    while (j < s.size() && s[j] != ' ' && s[j] != '\t' && s[j] != '\n') ++j;
    size_t a = i, b = j;
    while (a < b && is_punct(static_cast<unsigned char>(s[a]))) ++a;
    while (b > a && is_punct(static_cast<unsigned char>(s[b - 1]))) --b;
    // A trailing full-width question mark.
    if (b - a >= 3 && s.substr(b - 3, 3) == "？") b -= 3;
    if (b > a) out.push_back({std::string(s.substr(a, b - a)), a, b});
    i = j;
  }
  return out;
}

std::string lower_ascii(std::string s) {
  for (char& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return s;
}

template <size_t N>
bool one_of(std::string_view w, const std::array<std::string_view, N>& list) {
  return std::find(list.begin(), list.end(), w) != list.end();
}

size_t syllables(std::string_view s) {
  return utf8::length(s);
}

// The word without a trailing particle, when the stem keeps two syllables or more; and which
// particle it was.
std::string strip_particle(const std::string& w, std::string_view* particle = nullptr) {
  for (std::string_view p : kParticles)
    if (w.size() > p.size() && std::string_view(w).ends_with(p) &&
        syllables(std::string_view(w).substr(0, w.size() - p.size())) >= 2) {
      if (particle) *particle = p;
      return w.substr(0, w.size() - p.size());
    }
  return w;
}

bool is_upper_start(const std::string& w) {
  return !w.empty() && w[0] >= 'A' && w[0] <= 'Z';
}

std::string korean_topic(const std::vector<Word>& words) {
  std::string topic;
  size_t taken = 0;
  for (const Word& w : words) {
    if (one_of(w.text, kKoreanDeterminers) || one_of(w.text, kKoreanPronouns)) {
      topic.clear();
      taken = 0;
      continue;
    }
    std::string_view particle;
    const std::string stem = strip_particle(w.text, &particle);
    if (query_terms(stem).empty()) continue;  // a question word or stop word
    topic += (topic.empty() ? "" : " ") + stem;
    ++taken;
    if (!particle.empty() && one_of(particle, kTopicParticles)) return topic;
    if (taken == 4) break;
  }
  return taken <= 2 ? topic : "";
}

std::string english_topic(const std::vector<Word>& words) {
  std::string best, run;
  size_t run_words = 0, best_words = 0;
  auto close = [&] {
    if (run_words > best_words) {
      best = run;
      best_words = run_words;
    }
    run.clear();
    run_words = 0;
  };
  for (size_t i = 0; i < words.size(); ++i) {
    const std::string& w = words[i].text;
    const bool question_word = one_of(lower_ascii(w), kEnglishQuestionWords);
    const bool capital = is_upper_start(w) && !(i == 0 && question_word) &&
                         !one_of(lower_ascii(w), kEnglishPronouns);
    const bool connector = (w == "of" || w == "de" || w == "and") && run_words > 0 &&
                           i + 1 < words.size() && is_upper_start(words[i + 1].text);
    if (capital || connector) {
      std::string piece = w;
      if (piece.ends_with("'s")) piece.resize(piece.size() - 2);
      run += (run.empty() ? "" : " ") + piece;
      if (capital) ++run_words;
      if (piece.size() != w.size()) close();
    } else {
      close();
    }
  }
  close();
  return best;
}

}  // namespace

bool looks_like_follow_up(std::string_view question) {
  for (const Word& w : words_of(question)) {
    if (one_of(w.text, kKoreanDeterminers) || one_of(w.text, kKoreanPronouns)) return true;
    const std::string lw = lower_ascii(w.text);
    if (one_of(lw, kEnglishPronouns)) return true;
  }
  // Korean pronouns glued to a particle: 그것은, 그곳의.
  for (std::string_view p : kKoreanPronouns)
    if (question.find(p) == 0 ||
        question.find(std::string(" ") + std::string(p)) != std::string_view::npos)
      return true;
  return query_terms(question).size() <= kShortQuestionTerms;
}

std::string question_topic(std::string_view question) {
  const auto words = words_of(question);
  return contains_hangul(question) ? korean_topic(words) : english_topic(words);
}

std::string rule_standalone_query(std::string_view question,
                                  const std::vector<HistoryTurn>& history) {
  std::string q(question);
  if (history.empty() || !looks_like_follow_up(question)) return q;
  // The newest earlier question that has a topic.
  std::string topic;
  for (auto it = history.rbegin(); it != history.rend() && topic.empty(); ++it)
    topic = question_topic(it->question);
  if (topic.empty() || q.find(topic) != std::string::npos) return q;

  // Put the topic where the question points back; else in front of it.
  const auto words = words_of(q);
  for (auto it = words.rbegin(); it != words.rend(); ++it) {
    const std::string& w = it->text;
    const std::string lw = lower_ascii(w);
    if (one_of(w, kKoreanDeterminers)) {
      // "그 회사의" -> "한빛반도체 회사의": the determiner becomes the name.
      q.replace(it->start, it->end - it->start, topic);
      return q;
    }
    for (std::string_view p : kKoreanPronouns)
      if (std::string_view(w).starts_with(p)) {
        std::string rest = w.substr(p.size());
        if (p == "그의") rest = "의" + rest;
        q.replace(it->start, it->end - it->start, topic + rest);
        return q;
      }
    if (one_of(lw, kEnglishPronouns)) {
      const bool possessive = lw == "its" || lw == "their" || lw == "his" || lw == "her";
      q.replace(it->start, it->end - it->start, possessive ? topic + "'s" : topic);
      return q;
    }
  }
  return topic + " " + q;
}

ChatRequest rewrite_prompt(std::string_view question, const std::vector<HistoryTurn>& history) {
  std::string shown;
  const size_t from = history.size() > kMaxHistoryTurns ? history.size() - kMaxHistoryTurns : 0;
  for (size_t i = from; i < history.size(); ++i) {
    std::string answer = history[i].answer;
    if (answer.size() > kMaxAnswerBytes)
      answer = answer.substr(0, utf8::floor_boundary(answer, kMaxAnswerBytes)) + "…";
    shown += "User: " + history[i].question + "\nAssistant: " + answer + "\n";
  }
  if (shown.empty()) shown = "(none)\n";
  ChatRequest r;
  r.system = prompts::fill(
      prompts::find("rewrite_query.txt"),
      {{"{language}", contains_hangul(question) ? "Korean" : "English"}, {"{history}", shown}});
  r.messages.push_back({ChatRole::kUser, std::string(question)});
  r.temperature = 0;
  r.max_tokens = 120;
  return r;
}

std::string clean_rewrite(std::string_view model_output) {
  if (!utf8::is_valid(model_output)) return "";
  std::string_view s = model_output;
  while (!s.empty() && (s.front() == ' ' || s.front() == '\n' || s.front() == '\r'))
    s.remove_prefix(1);
  s = s.substr(0, s.find('\n'));
  for (std::string_view label : {"Query:", "query:", "검색어:", "질문:"})
    if (s.starts_with(label)) s.remove_prefix(label.size());
  while (!s.empty() && (s.front() == ' ' || s.front() == '"' || s.front() == '\''))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '"' || s.back() == '\'' || s.back() == '\r'))
    s.remove_suffix(1);
  if (s.empty() || s.size() > kMaxRewriteBytes) return "";
  return std::string(s);
}

}  // namespace chaja
