// Verified citations: an LLM's citation markers rewritten as the answer streams in (invalid ones
// dropped, valid ones renumbered in order of first use), and each cited sentence checked against
// the sources it cites. Pure functions and one small state machine: no I/O, no threads.
//
// Marker grammar (what feed() recognises; anything else is plain text and passes through):
//   marker  := OPEN SP* item (SP* SEP SP* item)* SP* CLOSE
//   item    := number | number SP* RANGE SP* number     (a range a-b means every n in a..b)
//   number  := 1 to 3 digits, ASCII 0-9 or full-width ０-９ (4 or more: not a marker, "[2024]")
//   OPEN    := [ ［ 【        CLOSE := ] ］ 】 (any closer ends any opener)
//   SEP     := , ， 、        RANGE := - – ~ ～        SP := ' '
// A marker is at most kMaxMarkerBytes bytes; a longer bracket is plain text. Markers separated
// only by spaces ("[1][2]", "[1] [3]") form one group, written once in canonical form with its
// numbers de-duplicated and sorted: "[1][2]". A group with no valid number vanishes, and the
// spaces around it shrink to the longer of the two runs, or to nothing before punctuation, a line
// break or the end, and at the start of a line ("foo [9]." -> "foo.", "foo [9] bar" and
// "foo [9]bar" -> "foo bar", "[9] Foo" -> "Foo"). An unclosed marker with at least one digit at
// the end of the stream (the model was cut off) vanishes the same way.
// Limitation: brackets in code are not told apart ("a[0]" in a code span loses its "[0]").
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "agent/answer.h"

namespace chaja {

// The longest bracket text that can still be a marker ("[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]" fits):
// also the most feed() ever holds back, besides a partial UTF-8 sequence and a run of spaces
// (kept as a count).
inline constexpr size_t kMaxMarkerBytes = 32;

// Rewrites a streamed answer's citation markers as text arrives. Sources are numbered 1..sources
// as the model saw them.
// A valid marker is renumbered in order of first use (the first source cited becomes [1]) and
// written in one canonical form: "[1]" or "[1][2]" for several; numbers outside 1..sources are
// dropped, and a marker left with no valid number vanishes (with the space before it, so
// "foo [9]." becomes "foo."). Text that only looks like a marker start ("[" followed by
// non-marker text, e.g. "[note]" or "[2024]" with more than 3 digits) passes through unchanged.
// A possibly incomplete marker at the end of a delta is held back until the next delta or
// finish().
// The output does not depend on how the text is split into deltas (even inside a UTF-8
// sequence), and every piece returned ends on a code point boundary when the input is valid
// UTF-8. Linear time; bounded memory. Not thread-safe; feed() after finish() is not supported.
class CitationRewriter {
 public:
  explicit CitationRewriter(size_t sources);
  // Text safe to show now. `first_cited` gets the model's numbers (1-based) of sources cited for
  // the first time in this piece, in order (their final numbers are cited().size() - k ...).
  std::string feed(std::string_view delta, std::vector<int>* first_cited = nullptr);
  std::string finish(std::vector<int>* first_cited = nullptr);
  // The model's numbers of the cited sources in order of first use: final number n is
  // cited()[n-1].
  const std::vector<int>& cited() const { return cited_; }

 private:
  enum class State { kText, kMarker, kAfterMarker };
  enum class Part { kOpen, kNumber, kAfterNumber, kAfterSeparator, kAfterRange };

  void put_byte(unsigned char b);
  void step(char32_t cp, std::string_view raw);
  void step_marker(char32_t cp, std::string_view raw);
  void start_marker(std::string_view raw);
  void end_number();
  void commit_marker();
  void fail_marker();
  void close_group(char32_t next);
  void emit(char32_t cp, std::string_view raw);

  int max_source_ = 0;         // sources, clamped to 999 (a marker number has at most 3 digits)
  std::vector<int> final_of_;  // model number -> final number (0: not cited yet)
  std::vector<int> cited_;

  std::string out_;                    // output of the current feed()/finish() call
  std::vector<int>* first_ = nullptr;  // where first citations go during this call
  std::string utf8_;                   // a partial UTF-8 sequence (at most 3 bytes)
  size_t utf8_need_ = 0;               // continuation bytes still missing
  State state_ = State::kText;
  bool line_start_ = true;   // nothing but spaces (held) since the start or the last line break
  size_t pre_spaces_ = 0;    // spaces held before a possible marker
  size_t group_spaces_ = 0;  // spaces held after a marker of the open group
  bool group_open_ = false;  // a marker has closed and the group has not been written yet
  std::vector<int> group_;   // valid model numbers of the open group, first use order
  std::vector<char> in_group_;

  // The marker being read.
  std::string marker_raw_;
  Part part_ = Part::kOpen;
  int number_ = 0;
  int digits_ = 0;
  bool any_digit_ = false;
  bool range_pending_ = false;  // the item being read is a range's second number
  bool last_is_range_ = false;
  std::vector<std::pair<int, int>> items_;
};

// The whole-text form (for a non-streamed answer and for tests): returns the rewritten text;
// cited gets the order (may be null).
std::string rewrite_citations(std::string_view answer, size_t sources, std::vector<int>* cited);

// Claims: the answer (already rewritten, final numbering) split into sentences
// (index/chunker.h's split_sentences), each sentence that carries markers ("[n]", final
// numbers) scored against the texts of the sources it cites (source_texts[n-1]); sentences
// without markers are not claims. The claim's text has its markers removed and is trimmed.
// support = share of the sentence's content terms (index/tokenizer.h query_terms: stop words
// dropped, Korean particles stripped; digit-only terms left to the number check) found in the
// union of its cited sources' document-mode terms, 1 when it has none. Every number in the
// sentence (1,024; 3.5; 18만 6천 = 186000; 2024-05-01 gives 2024, 5, 1) must occur in a cited
// source, by value or part by part, else support is capped at threshold / 2.
// supported = support >= threshold. A marker naming no source text cites nothing.
std::vector<Claim> verify_claims(std::string_view answer,
                                 const std::vector<std::string>& source_texts,
                                 double threshold = 0.5);

// A citation's snippet, what a reader sees of the source on hover: about 300 characters from the
// passage's sentence that shares the most terms with the query (its start when none does), as
// plain text (Markdown heading and emphasis marks, and line breaks, taken out).
std::string citation_snippet(std::string_view passage, std::string_view query);
// The same from a byte offset of the passage (the sentence an answer cites).
std::string snippet_at(std::string_view passage, size_t start);

}  // namespace chaja
