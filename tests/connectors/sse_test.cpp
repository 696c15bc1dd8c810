#include "connectors/sse.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "tests/connectors/stream_test_util.h"

using namespace chaja;
using chaja::test::bytewise;
using chaja::test::read_fixture;
using chaja::test::split_at;

namespace {

struct Parsed {
  std::vector<SseEvent> events;
  SseEnd end;
};

Parsed parse_pieces(const std::vector<std::string_view>& pieces, SseParser::Options options = {}) {
  SseParser parser(options);
  Parsed p;
  for (std::string_view piece : pieces) {
    const Status s = parser.feed(piece, p.events);
    REQUIRE(s.ok());
  }
  auto end = parser.finish();
  REQUIRE(end.ok());
  p.end = *end;
  return p;
}

Parsed parse(std::string_view stream) {
  return parse_pieces({stream});
}

bool same(const Parsed& a, const Parsed& b) {
  return a.events == b.events && a.end.truncated == b.end.truncated &&
         a.end.pending == b.end.pending;
}

// Feeds the stream whole, split in two at every offset, split in three around every offset, and
// byte by byte; every way must give what the whole stream gives.
Parsed parse_every_way(std::string_view stream) {
  const Parsed whole = parse(stream);
  for (size_t cut = 0; cut <= stream.size(); ++cut) {
    const Parsed two = parse_pieces(split_at(stream, {cut}));
    if (!same(two, whole)) FAIL("different events when split at byte " << cut);
    if (cut + 1 <= stream.size()) {
      const Parsed three = parse_pieces(split_at(stream, {cut, cut + 1}));
      if (!same(three, whole))
        FAIL("different events when split at bytes " << cut << ", " << cut + 1);
    }
  }
  CHECK(same(parse_pieces(bytewise(stream)), whole));
  test::Rng rng(stream.size());
  for (int round = 0; round < 20; ++round) {
    const Parsed random = parse_pieces(split_at(stream, test::random_cuts(stream.size(), 8, rng)));
    if (!same(random, whole)) FAIL("different events with random cuts, round " << round);
  }
  return whole;
}

SseEvent ev(std::string type, std::string data, std::string id = "") {
  SseEvent e;
  e.type = std::move(type);
  e.data = std::move(data);
  e.id = std::move(id);
  return e;
}

std::string replace_all(std::string s, std::string_view from, std::string_view to) {
  for (size_t pos = 0; (pos = s.find(from, pos)) != std::string::npos; pos += to.size())
    s.replace(pos, from.size(), to);
  return s;
}

bool valid_utf8(std::string_view s) {
  try {
    (void)nlohmann::json(std::string(s)).dump();  // throws type_error 316 on invalid UTF-8
    return true;
  } catch (const nlohmann::json::exception&) {
    return false;
  }
}

}  // namespace

