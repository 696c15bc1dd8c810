// fuzz_sse: connectors/sse.h. The input is a raw event stream. Invariants:
//   - feeding it in one piece, in data-derived random pieces and byte by byte gives the same
//     events, the same error (kind) and the same finish() result;
//   - every string handed out is valid UTF-8, an id never contains NUL, data stays within
//     max_event_bytes;
//   - with reject_invalid_utf8 the parser fails exactly when the replacing parser replaced
//     something, and the events it gave before failing are a prefix of the replacing parser's.
// Run with small limits as well as the defaults, so that the limit paths are reached.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "connectors/sse.h"
#include "index/utf8.h"
#include "tests/fuzz/fuzz_util.h"

namespace {

using chaja::SseEvent;
using chaja::SseParser;

struct Outcome {
  std::vector<SseEvent> events;
  std::optional<chaja::ErrorKind> error;  // from feed() or finish()
  bool truncated = false;
  std::optional<SseEvent> pending;
  size_t invalid = 0;
  std::optional<uint64_t> retry;
  std::string last_id;

  bool operator==(const Outcome&) const = default;
};

Outcome run(const std::vector<std::string_view>& pieces, const SseParser::Options& options) {
  SseParser parser(options);
  Outcome o;
  for (std::string_view piece : pieces) {
    if (chaja::Status s = parser.feed(piece, o.events); !s) {
      o.error = s.error().kind;
      // Stays failed: the same error again, nothing more appended.
      const size_t before = o.events.size();
      chaja::Status again = parser.feed("data: x\n\n", o.events);
      FUZZ_CHECK(!again && again.error().kind == s.error().kind);
      FUZZ_CHECK(o.events.size() == before);
      break;
    }
  }
  if (!o.error) {
    chaja::Result<chaja::SseEnd> end = parser.finish();
    if (end) {
      o.truncated = end->truncated;
      o.pending = end->pending;
    } else {
      o.error = end.error().kind;
    }
  }
  o.invalid = parser.invalid_sequences();
  o.retry = parser.retry_ms();
  o.last_id = parser.last_event_id();
  return o;
}

void check_event(const SseEvent& e, const SseParser::Options& options) {
  FUZZ_CHECK(chaja::utf8::is_valid(e.type));
  FUZZ_CHECK(chaja::utf8::is_valid(e.data));
  FUZZ_CHECK(chaja::utf8::is_valid(e.id));
  FUZZ_CHECK(!e.type.empty());
  FUZZ_CHECK(e.id.find('\0') == std::string::npos);
  FUZZ_CHECK(e.data.size() < options.max_event_bytes);
}

void check_options(std::string_view data, const SseParser::Options& options) {
  const Outcome whole = run({data}, options);
  for (const SseEvent& e : whole.events) check_event(e, options);
  if (whole.pending) check_event(*whole.pending, options);
  FUZZ_CHECK(chaja::utf8::is_valid(whole.last_id));
  if (!options.reject_invalid_utf8 && !whole.error) FUZZ_CHECK(!whole.pending || whole.truncated);

  FUZZ_CHECK(run(chaja::fuzz::split_pieces(data), options) == whole);
  if (data.size() <= 4096) {
    std::vector<std::string_view> bytes;
    for (size_t i = 0; i < data.size(); ++i) bytes.push_back(data.substr(i, 1));
    FUZZ_CHECK(run(bytes, options) == whole);
  }

  if (!options.reject_invalid_utf8) {
    SseParser::Options strict = options;
    strict.reject_invalid_utf8 = true;
    const Outcome s = run({data}, strict);
    if (!whole.error) {
      // Without a limit error first, strict mode fails exactly when something was replaced.
      FUZZ_CHECK((whole.invalid > 0) == (s.error == chaja::ErrorKind::kInvalidInput));
      if (whole.invalid == 0) FUZZ_CHECK(s == whole);
    }
    FUZZ_CHECK(s.events.size() <= whole.events.size());
    for (size_t i = 0; i < s.events.size(); ++i) FUZZ_CHECK(s.events[i] == whole.events[i]);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  check_options(input, SseParser::Options{});
  SseParser::Options small;
  small.max_line_bytes = 48;
  small.max_event_bytes = 96;
  check_options(input, small);
  return 0;
}
