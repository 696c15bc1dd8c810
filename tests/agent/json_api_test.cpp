#include "agent/json_api.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

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

TEST_CASE("ask requests: Perplexity's domain and recency filters", "[json][web]") {
  auto r = parse_ask_request(
      R"({"query":"q","web":true,"search_domain_filter":["a.com","-b.example","c.org","-d.net"],)"
      R"("search_recency_filter":"week"})");
  REQUIRE(r.ok());
  CHECK(r->web);
  CHECK(r->include_domains == std::vector<std::string>{"a.com", "c.org"});
  CHECK(r->exclude_domains == std::vector<std::string>{"b.example", "d.net"});
  CHECK(r->recency == WebRecency::kWeek);

  // Absent or null: no filters.
  for (const char* none :
       {R"({"query":"q","web":true})",
        R"({"query":"q","web":true,"search_domain_filter":null,"search_recency_filter":null})",
        R"({"query":"q","web":true,"search_domain_filter":[]})"}) {
    INFO(none);
    auto n = parse_ask_request(none);
    REQUIRE(n.ok());
    CHECK(n->include_domains.empty());
    CHECK(n->exclude_domains.empty());
    CHECK(n->recency == WebRecency::kNone);
  }

  const std::pair<const char*, WebRecency> recencies[] = {{"day", WebRecency::kDay},
                                                          {"week", WebRecency::kWeek},
                                                          {"month", WebRecency::kMonth},
                                                          {"year", WebRecency::kYear}};
  for (const auto& [name, want] : recencies) {
    INFO(name);
    auto p = parse_ask_request(std::string(R"({"query":"q","web":true,"search_recency_filter":")") +
                               name + "\"}");
    REQUIRE(p.ok());
    CHECK(p->recency == want);
  }

  struct Bad {
    const char* body;
    const char* names;  // what the message must name
  };
  const Bad bad[] = {
      {R"({"query":"q","search_domain_filter":"a.com"})", "\"search_domain_filter\""},
      {R"({"query":"q","search_domain_filter":{"a.com":true}})", "\"search_domain_filter\""},
      {R"({"query":"q","search_domain_filter":["a.com",3]})", "\"search_domain_filter\""},
      {R"({"query":"q","search_domain_filter":[null]})", "\"search_domain_filter\""},
      {R"({"query":"q","search_domain_filter":[["a.com"]]})", "\"search_domain_filter\""},
      {R"({"query":"q","search_recency_filter":"fortnight"})", "fortnight"},
      {R"({"query":"q","search_recency_filter":"Week"})", "day, week, month, year"},
      {R"({"query":"q","search_recency_filter":7})", "\"search_recency_filter\""},
      {R"({"query":"q","search_recency_filter":""})", "day, week, month, year"},
      {R"({"query":"q","search_recency_filter":["day"]})", "\"search_recency_filter\""},
  };
  for (const Bad& b : bad) {
    INFO(b.body);
    auto e = parse_ask_request(b.body);
    REQUIRE_FALSE(e.ok());
    CHECK(e.error().kind == ErrorKind::kInvalidInput);
    CHECK(e.error().message.find(b.names) != std::string::npos);
  }
}

TEST_CASE("ask responses: web and local citations, timings and warnings", "[json][web]") {
  AskResponse r;
  r.answer = "First lit in 1871 [1], automated in 1968 [2].";
  r.model = "extractive";
  Citation web;
  web.n = 1;
  web.kind = SourceKind::kWeb;
  web.title = "Greywick Point lighthouse";
  web.source = "https://example.org/lighthouse?a=1&b=2";
  web.domain = "example.org";
  web.snippet = "The lighthouse was first lit in 1871.";
  Citation local;
  local.n = 2;
  local.kind = SourceKind::kLocal;
  local.doc_id = 7;
  local.chunk_id = 42;
  local.title = "Greywick notes";
  local.source = "/docs/greywick.md";
  local.snippet = "Automated in 1968.";
  Citation dated = web;
  dated.n = 3;
  dated.published = "2025-06-01T08:00:00Z";
  r.citations = {web, local, dated};
  r.timings.retrieval_ms = 1.5;
  r.timings.web_search_ms = 120.25;
  r.timings.web_fetch_ms = 300;
  r.timings.web_extract_ms = 4;
  r.timings.rank_ms = 2;
  r.timings.web_pages = 3;
  r.timings.web_cached = 1;
  r.timings.web_failed = 1;
  r.warnings = {"https://slow.example/: timed out"};

  const auto j = nlohmann::json::parse(ask_response_json(r));
  INFO(j.dump(2));
  REQUIRE(j["citations"].size() == 3);
  const auto& w = j["citations"][0];
  CHECK(w["n"] == 1);
  CHECK(w["kind"] == "web");
  CHECK(w["doc_id"].is_null());
  CHECK(w["chunk_id"].is_null());
  CHECK(w["title"] == "Greywick Point lighthouse");
  CHECK(w["source"] == "https://example.org/lighthouse?a=1&b=2");
  CHECK(w["url"] == "https://example.org/lighthouse?a=1&b=2");
  CHECK(w["domain"] == "example.org");
  REQUIRE(w.contains("published"));
  CHECK(w["published"].is_null());
  CHECK(w["snippet"] == "The lighthouse was first lit in 1871.");
  CHECK(j["citations"][2]["published"] == "2025-06-01T08:00:00Z");

  const auto& l = j["citations"][1];
  CHECK(l["n"] == 2);
  CHECK(l["kind"] == "local");
  CHECK(l["doc_id"] == 7);
  CHECK(l["chunk_id"] == 42);
  CHECK(l["source"] == "/docs/greywick.md");
  CHECK(l["snippet"] == "Automated in 1968.");
  CHECK_FALSE(l.contains("url"));  // a local source is a path, not a URL
  CHECK_FALSE(l.contains("domain"));

  const auto& t = j["timings"];
  CHECK(t["retrieval_ms"] == 1.5);
  CHECK(t["web_search_ms"] == 120.25);
  CHECK(t["web_fetch_ms"] == 300);
  CHECK(t["web_extract_ms"] == 4);
  CHECK(t["rank_ms"] == 2);
  CHECK(t["web_pages"] == 3);
  CHECK(t["web_cached"] == 1);
  CHECK(t["web_failed"] == 1);
  CHECK(j["warnings"] == nlohmann::json::array({"https://slow.example/: timed out"}));
  CHECK(j["answer"] == r.answer);
  CHECK(j["model"] == "extractive");

  // Without the web: no web timings, and warnings an empty list, not missing.
  AskResponse plain;
  plain.answer = "x";
  plain.timings.retrieval_ms = 3;
  const auto p = nlohmann::json::parse(ask_response_json(plain));
  CHECK(p["timings"] == nlohmann::json{{"retrieval_ms", 3}});
  CHECK(p["warnings"] == nlohmann::json::array());
  CHECK(p["citations"] == nlohmann::json::array());

  // The streamed sources frame carries the same citation objects.
  const std::string frame = sse_frame(SourcesEvent{r.citations});
  REQUIRE(frame.rfind("event: sources\ndata: ", 0) == 0);
  const auto s = nlohmann::json::parse(frame.substr(21));
  CHECK(s["citations"] == j["citations"]);
}