TEST_CASE("SSE edge-case fixtures, at every split point", "[sse]") {
  SECTION("named event") {
    const Parsed p = parse_every_way(read_fixture("sse/basic_named_event.sse"));
    CHECK(p.events == std::vector<SseEvent>{ev("completion", R"({"foo":true})")});
    CHECK_FALSE(p.end.truncated);
    CHECK_FALSE(p.end.pending);
  }
  SECTION("data without event is a message") {
    const Parsed p = parse_every_way(read_fixture("sse/data_without_event.sse"));
    CHECK(p.events == std::vector<SseEvent>{ev("message", R"({"foo":true})")});
  }
  SECTION("events without data are not dispatched (WHATWG; the SDKs differ)") {
    const Parsed p = parse_every_way(read_fixture("sse/events_without_data.sse"));
    CHECK(p.events.empty());
    CHECK_FALSE(p.end.truncated);
  }
  SECTION("multi-line data joins with LF") {
    const Parsed p = parse_every_way(read_fixture("sse/multi_line_data.sse"));
    CHECK(p.events == std::vector<SseEvent>{ev("ping", "{\n\"foo\":\ntrue}")});
    CHECK_FALSE(p.end.truncated);
  }
  SECTION("empty data lines contribute empty lines") {
    const Parsed p = parse_every_way(read_fixture("sse/multi_line_data_with_empty_lines.sse"));
    CHECK(p.events == std::vector<SseEvent>{ev("ping", "{\n\"foo\":\n\n\ntrue}")});
  }
  SECTION("escaped newlines in JSON are text") {
    const Parsed p = parse_every_way(read_fixture("sse/escaped_newlines_in_json.sse"));
    CHECK(p.events == std::vector<SseEvent>{ev("ping", R"({"foo": "my long\n\ncontent"})")});
  }
  SECTION("U+2028 inside data is not a line break") {
    const Parsed p = parse_every_way(read_fixture("sse/unicode_line_separator_in_json.sse"));
    CHECK(p.events == std::vector<SseEvent>{ev("message", R"({"content":" culpa"})"),
                                            ev("message", "{\"content\":\" \xE2\x80\xA8\"}"),
                                            ev("message", R"({"content":"foo"})")});
  }
  SECTION("multibyte UTF-8 split across chunks, as the SDK tests cut it") {
    const std::string stream = read_fixture("sse/multibyte_utf8_split_across_chunks.sse");
    const Parsed whole = parse_every_way(stream);
    const std::string text = "\xD0\xB8\xD0\xB7\xD0\xB2\xD0\xB5\xD1\x81\xD1\x82\xD0\xBD\xD0\xB8";
    CHECK(text == "известни");
    CHECK(whole.events == std::vector<SseEvent>{ev("message", "{\"content\":\"" + text + "\"}")});
    const Parsed sdk_cuts =
        parse_pieces({"data: {\"content\":\"", "\xD0", "\xB8\xD0\xB7\xD0",
                      "\xB2\xD0\xB5\xD1\x81\xD1\x82\xD0\xBD\xD0\xB8", "\"}\n", "\n"});
    CHECK(same(sdk_cuts, whole));
  }
  SECTION("comment keep-alives are ignored") {
    const Parsed p = parse_every_way(read_fixture("sse/comment_keepalive_assembled.sse"));
    REQUIRE(p.events.size() == 5);
    CHECK(p.events.back().data == "[DONE]");
    for (size_t i = 0; i + 1 < p.events.size(); ++i) {
      CHECK(p.events[i].type == "message");
      CHECK(nlohmann::json::parse(p.events[i].data)["object"] == "chat.completion.chunk");
    }
  }
  SECTION("CRLF endings give the same events as LF, and so does lone CR") {
    const std::string crlf = read_fixture("sse/crlf_line_endings_derived.sse");
    const Parsed p = parse_every_way(crlf);
    REQUIRE(p.events.size() == 5);
    CHECK(p.events.back().data == "[DONE]");
    CHECK(same(parse_every_way(replace_all(crlf, "\r\n", "\n")), p));
    CHECK(same(parse_every_way(replace_all(crlf, "\r\n", "\r")), p));
    // Multi-line events, where a CRLF split between pieces must not end the event early.
    const std::string lf = read_fixture("sse/multi_line_data_with_empty_lines.sse");
    const Parsed lf_events = parse_every_way(lf);
    CHECK(same(parse_every_way(replace_all(lf, "\n", "\r\n")), lf_events));
    CHECK(same(parse_every_way(replace_all(lf, "\n", "\r")), lf_events));
    // Mixed endings in one stream.
    CHECK(parse("data: a\rdata: b\r\ndata: c\n\r\n").events ==
          std::vector<SseEvent>{ev("message", "a\nb\nc")});
  }
  SECTION("a stream that ends without the final blank line is truncated, its event pending") {
    const Parsed p = parse_every_way(read_fixture("sse/eof_without_final_blank_line_derived.sse"));
    CHECK(p.events.size() == 4);
    CHECK(p.end.truncated);
    REQUIRE(p.end.pending);
    CHECK(p.end.pending->data == "[DONE]");
    CHECK(p.end.pending->type == "message");
  }
}

