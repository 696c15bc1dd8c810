#include "connectors/sse.h"

#include <limits>
#include <utility>

namespace chaja {
namespace {

constexpr std::string_view kBom = "\xEF\xBB\xBF";
constexpr std::string_view kReplacementUtf8 = "\xEF\xBF\xBD";  // U+FFFD

// Fast check: true when `s` is valid UTF-8 (RFC 3629).
bool valid_utf8(std::string_view s) {
  size_t i = 0;
  const size_t n = s.size();
  while (i < n) {
    const auto b0 = static_cast<unsigned char>(s[i]);
    if (b0 < 0x80) {
      ++i;
      continue;
    }
    size_t len = 0;
    unsigned char lo = 0x80, hi = 0xBF;
    if (b0 >= 0xC2 && b0 <= 0xDF) {
      len = 2;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
      len = 3;
      if (b0 == 0xE0) lo = 0xA0;
      if (b0 == 0xED) hi = 0x9F;
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
      len = 4;
      if (b0 == 0xF0) lo = 0x90;
      if (b0 == 0xF4) hi = 0x8F;
    } else {
      return false;
    }
    if (i + len > n) return false;
    const auto b1 = static_cast<unsigned char>(s[i + 1]);
    if (b1 < lo || b1 > hi) return false;
    for (size_t k = 2; k < len; ++k)
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    i += len;
  }
  return true;
}

// The WHATWG Encoding standard's UTF-8 decoder, re-encoding as it goes: every maximal subpart of
// an invalid sequence becomes one U+FFFD. Returns how many replacements were made.
size_t decode_utf8_replacing(std::string_view in, std::string& out) {
  out.clear();
  out.reserve(in.size() + 8);
  size_t replaced = 0;
  size_t needed = 0, seen = 0, start = 0;
  unsigned char lo = 0x80, hi = 0xBF;
  size_t i = 0;
  while (i < in.size()) {
    const auto b = static_cast<unsigned char>(in[i]);
    if (needed == 0) {
      if (b < 0x80) {
        out.push_back(static_cast<char>(b));
      } else if (b >= 0xC2 && b <= 0xDF) {
        needed = 1;
      } else if (b >= 0xE0 && b <= 0xEF) {
        if (b == 0xE0) lo = 0xA0;
        if (b == 0xED) hi = 0x9F;
        needed = 2;
      } else if (b >= 0xF0 && b <= 0xF4) {
        if (b == 0xF0) lo = 0x90;
        if (b == 0xF4) hi = 0x8F;
        needed = 3;
      } else {
        out.append(kReplacementUtf8);
        ++replaced;
      }
      start = i;
      seen = 0;
      ++i;
      continue;
    }
    if (b < lo || b > hi) {
      // The sequence so far is a maximal subpart: replace it and look at this byte afresh.
      needed = seen = 0;
      lo = 0x80;
      hi = 0xBF;
      out.append(kReplacementUtf8);
      ++replaced;
      continue;
    }
    lo = 0x80;
    hi = 0xBF;
    ++seen;
    ++i;
    if (seen == needed) {
      out.append(in.substr(start, needed + 1));
      needed = seen = 0;
    }
  }
  if (needed != 0) {
    out.append(kReplacementUtf8);
    ++replaced;
  }
  return replaced;
}

bool parse_retry(std::string_view value, uint64_t& ms) {
  if (value.empty()) return false;
  uint64_t v = 0;
  for (char c : value) {
    if (c < '0' || c > '9') return false;
    const auto digit = static_cast<uint64_t>(c - '0');
    if (v > (std::numeric_limits<uint64_t>::max() - digit) / 10) {
      v = std::numeric_limits<uint64_t>::max();  // saturate: absurd but all digits
    } else {
      v = v * 10 + digit;
    }
  }
  ms = v;
  return true;
}

}  // namespace

SseParser::SseParser(Options options) : options_(options) {}

Status SseParser::fail(Error error) {
  error_ = std::move(error);
  return *error_;
}

Status SseParser::append_to_line(std::string_view piece) {
  if (line_.size() + piece.size() > options_.max_line_bytes)
    return fail(make_error(
        ErrorKind::kTooLarge,
        "SSE stream: a line is longer than " + std::to_string(options_.max_line_bytes) + " bytes"));
  line_.append(piece);
  return {};
}

Status SseParser::feed(std::string_view bytes, std::vector<SseEvent>& out) {
  if (error_) return *error_;
  if (finished_) return fail(make_error(ErrorKind::kInternal, "SSE stream: feed() after finish()"));
  size_t i = 0;
  const size_t n = bytes.size();
  if (after_cr_ && n > 0) {
    if (bytes[0] == '\n') i = 1;  // the LF of a CRLF split across two pieces
    after_cr_ = false;
  }
  while (i < n) {
    const size_t eol = bytes.find_first_of("\r\n", i);
    if (eol == std::string_view::npos) {
      if (Status s = append_to_line(bytes.substr(i)); !s) return s;
      break;
    }
    const std::string_view piece = bytes.substr(i, eol - i);
    Status s;
    if (line_.empty()) {
      if (piece.size() > options_.max_line_bytes) {
        s = append_to_line(piece);  // fails with the limit error
      } else {
        s = process_line(piece, out);
      }
    } else {
      s = append_to_line(piece);
      if (s) s = process_line(line_, out);
      line_.clear();
    }
    if (!s) return s;
    i = eol + 1;
    if (bytes[eol] == '\r') {
      if (i < n) {
        if (bytes[i] == '\n') ++i;
      } else {
        after_cr_ = true;
      }
    }
  }
  return {};
}

Status SseParser::process_line(std::string_view raw, std::vector<SseEvent>& out) {
  if (first_line_) {
    first_line_ = false;
    if (raw.starts_with(kBom)) raw.remove_prefix(kBom.size());
  }
  std::string_view line = raw;
  if (!valid_utf8(raw)) {
    if (options_.reject_invalid_utf8)
      return fail(make_error(ErrorKind::kInvalidInput, "SSE stream: invalid UTF-8"));
    invalid_sequences_ += decode_utf8_replacing(raw, scratch_);
    line = scratch_;
  }

  if (line.empty()) {  // dispatch
    pending_fields_ = false;
    if (data_.empty()) {
      type_.clear();
      return {};
    }
    data_.pop_back();  // the "\n" after the last data line
    SseEvent event;
    if (!type_.empty()) event.type = std::move(type_);
    event.data = std::move(data_);
    event.id = last_event_id_;
    out.push_back(std::move(event));
    data_.clear();
    type_.clear();
    return {};
  }
  if (line[0] == ':') return {};  // comment

  std::string_view field = line, value;
  if (const size_t colon = line.find(':'); colon != std::string_view::npos) {
    field = line.substr(0, colon);
    value = line.substr(colon + 1);
    if (value.starts_with(' ')) value.remove_prefix(1);
  }
  if (field == "data") {
    if (data_.size() + value.size() + 1 > options_.max_event_bytes)
      return fail(make_error(ErrorKind::kTooLarge, "SSE stream: an event's data is longer than " +
                                                       std::to_string(options_.max_event_bytes) +
                                                       " bytes"));
    data_.append(value);
    data_.push_back('\n');
    pending_fields_ = true;
  } else if (field == "event") {
    type_.assign(value);
    pending_fields_ = true;
  } else if (field == "id") {
    if (value.find('\0') == std::string_view::npos) last_event_id_.assign(value);
    pending_fields_ = true;
  } else if (field == "retry") {
    uint64_t ms = 0;
    if (parse_retry(value, ms)) retry_ms_ = ms;
  }
  return {};
}

Result<SseEnd> SseParser::finish() {
  if (error_) return *error_;
  if (finished_)
    return fail(make_error(ErrorKind::kInternal, "SSE stream: finish() twice")).error();
  finished_ = true;
  SseEnd end;
  std::string_view rest = line_;
  if (first_line_ && rest.starts_with(kBom)) rest.remove_prefix(kBom.size());
  if (!rest.empty()) {
    // An unterminated last line: take its field into the pending event, never dispatch.
    end.truncated = true;
    first_line_ = false;
    std::vector<SseEvent> none;
    if (Status s = process_line(rest, none); !s) return s.error();
  }
  line_.clear();
  if (pending_fields_) end.truncated = true;
  if (!data_.empty()) {
    SseEvent event;
    if (!type_.empty()) event.type = type_;
    event.data = data_.substr(0, data_.size() - 1);
    event.id = last_event_id_;
    end.pending = std::move(event);
  }
  return end;
}

}  // namespace chaja
