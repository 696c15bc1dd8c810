// fuzz_chunker: index/chunker.h. The input (repaired to valid UTF-8, as ingest does) is a
// document's text; chunk sizes are drawn from the data. Invariants:
//   - sentences: non-empty spans inside the text, on code point boundaries, in order and not
//     overlapping, trimmed of white space;
//   - chunks: inside the text, on code point boundaries, text == text[start, end), starts and
//     ends strictly increasing, at most max_chars code points that are not white space, and
//     every sentence's characters are covered by some chunk (but white space where a long
//     sentence was cut);
//   - footnote_marker_length never runs past the text.
#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include "index/chunker.h"
#include "index/utf8.h"
#include "tests/fuzz/fuzz_util.h"

namespace {

namespace utf8 = chaja::utf8;

bool on_boundary(std::string_view text, size_t pos) {
  return pos == text.size() || utf8::floor_boundary(text, pos) == pos;
}

size_t non_space_chars(std::string_view s) {
  size_t n = 0;
  for (size_t i = 0; i < s.size();) {
    size_t len = 0;
    if (!utf8::is_space(utf8::decode(s, i, len))) ++n;
    i += len;
  }
  return n;
}

bool is_space_at(std::string_view s, size_t pos) {
  size_t len = 0;
  return utf8::is_space(utf8::decode(s, pos, len));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  const uint64_t h = chaja::fuzz::hash_bytes(text);
  utf8::repair(text);
  FUZZ_CHECK(utf8::is_valid(text));

  const std::vector<chaja::Span> sentences = chaja::split_sentences(text);
  size_t prev_end = 0;
  for (const chaja::Span& s : sentences) {
    FUZZ_CHECK(s.start < s.end && s.end <= text.size());
    FUZZ_CHECK(s.start >= prev_end);
    FUZZ_CHECK(on_boundary(text, s.start) && on_boundary(text, s.end));
    FUZZ_CHECK(!is_space_at(text, s.start));
    FUZZ_CHECK(!is_space_at(text, utf8::floor_boundary(text, s.end - 1)));
    prev_end = s.end;
  }

  chaja::ChunkOptions options;
  if (h & 1) {  // small chunks, so that short inputs still make several
    options.target_chars = 8 + (h >> 8) % 120;
    options.max_chars = options.target_chars + (h >> 16) % 200;
    options.overlap_chars = (h >> 24) % (options.target_chars + 1);
  }
  const size_t max_chars = std::max({options.max_chars, options.target_chars, size_t{16}});
  const std::vector<chaja::Chunk> chunks = chaja::chunk_text(text, options);
  if (!sentences.empty()) FUZZ_CHECK(!chunks.empty());
  for (size_t i = 0; i < chunks.size(); ++i) {
    const chaja::Chunk& c = chunks[i];
    FUZZ_CHECK(c.start < c.end && c.end <= text.size());
    FUZZ_CHECK(on_boundary(text, c.start) && on_boundary(text, c.end));
    FUZZ_CHECK(c.text == std::string_view(text).substr(c.start, c.end - c.start));
    FUZZ_CHECK(utf8::is_valid(c.section));
    FUZZ_CHECK(non_space_chars(c.text) <= max_chars);
    if (i > 0) FUZZ_CHECK(c.start > chunks[i - 1].start && c.end > chunks[i - 1].end);
  }
  // Coverage: every character of every sentence is in some chunk, but for the white space
  // where an over-long sentence was cut (chunks are ordered, so a sweep suffices).
  size_t k = 0;
  for (const chaja::Span& s : sentences) {
    size_t pos = s.start;
    while (pos < s.end) {
      while (k < chunks.size() && chunks[k].end <= pos) ++k;
      if (k < chunks.size() && chunks[k].start <= pos) {
        pos = chunks[k].end;
      } else {
        FUZZ_CHECK(is_space_at(text, pos));
        size_t len = 0;
        utf8::decode(text, pos, len);
        pos += len;
      }
    }
  }

  for (size_t pos = 0; pos < text.size(); pos += 1 + pos / 8) {
    FUZZ_CHECK(pos + chaja::footnote_marker_length(text, pos) <= text.size());
  }
  return 0;
}
