// fuzz_tokenizer: index/tokenizer.h on raw bytes (invalid bytes are separators). Invariants:
//   - runs: inside the text, in order, not overlapping, start < end, chars = their code points;
//   - tokens (both modes): non-empty, valid UTF-8, offsets in range and on code point boundaries,
//     in order of start; a document token is the ASCII-lower-cased text it covers and has at
//     most kMaxTokenChars code points;
//   - query_terms: non-empty, valid UTF-8, no duplicates.
#include <set>
#include <string>
#include <string_view>

#include "index/tokenizer.h"
#include "index/utf8.h"
#include "tests/fuzz/fuzz_util.h"

namespace {

namespace utf8 = chaja::utf8;

std::string ascii_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  size_t prev_end = 0;
  chaja::for_each_run(text, [&](const chaja::Run& run) {
    FUZZ_CHECK(run.start < run.end && run.end <= text.size());
    FUZZ_CHECK(run.start >= prev_end);
    FUZZ_CHECK(!run.glued || run.start == prev_end);
    const std::string_view s = text.substr(run.start, run.end - run.start);
    FUZZ_CHECK(utf8::is_valid(s));
    FUZZ_CHECK(run.chars == utf8::length(s));
    prev_end = run.end;
  });

  for (chaja::TokenMode mode : {chaja::TokenMode::kDocument, chaja::TokenMode::kQuery}) {
    size_t prev_start = 0;
    chaja::tokenize(text, mode, [&](std::string_view token, size_t start, size_t end) {
      FUZZ_CHECK(!token.empty());
      FUZZ_CHECK(utf8::is_valid(token));
      FUZZ_CHECK(start < end && end <= text.size());
      // Valid UTF-8 spans start and end on code point boundaries (the next byte may be an
      // invalid one: those are separators).
      FUZZ_CHECK(utf8::is_valid(text.substr(start, end - start)));
      FUZZ_CHECK(start >= prev_start);
      prev_start = start;
      if (mode == chaja::TokenMode::kDocument) {
        FUZZ_CHECK(token == ascii_lower(text.substr(start, end - start)));
        FUZZ_CHECK(utf8::length(token) <= chaja::kMaxTokenChars);
      }
    });
  }

  std::set<std::string> seen;
  for (const std::string& term : chaja::query_terms(text)) {
    FUZZ_CHECK(!term.empty());
    FUZZ_CHECK(utf8::is_valid(term));
    FUZZ_CHECK(seen.insert(term).second);
  }
  (void)chaja::contains_hangul(text);
  return 0;
}