TEST_CASE("metadata filters parse from search, ask and --filter; bad ones name the field",
          "[json][filter]") {
  auto s = parse_search_request(
      R"({"query":"q","filter":{"department":"legal","year":2024,"draft":false,"score":0.5,"d":["a","b"]}})");
  REQUIRE(s.ok());
  REQUIRE(s->filter.conditions.size() == 5);
  auto find = [&](const std::string& key) -> const FilterCondition& {
    for (const FilterCondition& c : s->filter.conditions)
      if (c.key == key) return c;
    FAIL("no condition " + key);
    return s->filter.conditions.front();
  };
  CHECK(find("department").any_of[0].kind == FilterValue::Kind::kString);
  CHECK(find("year").any_of[0].kind == FilterValue::Kind::kInteger);
  CHECK(find("year").any_of[0].integer == 2024);
  CHECK(find("draft").any_of[0].kind == FilterValue::Kind::kBool);
  CHECK(find("score").any_of[0].kind == FilterValue::Kind::kReal);
  CHECK(find("d").any_of.size() == 2);
  auto a = parse_ask_request(R"({"query":"q","filter":{"department":["legal","hr"]}})");
  REQUIRE(a.ok());
  CHECK(a->filter.conditions.size() == 1);
  CHECK(parse_ask_request(R"({"query":"q","filter":null})")->filter.empty());

  std::string many = R"({"query":"q","filter":{)";
  for (int i = 0; i < 17; ++i)
    many += (i ? "," : "") + std::string("\"k") + std::to_string(i) + "\":1";
  many += "}}";
  std::string values = R"({"query":"q","filter":{"k":[)";
  for (int i = 0; i < 33; ++i) values += (i ? "," : "") + std::to_string(i);
  values += "]}}";
  for (const std::string& bad :
       {std::string(R"({"query":"q","filter":"legal"})"),
        std::string(R"({"query":"q","filter":[]})"),
        std::string(R"({"query":"q","filter":{"k":null}})"),
        std::string(R"({"query":"q","filter":{"k":{"a":1}}})"),
        std::string(R"({"query":"q","filter":{"k":[]}})"),
        std::string(R"({"query":"q","filter":{"k":[["a"]]}})"),
        std::string(R"({"query":"q","filter":{"":1}})"),
        std::string(R"({"query":"q","filter":{"a b":1}})"),
        std::string(R"({"query":"q","filter":{")") + std::string(65, 'k') + R"(":1}})", many,
        values}) {
    INFO(bad);
    for (auto e : {parse_search_request(bad).error(), parse_ask_request(bad).error()}) {
      CHECK(e.kind == ErrorKind::kInvalidInput);
      CHECK(e.message.find("filter") != std::string::npos);
    }
  }

  MetadataFilter f;
  REQUIRE(add_filter_argument(f, "department=legal").ok());
  REQUIRE(add_filter_argument(f, "year=2024").ok());
  REQUIRE(add_filter_argument(f, "code=\"2024\"").ok());
  REQUIRE(add_filter_argument(f, "department=hr").ok());
  REQUIRE(add_filter_argument(f, "zip=007").ok());
  REQUIRE(add_filter_argument(f, "empty=").ok());
  REQUIRE(f.conditions.size() == 5);
  CHECK(f.conditions[0].any_of.size() == 2);
  CHECK(f.conditions[0].any_of[1].text == "hr");
  CHECK(f.conditions[1].any_of[0].kind == FilterValue::Kind::kInteger);
  CHECK(f.conditions[2].any_of[0].kind == FilterValue::Kind::kString);
  CHECK(f.conditions[2].any_of[0].text == "2024");
  CHECK(f.conditions[3].any_of[0].text == "007");  // not JSON: a string
  CHECK(f.conditions[4].any_of[0].text.empty());
  CHECK_FALSE(add_filter_argument(f, "no-equals").ok());
  CHECK_FALSE(add_filter_argument(f, "bad key=1").ok());
}
