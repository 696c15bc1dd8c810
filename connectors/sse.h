// Incremental Server-Sent Events parser (WHATWG HTML, "Server-sent events", event stream
// interpretation). Feed it the response body in whatever pieces the network delivers: chunk
// boundaries may fall anywhere, including inside a CRLF pair or a UTF-8 sequence, and the events
// come out the same.
//
// What it does, per the spec:
//   - lines end in LF, CR or CRLF; one leading UTF-8 BOM is dropped;
//   - lines starting with ':' are comments (keep-alives) and ignored;
//   - "field:value" with one optional space after the colon removed; a line without a colon is a
//     field with an empty value; unknown fields are ignored;
//   - `data` lines are joined with "\n"; `event` sets the type (default "message"); `id` sets the
//     last event id (ignored when it contains NUL) and persists across events; `retry` (ASCII
//     digits only) sets retry_ms();
//   - a blank line dispatches the event; an event whose data buffer is empty (no `data` line at
//     all) is not dispatched, and its type is forgotten.
// Text: the stream is decoded as UTF-8 the way the spec's decoder does it: every invalid sequence
// becomes U+FFFD (maximal subpart rule), so every string handed out is valid UTF-8. NUL bytes are
// valid UTF-8 and pass through in data. Options::reject_invalid_utf8 turns replacement into an
// error instead; invalid_sequences() counts the replacements either way.
// Limits: a line longer than max_line_bytes, or an event whose data grows past max_event_bytes,
// is an error (kTooLarge) rather than unbounded memory. A connector reading an upstream stream
// should report such errors as an upstream failure.
// After any error the parser stays failed: feed() and finish() return the same error.
// Thread safety: none; one parser per stream.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "index/result.h"

namespace chaja {

struct SseEvent {
  std::string type = "message";  // the `event` field, or "message"
  std::string data;              // `data` lines joined with "\n" (no trailing newline)
  std::string id;                // the last event id at dispatch ("" if none was ever set)

  bool operator==(const SseEvent&) const = default;
};

// What finish() reports about the end of the stream.
struct SseEnd {
  // True when the stream stopped mid-event: an unterminated last line, or fields that a blank line
  // never dispatched. Comments and blank lines after the last event do not count.
  bool truncated = false;
  // The event the stream was building, as if a blank line had followed (the spec discards it;
  // many clients flush it, e.g. a final `data: [DONE]` without its blank line). Empty when that
  // event would not have been dispatched (no data).
  std::optional<SseEvent> pending;
};

class SseParser {
 public:
  struct Options {
    size_t max_line_bytes = size_t{4} << 20;   // one line, before its terminator
    size_t max_event_bytes = size_t{4} << 20;  // the joined data of one event
    bool reject_invalid_utf8 = false;          // false: U+FFFD; true: kInvalidInput error
  };

  SseParser() : SseParser(Options{}) {}
  explicit SseParser(Options options);

  // Parses the next piece of the stream and appends every event it completes to `out`.
  Status feed(std::string_view bytes, std::vector<SseEvent>& out);

  // The stream ended. Processes nothing further; says whether it ended mid-event. Call once.
  Result<SseEnd> finish();

  // The reconnection time from the last valid `retry` field, in milliseconds.
  std::optional<uint64_t> retry_ms() const { return retry_ms_; }
  const std::string& last_event_id() const { return last_event_id_; }
  // Invalid UTF-8 sequences seen so far (each replaced by one U+FFFD).
  size_t invalid_sequences() const { return invalid_sequences_; }

 private:
  Status fail(Error error);
  Status process_line(std::string_view line, std::vector<SseEvent>& out);
  Status append_to_line(std::string_view piece);

  Options options_;
  std::string line_;                  // the current, unterminated line (raw bytes)
  std::string data_;                  // data buffer (each data line + "\n")
  std::string type_;                  // event type buffer
  std::string last_event_id_;         // the spec's last event ID buffer
  std::string scratch_;               // decoded line, reused
  std::optional<uint64_t> retry_ms_;  //
  bool after_cr_ = false;             // the last byte seen was CR: an LF next is part of it
  bool first_line_ = true;            // the BOM check is still due
  bool pending_fields_ = false;       // fields seen since the last dispatch
  bool finished_ = false;
  size_t invalid_sequences_ = 0;
  std::optional<Error> error_;
};

}  // namespace chaja
