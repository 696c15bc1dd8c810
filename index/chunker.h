// Splits document text into sentences and packs them into overlapping chunks for retrieval.
// Input must be valid UTF-8 (ingest repairs or rejects it first); offsets are byte offsets into
// the input, always on code point boundaries.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace chaja {

struct ChunkOptions {
  size_t target_chars = 600;   // aim for chunks about this long (code points)
  size_t max_chars = 1000;     // hard ceiling; a longer sentence is cut at a space or a character
  size_t overlap_chars = 150;  // trailing sentences of a chunk repeated at the start of the next
};

struct Chunk {
  size_t start = 0;     // byte offset of the chunk in the document text
  size_t end = 0;       // one past the last byte
  std::string text;     // text[start, end)
  std::string section;  // the Markdown heading the chunk falls under ("" when none)
};

struct Span {
  size_t start = 0;
  size_t end = 0;
};

// Sentence ranges, trimmed of surrounding white space. Ends at . ? ! (followed by space, a
// closing quote or bracket, or the end), at 。？！, and at every line break. Common English
// abbreviations (e.g., Dr., single initials) and decimals (3.5) do not end a sentence.
std::vector<Span> split_sentences(std::string_view text);

// Length of a footnote marker such as "[7]" or "[1, 2]" starting at text[pos], or 0 if none.
size_t footnote_marker_length(std::string_view text, size_t pos);

std::vector<Chunk> chunk_text(std::string_view text, const ChunkOptions& options = {});

}  // namespace chaja
