// Incremental NDJSON (newline-delimited JSON) line splitter, for Ollama's streams. Feed it the
// response body in any pieces; it hands back complete lines. Parsing each line as JSON is the
// caller's job.
//
// Lines end in LF; a CR before the LF is dropped (CRLF tolerated). Lines that are empty or only
// JSON white space (space, tab, CR) are skipped. One leading UTF-8 BOM is dropped. No UTF-8
// checking: the JSON parser does that.
// A line longer than max_line_bytes is an error (kTooLarge) instead of unbounded memory. After an
// error the splitter stays failed. Thread safety: none; one splitter per stream.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "index/result.h"

namespace chaja {

class NdjsonSplitter {
 public:
  struct Options {
    size_t max_line_bytes = size_t{4} << 20;
  };

  NdjsonSplitter() : NdjsonSplitter(Options{}) {}
  explicit NdjsonSplitter(Options options);

  // Appends every line this piece completes to `lines` (without its terminator).
  Status feed(std::string_view bytes, std::vector<std::string>& lines);

  // The stream ended. Returns the unterminated last line if there is one that is not blank (a
  // truncated stream, or a server that omits the final newline: Ollama's pre-stream error bodies
  // have none), else nullopt. Call once.
  Result<std::optional<std::string>> finish();

 private:
  Status fail(Error error);
  void emit(std::string_view line, std::vector<std::string>& lines);

  Options options_;
  std::string line_;
  bool first_line_ = true;
  bool finished_ = false;
  std::optional<Error> error_;
};

}  // namespace chaja
