// Helpers for the provider codec tests: recorded .http files, and a stream fed through the real
// SseParser / NdjsonSplitter in arbitrary pieces and then through a codec's parse_stream, the way
// the transport does it (stop at the codec's end marker or at its first error).
#pragma once

#include <catch2/catch.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "connectors/codec.h"
#include "connectors/ndjson.h"
#include "connectors/sse.h"
#include "tests/connectors/stream_test_util.h"

namespace chaja::test {

// A recorded HTTP message: the head (request or status line and headers) and the body, split at
// the first empty line (fixtures use LF line endings).
struct HttpFile {
  std::string start_line;
  HttpHeaders headers;
  std::string body;
};

inline HttpFile read_http_fixture(const std::string& relative) {
  const std::string text = read_fixture(relative);
  HttpFile f;
  const size_t blank = text.find("\n\n");
  const std::string head = text.substr(0, blank);
  f.body = blank == std::string::npos ? "" : text.substr(blank + 2);
  size_t pos = 0;
  bool first = true;
  while (pos <= head.size()) {
    size_t eol = head.find('\n', pos);
    if (eol == std::string::npos) eol = head.size();
    const std::string line = head.substr(pos, eol - pos);
    pos = eol + 1;
    if (first) {
      f.start_line = line;
      first = false;
      continue;
    }
    const size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    size_t v = colon + 1;
    while (v < line.size() && line[v] == ' ') ++v;
    f.headers.add(line.substr(0, colon), line.substr(v));
  }
  return f;
}

// What a stream amounts to once every message went through the codec.
struct Assembled {
  std::string text;
  std::string finish;
  Usage usage;
  bool done = false;
  std::optional<Error> error;
  size_t text_events = 0;
  size_t finish_events = 0;

  bool operator==(const Assembled& o) const {
    const bool same_error =
        error.has_value() == o.error.has_value() &&
        (!error || (error->kind == o.error->kind && error->message == o.error->message));
    return text == o.text && finish == o.finish && usage.input_tokens == o.usage.input_tokens &&
           usage.output_tokens == o.usage.output_tokens && done == o.done && same_error &&
           text_events == o.text_events && finish_events == o.finish_events;
  }
};

// Applies one message's events; returns false once the stream is over (done or error).
inline bool apply(const ChatCodec& codec, std::string_view type, std::string_view data,
                  Assembled& a) {
  if (a.done || a.error) return false;
  std::vector<ChatEvent> events;
  const Status s = codec.parse_stream(type, data, events, a.done);
  if (!s.ok()) {
    a.error = s.error();
    return false;
  }
  for (const ChatEvent& e : events) {
    switch (e.kind) {
      case ChatEvent::Kind::kText:
        a.text += e.text;
        ++a.text_events;
        break;
      case ChatEvent::Kind::kFinish:
        a.finish = e.finish_reason;
        ++a.finish_events;
        break;
      case ChatEvent::Kind::kUsage:
        if (e.usage.input_tokens >= 0) a.usage.input_tokens = e.usage.input_tokens;
        if (e.usage.output_tokens >= 0) a.usage.output_tokens = e.usage.output_tokens;
        break;
    }
  }
  return !a.done;
}

inline Assembled assemble_sse(const ChatCodec& codec, const std::vector<std::string_view>& pieces) {
  SseParser parser;
  Assembled a;
  for (std::string_view piece : pieces) {
    std::vector<SseEvent> events;
    REQUIRE(parser.feed(piece, events).ok());
    for (const SseEvent& e : events)
      if (!apply(codec, e.type, e.data, a)) break;
  }
  REQUIRE(parser.finish().ok());
  return a;
}

inline Assembled assemble_ndjson(const ChatCodec& codec,
                                 const std::vector<std::string_view>& pieces) {
  NdjsonSplitter splitter;
  Assembled a;
  for (std::string_view piece : pieces) {
    std::vector<std::string> lines;
    REQUIRE(splitter.feed(piece, lines).ok());
    for (const std::string& line : lines)
      if (!apply(codec, "", line, a)) break;
  }
  auto tail = splitter.finish();
  REQUIRE(tail.ok());
  if (*tail) apply(codec, "", **tail, a);
  return a;
}

// The stream whole, cut in two at every offset, in three around every offset, byte by byte and
// at random cuts: every way must assemble to the same result, which is returned.
template <typename AssembleFn>
Assembled assemble_every_way(std::string_view stream, AssembleFn assemble) {
  const Assembled whole = assemble(std::vector<std::string_view>{stream});
  for (size_t cut = 0; cut <= stream.size(); ++cut) {
    if (!(assemble(split_at(stream, {cut})) == whole)) FAIL("different result split at " << cut);
    if (cut + 1 <= stream.size() && !(assemble(split_at(stream, {cut, cut + 1})) == whole))
      FAIL("different result split at " << cut << ", " << cut + 1);
  }
  CHECK(assemble(bytewise(stream)) == whole);
  Rng rng(stream.size() + 7);
  for (int round = 0; round < 10; ++round)
    if (!(assemble(split_at(stream, random_cuts(stream.size(), 6, rng))) == whole))
      FAIL("different result with random cuts, round " << round);
  return whole;
}

inline Assembled sse_every_way(const ChatCodec& codec, std::string_view stream) {
  return assemble_every_way(stream, [&](const std::vector<std::string_view>& pieces) {
    return assemble_sse(codec, pieces);
  });
}

inline Assembled ndjson_every_way(const ChatCodec& codec, std::string_view stream) {
  return assemble_every_way(stream, [&](const std::vector<std::string_view>& pieces) {
    return assemble_ndjson(codec, pieces);
  });
}

inline nlohmann::json as_json(std::string_view text) {
  return nlohmann::json::parse(text.begin(), text.end());
}

// Hostile payloads every codec must survive: none is a JSON object, so each must give kUpstream,
// never crash or throw.
inline std::vector<std::string> hostile_payloads() {
  std::vector<std::string> v = {
      "",
      " ",
      "{",
      "}",
      "null",
      "[]",
      "42",
      "\"text\"",
      "{\"a\":}",
      "{\"a\":1,}",
      "{\"a\":1} trailing",
      "{'single':'quotes'}",
      "{\"a\":\"\xff\xfe\"}",      // invalid UTF-8 inside a string
      "{\"a\":\"\xc3\"}",          // truncated sequence
      "{\"a\":\"\xed\xa0\x80\"}",  // surrogate encoded in UTF-8
      "{\"a\":\"\\ud800\"}",       // lone surrogate escape
      "{\"a\":1e400}",             // float overflow
      "{\"a\":-1e400}",            //
      "123456789012345678901234567890",
      "{\"a\":NaN}",
      "{\"a\":Infinity}",
      std::string("{\"a\":\"x\0y\"}", 11),  // raw NUL inside a string
      std::string(1, '\0'),
  };
  v.push_back(std::string(100000, '[') + std::string(100000, ']'));  // deep nesting
  v.push_back("{\"a\":\"" + std::string(1 << 20, 'x'));              // large and unterminated
  return v;
}

}  // namespace chaja::test
