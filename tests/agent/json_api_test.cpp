#include "agent/json_api.h"

#include <catch2/catch.hpp>

using namespace chaja;

TEST_CASE("ask requests parse with defaults and reject wrong types", "[json]") {
  auto r = parse_ask_request(R"({"query":"질문","stream":true,"k":5,"collection":"hr"})");
  REQUIRE(r.ok());
  CHECK(r->query == "질문");
  CHECK(r->stream);
  CHECK(r->k == 5);
  CHECK(r->collection == "hr");
  CHECK(r->model.empty());  // the answerer's default model answers
  CHECK_FALSE(r->thread_id.has_value());

  for (const char* bad :
       {"", "{", "[]", "42", R"({"query":42})", R"({"k":"5","query":"q"})",
        R"({"query":"q","k":0})", R"({"query":"q","k":101})", R"({"query":"q","stream":"yes"})",
        R"({"query":"q","collection":"../etc"})", R"({"query":"q","collection":""})", "{}"}) {
    INFO(bad);
    auto e = parse_ask_request(bad);
    REQUIRE_FALSE(e.ok());
    CHECK(e.error().kind == ErrorKind::kInvalidInput);
  }
  // Invalid UTF-8 inside a JSON string is rejected by the parser.
  CHECK_FALSE(parse_ask_request("{\"query\":\"\xFF\"}").ok());
}

TEST_CASE("document requests need text; metadata must be an object", "[json]") {
  auto d =
      parse_document_request(R"({"title":"T","text":"body","metadata":{"department":"legal"}})");
  REQUIRE(d.ok());
  CHECK(d->metadata_json == R"({"department":"legal"})");
  CHECK(d->collection == kDefaultCollection);
  CHECK_FALSE(parse_document_request(R"({"title":"T"})").ok());
  CHECK_FALSE(parse_document_request(R"({"text":"  "})").ok());
  CHECK_FALSE(parse_document_request(R"({"text":"x","metadata":[1]})").ok());
}

TEST_CASE("SSE frames are one event line and one data line", "[json]") {
  CHECK(sse_frame(DeltaEvent{"안녕\n하세요"}) ==
        "event: delta\ndata: {\"text\":\"안녕\\n하세요\"}\n\n");
  const std::string err = sse_frame(ErrorEvent{make_error(ErrorKind::kUpstream, "boom")});
  CHECK(err ==
        "event: error\ndata: {\"error\":{\"message\":\"boom\",\"type\":\"upstream_error\"}}\n\n");
}

TEST_CASE("error bodies follow the contract", "[json]") {
  CHECK(error_json(make_error(ErrorKind::kNotFound, "unknown collection 'x'")) ==
        R"({"error":{"message":"unknown collection 'x'","type":"not_found"}})");
}

TEST_CASE("deeply nested JSON is refused before it can exhaust the stack", "[json]") {
  std::string deep = R"({"title":"t","text":"x","metadata":{"a":)";
  for (int i = 0; i < 100000; ++i) deep += '[';
  for (int i = 0; i < 100000; ++i) deep += ']';
  deep += "}}";
  auto r = parse_document_request(deep);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find("nested deeper") != std::string::npos);
  // Brackets inside strings do not count; 60 levels are fine.
  std::string ok =
      R"({"text":"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[","metadata":{"a":)";
  for (int i = 0; i < 60; ++i) ok += '[';
  for (int i = 0; i < 60; ++i) ok += ']';
  ok += "}}";
  CHECK(parse_document_request(ok).ok());
  CHECK_FALSE(normalise_metadata(std::string(1000, '[')).ok());
}

TEST_CASE("search responses report whole milliseconds", "[json]") {
  CHECK(search_response_json({}, 0.0943) == R"({"results":[],"took_ms":0})");
  CHECK(search_response_json({}, 12.6) == R"({"results":[],"took_ms":13})");
}
