#include "index/tokenizer.h"

#include <algorithm>
#include <unordered_set>

#include "index/utf8.h"

namespace chaja {
namespace {

enum class CharClass { kSeparator, kWord, kSyllabic };

CharClass classify(char32_t cp) {
  if (utf8::is_hangul(cp) || utf8::is_han_or_kana(cp)) return CharClass::kSyllabic;
  if (utf8::is_word_char(cp)) return CharClass::kWord;
  return CharClass::kSeparator;
}

// One code point of a syllabic run: its byte range.
struct Syllable {
  size_t start;
  size_t end;
};

// Korean particles and question endings stripped from the end of a query word, longest first.
// Written as UTF-8 strings; matched on whole syllables.
constexpr std::string_view kKoreanSuffixes[] = {
    // three syllables
    "에서는", "에게서", "으로는", "으로서", "으로써", "이라는", "입니다", "입니까", "습니까",
    "인가요", "합니까", "했나요", "하나요", "하는가", "였나요", "었나요", "았나요", "일까요",
    "인지요", "됩니까", "되나요", "한가요", "할까요",
    // two syllables
    "에서", "에게", "께서", "으로", "부터", "까지", "처럼", "보다", "이나", "이란", "라는", "에는",
    "와는", "과는", "로는", "인가", "인지", "나요", "가요", "까요", "니까", "이다", "는가", "은가",
    "을까", "는지", "한가", "할까", "이고",
    // one syllable
    "은", "는", "이", "가", "을", "를", "의", "에", "로", "와", "과", "도", "만", "나"};

const std::unordered_set<std::string_view>& stop_words() {
  static const std::unordered_set<std::string_view> words = {
      // English function and question words
      "a", "an", "the", "is", "are", "was", "were", "be", "been", "being", "of", "in", "on", "at",
      "to", "for", "from", "by", "with", "and", "or", "what", "which", "who", "whom", "whose",
      "when", "where", "why", "how", "does", "do", "did", "can", "could", "would", "should", "will",
      "it", "its", "this", "that", "these", "those", "i", "you", "me", "my", "your", "we", "our",
      "about", "tell", "there", "as", "into", "than", "then", "so", "if", "has", "have", "had",
      "much", "many", "any", "some", "please", "s",
      // Korean question words and fillers (after suffix stripping)
      "무엇", "무엇인", "뭐", "뭔가", "어떻게", "어떤", "언제", "어디", "어디서", "누구", "누가",
      "왜", "얼마", "얼마나", "몇", "며칠", "어느", "무슨", "알려", "알려줘", "알려주세요", "대해",
      "대해서", "관해", "관해서", "있나요", "있습니까", "있는", "무엇인가요", "무엇입니까"};
  return words;
}

size_t syllable_count(std::string_view s) {
  return utf8::length(s);
}

// Emits the tokens of one syllabic run (Hangul/Han/Kana).
void emit_syllabic(std::string_view text, const std::vector<Syllable>& run, TokenMode mode,
                   bool glued_to_word, const TokenSink& sink) {
  size_t n = run.size();
  if (n == 0) return;
  const std::string_view whole = text.substr(run[0].start, run[n - 1].end - run[0].start);
  if (mode == TokenMode::kQuery) {
    for (std::string_view suffix : kKoreanSuffixes) {
      const size_t suffix_syllables = syllable_count(suffix);
      if (whole.size() > suffix.size() && whole.ends_with(suffix) && n - suffix_syllables >= 2) {
        n -= suffix_syllables;
        break;
      }
      // "GPU의", "AI가": a lone particle glued to a Latin word carries nothing.
      if (glued_to_word && whole == suffix) return;
    }
    const std::string_view stem = text.substr(run[0].start, run[n - 1].end - run[0].start);
    if (stop_words().count(stem) || stop_words().count(whole)) return;
  }
  if (n == 1) {
    sink(text.substr(run[0].start, run[0].end - run[0].start), run[0].start, run[0].end);
    return;
  }
  for (size_t i = 0; i + 1 < n; ++i) {
    sink(text.substr(run[i].start, run[i + 1].end - run[i].start), run[i].start, run[i + 1].end);
  }
}

}  // namespace

void for_each_run(std::string_view text, const RunSink& sink) {
  Run run;
  bool open = false;
  auto flush = [&] {
    if (open) sink(run);
    open = false;
  };
  for (size_t i = 0; i < text.size();) {
    size_t len = 0;
    const char32_t cp = utf8::decode(text, i, len);
    const CharClass cls = classify(cp);
    if (cls == CharClass::kSeparator) {
      flush();
    } else {
      const RunKind kind = cls == CharClass::kWord ? RunKind::kWord : RunKind::kSyllabic;
      if (open && run.kind != kind) flush();
      if (!open) {
        open = true;
        run.kind = kind;
        run.start = i;
        run.chars = 0;
        run.glued = i > 0 && run.end == i;  // the previous run ended right here
      }
      run.end = i + len;
      ++run.chars;
    }
    i += len;
  }
  flush();
}

void tokenize(std::string_view text, TokenMode mode, const TokenSink& sink) {
  std::vector<Syllable> syllables;
  std::string word;
  RunKind previous = RunKind::kSyllabic;
  for_each_run(text, [&](const Run& run) {
    const std::string_view s = text.substr(run.start, run.end - run.start);
    if (run.kind == RunKind::kWord) {
      word.clear();
      size_t end = run.start, chars = 0;
      for (size_t i = 0; i < s.size() && chars < kMaxTokenChars; ++chars) {
        size_t len = 0;
        utf8::append(word, utf8::ascii_lower(utf8::decode(s, i, len)));
        i += len;
        end = run.start + i;
      }
      if (!(mode == TokenMode::kQuery && stop_words().count(word))) sink(word, run.start, end);
    } else {
      syllables.clear();
      for (size_t i = 0; i < s.size();) {
        size_t len = 0;
        utf8::decode(s, i, len);
        syllables.push_back({run.start + i, run.start + i + len});
        i += len;
      }
      emit_syllabic(text, syllables, mode, run.glued && previous == RunKind::kWord, sink);
    }
    previous = run.kind;
  });
}

std::vector<std::string> tokenize(std::string_view text, TokenMode mode) {
  std::vector<std::string> out;
  tokenize(text, mode, [&](std::string_view t, size_t, size_t) { out.emplace_back(t); });
  return out;
}

std::vector<std::string> query_terms(std::string_view query) {
  std::vector<std::string> terms;
  std::unordered_set<std::string> seen;
  for (TokenMode mode : {TokenMode::kQuery, TokenMode::kDocument}) {
    for (auto& t : tokenize(query, mode))
      if (seen.insert(t).second) terms.push_back(std::move(t));
    if (!terms.empty()) break;
  }
  return terms;
}

bool contains_hangul(std::string_view text) {
  for (size_t i = 0; i < text.size();) {
    size_t len = 0;
    const char32_t cp = utf8::decode(text, i, len);
    if (cp >= 0xAC00 && cp <= 0xD7A3) return true;
    i += len;
  }
  return false;
}

}  // namespace chaja