TEST_CASE("SSE provider streams, at every split point", "[sse]") {
  SECTION("OpenAI chat with include_usage") {
    const Parsed p = parse_every_way(read_fixture("openai/chat_stream_include_usage.sse"));
    REQUIRE(p.events.size() == 34);
    CHECK(p.events.back().data == "[DONE]");
    const auto usage = nlohmann::json::parse(p.events[p.events.size() - 2].data);
    CHECK(usage["choices"].empty());
    CHECK(usage["usage"]["total_tokens"].get<int>() > 0);
    std::string text;
    for (size_t i = 0; i + 1 < p.events.size(); ++i) {
      const auto chunk = nlohmann::json::parse(p.events[i].data);
      if (!chunk["choices"].empty() && chunk["choices"][0]["delta"].contains("content"))
        text += chunk["choices"][0]["delta"]["content"].get<std::string>();
    }
    CHECK(text.starts_with("I'm unable to provide"));
    CHECK_FALSE(p.end.truncated);
  }
  SECTION("OpenAI parallel tool calls") {
    const Parsed p = parse_every_way(read_fixture("openai/chat_stream_parallel_tool_calls.sse"));
    CHECK(p.events.size() == 26);
    CHECK(p.events.back().data == "[DONE]");
  }
  SECTION("Anthropic named events") {
    const Parsed p = parse_every_way(read_fixture("anthropic/stream_basic.sse"));
    std::vector<std::string> types;
    std::string text;
    for (const SseEvent& e : p.events) {
      types.push_back(e.type);
      const auto j = nlohmann::json::parse(e.data);
      CHECK(j["type"] == e.type);
      if (e.type == "content_block_delta") text += j["delta"]["text"].get<std::string>();
    }
    CHECK(types == std::vector<std::string>{"message_start", "content_block_start", "ping",
                                            "content_block_delta", "content_block_delta",
                                            "content_block_delta", "content_block_stop",
                                            "message_delta", "message_stop"});
    CHECK(text == "Hello there!");
  }
  SECTION("Anthropic tool use") {
    const Parsed p = parse_every_way(read_fixture("anthropic/stream_tool_use.sse"));
    CHECK(p.events.size() == 15);
    CHECK(p.events.back().type == "message_stop");
  }
  SECTION("Mistral") {
    const Parsed p = parse_every_way(read_fixture("mistral/chat_stream.sse"));
    CHECK(p.events.size() == 10);
    CHECK(p.events.back().data == "[DONE]");
  }
  SECTION("CLOVA: per-event ids, named events, Korean text") {
    const Parsed p = parse_every_way(read_fixture("clova/v3_chat_stream.sse"));
    REQUIRE(p.events.size() == 3);
    CHECK(p.events[0].type == "token");
    CHECK(p.events[0].id == "aabdfe-dfgwr-edf-hpqwd-f3asd-g");
    CHECK(p.events[2].type == "result");
    CHECK(p.events[2].id == "aabdfe-dfgwr-edf-hpqwd-f1asd-g");
    CHECK(nlohmann::json::parse(p.events[0].data)["message"]["content"] == "안");
  }
  SECTION("llama.cpp's legacy `error:` field is an unknown field: nothing dispatched") {
    const Parsed p = parse_every_way(read_fixture("llamacpp/chat_stream_error_legacy_field.sse"));
    CHECK(p.events.empty());
    CHECK_FALSE(p.end.truncated);
  }
}

