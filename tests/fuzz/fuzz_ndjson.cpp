// fuzz_ndjson: connectors/ndjson.h. The input is a raw NDJSON stream. Invariants:
//   - one piece, data-derived random pieces and byte by byte give the same lines, the same error
//     (kind) and the same unterminated last line;
//   - no line is blank, contains LF, or is longer than max_line_bytes ("x\r\r\n" gives "x\r":
//     only the CR of a CRLF is dropped);
//   - without an error, the lines are exactly the non-blank LF-separated lines of the input (a
//     leading BOM and each line's trailing CR removed): nothing lost, nothing invented.
// Run with a small limit as well as the default one.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "connectors/ndjson.h"
#include "tests/fuzz/fuzz_util.h"

namespace {

using chaja::NdjsonSplitter;

struct Outcome {
  std::vector<std::string> lines;
  std::optional<chaja::ErrorKind> error;
  std::optional<std::string> last;

  bool operator==(const Outcome&) const = default;
};

Outcome run(const std::vector<std::string_view>& pieces, const NdjsonSplitter::Options& options) {
  NdjsonSplitter splitter(options);
  Outcome o;
  for (std::string_view piece : pieces) {
    if (chaja::Status s = splitter.feed(piece, o.lines); !s) {
      o.error = s.error().kind;
      return o;
    }
  }
  chaja::Result<std::optional<std::string>> end = splitter.finish();
  if (end)
    o.last = *end;
  else
    o.error = end.error().kind;
  return o;
}

bool blank(std::string_view s) {
  return s.find_first_not_of(" \t\r") == std::string_view::npos;
}

// The specification, written the obvious (non-incremental) way.
std::vector<std::string> expected_lines(std::string_view data) {
  if (data.starts_with("\xEF\xBB\xBF")) data.remove_prefix(3);
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos <= data.size()) {
    size_t eol = data.find('\n', pos);
    if (eol == std::string_view::npos) eol = data.size();
    std::string_view line = data.substr(pos, eol - pos);
    if (line.ends_with('\r')) line.remove_suffix(1);
    if (!blank(line)) out.emplace_back(line);
    pos = eol + 1;
  }
  return out;
}

void check_options(std::string_view data, const NdjsonSplitter::Options& options) {
  const Outcome whole = run({data}, options);
  for (const std::string& line : whole.lines) {
    FUZZ_CHECK(!blank(line));
    FUZZ_CHECK(line.find('\n') == std::string::npos);
    FUZZ_CHECK(line.size() <= options.max_line_bytes);
  }
  if (whole.last) {
    FUZZ_CHECK(!blank(*whole.last));
    FUZZ_CHECK(whole.last->size() <= options.max_line_bytes);
  }
  if (!whole.error) {
    std::vector<std::string> all = whole.lines;
    if (whole.last) all.push_back(*whole.last);
    FUZZ_CHECK(all == expected_lines(data));
  }
  FUZZ_CHECK(run(chaja::fuzz::split_pieces(data), options) == whole);
  if (data.size() <= 4096) {
    std::vector<std::string_view> bytes;
    for (size_t i = 0; i < data.size(); ++i) bytes.push_back(data.substr(i, 1));
    FUZZ_CHECK(run(bytes, options) == whole);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  check_options(input, NdjsonSplitter::Options{});
  NdjsonSplitter::Options small;
  small.max_line_bytes = 40;
  check_options(input, small);
  return 0;
}
