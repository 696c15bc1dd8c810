#include "connectors/ndjson.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "tests/connectors/stream_test_util.h"

using namespace chaja;
using chaja::test::bytewise;
using chaja::test::read_fixture;
using chaja::test::split_at;

namespace {

struct Split {
  std::vector<std::string> lines;
  std::optional<std::string> tail;
  bool operator==(const Split&) const = default;
};

Split split_pieces(const std::vector<std::string_view>& pieces,
                   NdjsonSplitter::Options options = {}) {
  NdjsonSplitter splitter(options);
  Split out;
  for (std::string_view piece : pieces) REQUIRE(splitter.feed(piece, out.lines).ok());
  auto tail = splitter.finish();
  REQUIRE(tail.ok());
  out.tail = *tail;
  return out;
}

Split split_every_way(std::string_view stream) {
  const Split whole = split_pieces({stream});
  for (size_t cut = 0; cut <= stream.size(); ++cut) {
    if (!(split_pieces(split_at(stream, {cut})) == whole)) FAIL("different lines split at " << cut);
    if (cut + 1 <= stream.size() && !(split_pieces(split_at(stream, {cut, cut + 1})) == whole))
      FAIL("different lines split at " << cut << ", " << cut + 1);
  }
  CHECK(split_pieces(bytewise(stream)) == whole);
  return whole;
}

std::string to_crlf(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '\n') out += '\r';
    out += c;
  }
  return out;
}

}  // namespace

TEST_CASE("NDJSON: Ollama streams at every split point", "[ndjson]") {
  SECTION("chat stream") {
    const std::string stream = read_fixture("ollama/chat_stream.ndjson");
    const Split s = split_every_way(stream);
    REQUIRE(s.lines.size() == 2);
    CHECK_FALSE(s.tail);
    CHECK(nlohmann::json::parse(s.lines[0])["message"]["content"] == "The");
    CHECK(nlohmann::json::parse(s.lines[1])["done"] == true);
    CHECK(split_every_way(to_crlf(stream)) == s);
  }
  SECTION("tool calls") {
    const Split s = split_every_way(read_fixture("ollama/chat_stream_tool_calls.ndjson"));
    REQUIRE_FALSE(s.lines.empty());
    for (const std::string& line : s.lines) CHECK_NOTHROW(nlohmann::json::parse(line));
  }
  SECTION("an error line mid-stream is just another line") {
    const Split s = split_every_way(read_fixture("ollama/generate_stream_midstream_error.ndjson"));
    REQUIRE(s.lines.size() == 5);
    CHECK(nlohmann::json::parse(s.lines.back()).contains("error"));
  }
}

TEST_CASE("NDJSON: blank lines, CRLF, BOM, unterminated tail", "[ndjson]") {
  const Split s = split_every_way("\xEF\xBB\xBF{\"a\":1}\r\n\r\n  \n\t\r\n{\"b\":2}\n\n{\"c\":3}");
  CHECK(s.lines == std::vector<std::string>{R"({"a":1})", R"({"b":2})"});
  REQUIRE(s.tail);
  CHECK(*s.tail == R"({"c":3})");  // Ollama's pre-stream error bodies end like this

  CHECK_FALSE(split_every_way("{}\n   ").tail);  // blank tail: nothing
  CHECK(*split_every_way("{}\n{\"x\"").tail == "{\"x\"");
  // A CR alone does not end a line; at the end its CR is dropped like a CRLF's.
  CHECK(split_every_way("{}\r").lines.empty());
  CHECK(*split_every_way("{}\r").tail == "{}");
  CHECK(split_every_way("a\rb\n").lines == std::vector<std::string>{"a\rb"});  // CR alone: data
}

TEST_CASE("NDJSON: line size limit", "[ndjson]") {
  NdjsonSplitter::Options o;
  o.max_line_bytes = 8;
  SECTION("exactly at the limit, with LF or CRLF, is fine") {
    CHECK(split_pieces({"12345678\n"}, o).lines.size() == 1);
    CHECK(split_pieces({"12345678\r\n"}, o).lines.size() == 1);
    CHECK(split_pieces(bytewise("12345678\r\n"), o).lines.size() == 1);
    CHECK(*split_pieces(bytewise("12345678\r"), o).tail == "12345678");
  }
  SECTION("one over is an error, whole or byte by byte, and it sticks") {
    for (const auto& pieces : {std::vector<std::string_view>{"123456789\n"},
                               bytewise("123456789\n"), bytewise("123456789\r\n")}) {
      NdjsonSplitter splitter(o);
      std::vector<std::string> lines;
      Status st;
      for (std::string_view p : pieces) {
        st = splitter.feed(p, lines);
        if (!st) break;
      }
      REQUIRE_FALSE(st.ok());
      CHECK(st.error().kind == ErrorKind::kTooLarge);
      CHECK(splitter.feed("{}\n", lines).error().kind == ErrorKind::kTooLarge);
      CHECK(splitter.finish().error().kind == ErrorKind::kTooLarge);
    }
    NdjsonSplitter splitter(o);
    std::vector<std::string> lines;
    REQUIRE(splitter.feed("123456789", lines).ok());  // could still be 8 bytes + CR
    CHECK(splitter.finish().error().kind == ErrorKind::kTooLarge);
  }
  SECTION("an endless line stops at the limit, not at memory exhaustion") {
    NdjsonSplitter splitter;  // default 4 MiB
    std::vector<std::string> lines;
    const std::string mib(1 << 20, '{');
    Status st;
    int fed = 0;
    while (st.ok() && fed < 8) {
      st = splitter.feed(mib, lines);
      ++fed;
    }
    CHECK(st.error().kind == ErrorKind::kTooLarge);
    CHECK(fed == 5);
  }
  SECTION("NUL and garbage bytes are passed on for the JSON parser to reject") {
    const Split s = split_every_way(std::string("{\"a\":\0}\n\xFF\xFE\n", 11));
    REQUIRE(s.lines.size() == 2);
    CHECK(s.lines[0].size() == 7);
    CHECK_THROWS(nlohmann::json::parse(s.lines[1]));
  }
}