TEST_CASE("SSE field parsing follows the spec", "[sse]") {
  SECTION("one optional space after the colon is removed, no more") {
    CHECK(parse("data:x\n\ndata: x\n\ndata:  x\n\n").events ==
          std::vector<SseEvent>{ev("message", "x"), ev("message", "x"), ev("message", " x")});
  }
  SECTION("a line without a colon is a field with an empty value") {
    CHECK(parse("data\n\n").events == std::vector<SseEvent>{ev("message", "")});
    CHECK(parse("data\ndata\n\n").events == std::vector<SseEvent>{ev("message", "\n")});
  }
  SECTION("colons after the first stay in the value") {
    CHECK(parse("data: a: b:c\n\n").events == std::vector<SseEvent>{ev("message", "a: b:c")});
  }
  SECTION("unknown fields and field names with spaces are ignored") {
    CHECK(parse("foo: bar\ndata : x\nDATA: y\n\n").events.empty());
  }
  SECTION("the event type resets after each dispatch, also when nothing is dispatched") {
    CHECK(parse("event: a\n\ndata: 1\n\nevent: b\ndata: 2\n\ndata: 3\n\n").events ==
          std::vector<SseEvent>{ev("message", "1"), ev("b", "2"), ev("message", "3")});
  }
  SECTION("id persists across events; an id with NUL is ignored; an empty id resets it") {
    using namespace std::string_literals;
    const std::string s = "id: 1\ndata: a\n\ndata: b\n\nid: 2\0x\ndata: c\n\nid\ndata: d\n\n"s;
    SseParser parser;
    std::vector<SseEvent> out;
    REQUIRE(parser.feed(s, out).ok());
    CHECK(out == std::vector<SseEvent>{ev("message", "a", "1"), ev("message", "b", "1"),
                                       ev("message", "c", "1"), ev("message", "d", "")});
    CHECK(parser.last_event_id().empty());
  }
  SECTION("retry takes ASCII digits only") {
    SseParser parser;
    std::vector<SseEvent> out;
    REQUIRE(parser.feed("retry: 1500\n\n", out).ok());
    CHECK(parser.retry_ms() == 1500u);
    REQUIRE(parser.feed("retry: 12a\nretry: -5\nretry:\nretry: 1.5\n\n", out).ok());
    CHECK(parser.retry_ms() == 1500u);
    REQUIRE(parser.feed("retry:99999999999999999999999\n", out).ok());
    CHECK(parser.retry_ms().has_value());
    CHECK(out.empty());
  }
  SECTION("a leading BOM is dropped once, wherever the chunks split it") {
    const std::string s =
        "\xEF\xBB\xBF"
        "data: x\n\n\xEF\xBB\xBF"
        "data: y\n\n";
    const Parsed p = parse_every_way(s);
    // The second BOM is part of a field name, so that line is an unknown field.
    CHECK(p.events == std::vector<SseEvent>{ev("message", "x")});
    CHECK(parse_every_way("\xEF\xBB\xBF").events.empty());
    CHECK_FALSE(parse("\xEF\xBB\xBF").end.truncated);
    CHECK(parse_every_way("\xEF\xBB\xBF\n").events.empty());
  }
  SECTION("CRLF split across feeds is one line ending, not two") {
    SseParser parser;
    std::vector<SseEvent> out;
    REQUIRE(parser.feed("data: a\r", out).ok());
    REQUIRE(parser.feed("", out).ok());
    REQUIRE(parser.feed("\n", out).ok());
    CHECK(out.empty());  // had the LF been a second line ending, `a` would be dispatched
    REQUIRE(parser.feed("\r\n", out).ok());
    CHECK(out == std::vector<SseEvent>{ev("message", "a")});
  }
}

TEST_CASE("SSE finish() tells a clean end from a truncated one", "[sse]") {
  CHECK_FALSE(parse("").end.truncated);
  CHECK_FALSE(parse("data: a\n\n").end.truncated);
  CHECK_FALSE(parse("data: a\n\n: keep-alive\n\n\n").end.truncated);
  CHECK_FALSE(parse("data: a\r\n\r").end.truncated);

  const Parsed partial_line = parse("data: a\n\ndata: b");
  CHECK(partial_line.end.truncated);
  REQUIRE(partial_line.end.pending);
  CHECK(partial_line.end.pending->data == "b");

  const Parsed fields_only = parse("data: a\n\nevent: x\n");
  CHECK(fields_only.end.truncated);
  CHECK_FALSE(fields_only.end.pending);  // no data: it would not have been dispatched

  const Parsed two_lines = parse("event: e\ndata: 1\ndata: 2\n");
  CHECK(two_lines.end.truncated);
  REQUIRE(two_lines.end.pending);
  CHECK(*two_lines.end.pending == ev("e", "1\n2"));

  SseParser parser;
  std::vector<SseEvent> out;
  REQUIRE(parser.finish().ok());
  CHECK(parser.feed("data: late\n\n", out).error().kind == ErrorKind::kInternal);
}

