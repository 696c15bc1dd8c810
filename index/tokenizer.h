// Chaja's text tokenizer, shared by the SQLite FTS5 index and by answer-sentence scoring, so that
// what is indexed and what is scored are cut the same way.
//
// - Latin and other space-delimited scripts: words of letters and digits, ASCII lower-cased,
//   at most kMaxTokenChars code points (longer runs are cut).
// - Hangul, Han and Kana: overlapping two-syllable bigrams (언어모델의 -> 언어 어모 모델 델의), and
//   the syllable itself for a one-syllable word. A two-syllable query word (모델) is then one
//   bigram and matches inside longer words, which FTS5's unicode61 and trigram tokenizers cannot.
// - Query mode additionally drops stop words (English function words, Korean question words) and
//   strips a trailing Korean particle or question ending from a word whose stem keeps at least two
//   syllables (반도체의 -> 반도체, 열리나요 -> 열리), so the query's bigrams are all content.
//   Documents keep every bigram: stripping is only ever done on the query side, which keeps
//   recall intact when a word merely looks like it ends in a particle.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace chaja {

enum class TokenMode { kDocument, kQuery };

inline constexpr size_t kMaxTokenChars = 64;

// Bump whenever documents would be cut differently: stores re-index their FTS tables on open.
inline constexpr int kTokenizerVersion = 1;

// A maximal run of one script class: letters and digits of space-delimited scripts (kWord), or
// Hangul/Han/Kana syllables (kSyllabic). Everything else separates runs.
enum class RunKind { kWord, kSyllabic };
struct Run {
  RunKind kind = RunKind::kWord;
  size_t start = 0, end = 0;  // byte range
  size_t chars = 0;           // code points
  bool glued = false;         // starts where the previous run ended (GPU의)
};
using RunSink = std::function<void(const Run& run)>;
void for_each_run(std::string_view text, const RunSink& sink);

// Called once per token: the token text and its byte range [start, end) in the input.
using TokenSink = std::function<void(std::string_view token, size_t start, size_t end)>;

// Tokenizes UTF-8 text. Invalid bytes are treated as separators.
void tokenize(std::string_view text, TokenMode mode, const TokenSink& sink);

std::vector<std::string> tokenize(std::string_view text, TokenMode mode);

// Query tokens for retrieval: query mode, de-duplicated in first-seen order; when query mode
// leaves nothing (a question made only of stop words), falls back to document mode.
std::vector<std::string> query_terms(std::string_view query);

// True when the text contains at least one Hangul syllable (used to pick the answer language).
bool contains_hangul(std::string_view text);

}  // namespace chaja