TEST_CASE("SSE hostile input: limits, garbage, NUL, invalid UTF-8", "[sse]") {
  SECTION("a line over the limit is an error, and the parser stays failed") {
    SseParser::Options o;
    o.max_line_bytes = 1024;
    SseParser parser(o);
    std::vector<SseEvent> out;
    REQUIRE(parser.feed("data: ok\n\n", out).ok());
    const std::string chunk(100, 'x');
    Status s;
    size_t fed = 0;
    while (s.ok() && fed < 4096) {
      s = parser.feed(chunk, out);
      fed += chunk.size();
    }
    REQUIRE_FALSE(s.ok());
    CHECK(s.error().kind == ErrorKind::kTooLarge);
    CHECK(fed <= 1024 + chunk.size());
    CHECK(parser.feed("\n\n", out).error().kind == ErrorKind::kTooLarge);
    CHECK(parser.finish().error().kind == ErrorKind::kTooLarge);
    CHECK(out.size() == 1);
  }
  SECTION("a long line in one piece, and exactly at the limit") {
    SseParser::Options o;
    o.max_line_bytes = 64;
    const std::string at_limit = "data: " + std::string(58, 'y');
    CHECK(parse_pieces({at_limit + "\n\n"}, o).events.size() == 1);
    SseParser parser(o);
    std::vector<SseEvent> out;
    CHECK(parser.feed(at_limit + "z\n\n", out).error().kind == ErrorKind::kTooLarge);
  }
  SECTION("the default limit holds for a stream with no line break (4 MiB)") {
    SseParser parser;
    std::vector<SseEvent> out;
    const std::string mib(1 << 20, 'a');
    Status s;
    int fed = 0;
    while (s.ok() && fed < 8) {
      s = parser.feed(mib, out);
      ++fed;
    }
    CHECK(s.error().kind == ErrorKind::kTooLarge);
    CHECK(fed == 5);
  }
  SECTION("an event's data over the limit is an error even with short lines") {
    SseParser::Options o;
    o.max_event_bytes = 100;
    SseParser parser(o);
    std::vector<SseEvent> out;
    Status s;
    for (int i = 0; i < 20 && s.ok(); ++i) s = parser.feed("data: 0123456789\n", out);
    CHECK(s.error().kind == ErrorKind::kTooLarge);
  }
  SECTION("NUL bytes in data pass through") {
    const std::string s("data: a\0b\n\n", 11);
    const Parsed p = parse_every_way(s);
    REQUIRE(p.events.size() == 1);
    CHECK(p.events[0].data == std::string("a\0b", 3));
  }
  SECTION("invalid UTF-8 becomes U+FFFD per maximal subpart, chunking aside") {
    const std::string s =
        "data: a\xFF"
        "b\xE2\x82"
        "c\xF0\x9F\x98"
        "\n\ndata: \xED\xA0\x80\xC0\xAF\n\n";
    const Parsed p = parse_every_way(s);
    REQUIRE(p.events.size() == 2);
    CHECK(p.events[0].data ==
          "a\xEF\xBF\xBD"
          "b\xEF\xBF\xBD"
          "c\xEF\xBF\xBD");
    // Surrogate ED A0 80: three replacements; C0 AF: two.
    std::string five;
    for (int i = 0; i < 5; ++i) five += "\xEF\xBF\xBD";
    CHECK(p.events[1].data == five);
    SseParser parser;
    std::vector<SseEvent> out;
    REQUIRE(parser.feed(s, out).ok());
    CHECK(parser.invalid_sequences() == 8);
  }
  SECTION("reject mode turns invalid UTF-8 into an error") {
    SseParser::Options o;
    o.reject_invalid_utf8 = true;
    SseParser parser(o);
    std::vector<SseEvent> out;
    REQUIRE(parser.feed("data: \xD0\xB8\n\n", out).ok());
    CHECK(parser.feed("data: \xD0\n\n", out).error().kind == ErrorKind::kInvalidInput);
    CHECK(out.size() == 1);
  }
  SECTION("random garbage never crashes, always yields valid UTF-8, chunking aside") {
    test::Rng rng(42);
    for (int round = 0; round < 50; ++round) {
      std::string garbage(2000, '\0');
      for (char& c : garbage) {
        const size_t r = rng.below(16);
        // Bias towards the bytes the parser cares about.
        c = r == 0 ? '\n' : r == 1 ? '\r' : r == 2 ? ':' : static_cast<char>(rng.below(256));
      }
      if (round % 2 == 0) garbage = "data: " + garbage;
      const Parsed whole = parse(garbage);
      for (const SseEvent& e : whole.events) {
        CHECK(valid_utf8(e.data));
        CHECK(valid_utf8(e.type));
        CHECK(valid_utf8(e.id));
      }
      const Parsed chunked =
          parse_pieces(split_at(garbage, test::random_cuts(garbage.size(), 30, rng)));
      CHECK(same(chunked, whole));
    }
  }
}
