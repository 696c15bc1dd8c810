// Web search backends against replay servers on 127.0.0.1 replaying the recorded fixtures
// (tests/fixtures/{searxng,brave,tavily}/): the exact requests (path, parameters, key headers,
// Tavily's body), normalised results, every error fixture mapped to its kind with the provider's
// message quoted and the key never shown, the fallback chain (error, empty, timeout, all failing),
// domain filters enforced on results, garbage bodies, the text normalisation helpers, and
// published dates: every form parse_web_date reads, garbage refused, the recency window enforced
// and dates normalised to ISO 8601 UTC.
#include "connectors/web_search.h"

#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "tests/connectors/replay_server.h"

using namespace chaja;
using namespace chaja::test;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

WebSearchSettings fast_settings() {
  WebSearchSettings s;
  s.timeouts.connect = 2000ms;
  s.timeouts.first_byte = 3000ms;
  s.timeouts.idle = 3000ms;
  s.timeouts.total = 5000ms;
  s.retry.max_attempts = 1;
  s.retry.base_delay = 1ms;
  s.retry.max_delay = 2ms;
  return s;
}

std::map<std::string, std::string> params(const RecordedRequest& r) {
  std::map<std::string, std::string> out;
  size_t pos = 0;
  while (pos < r.query.size()) {
    size_t amp = r.query.find('&', pos);
    if (amp == std::string::npos) amp = r.query.size();
    const std::string kv = r.query.substr(pos, amp - pos);
    const size_t eq = kv.find('=');
    out[kv.substr(0, eq)] = eq == std::string::npos ? "" : kv.substr(eq + 1);
    pos = amp + 1;
  }
  return out;
}

std::unique_ptr<WebSearch> backend(const std::string& name, const Env& env,
                                   const WebSearchSettings& s = fast_settings()) {
  auto b = WebSearchRegistry::with_builtins().make(name, env, s);
  REQUIRE(b.ok());
  return std::move(*b);
}

WebQuery query(std::string text) {
  WebQuery q;
  q.text = std::move(text);
  return q;
}

const std::string kSearxOne =
    R"({"query": "x", "results": [{"url": "https://one.example/a", "title": "One &amp; only", "content": "first <b>hit</b>", "engine": "bing", "engines": ["bing"], "publishedDate": "2026-01-02T00:00:00"}], "unresponsive_engines": []})";

}  // namespace

TEST_CASE("searxng: request and normalised results", "[web_search]") {
  ReplayServer server;
  server.on("/search", fixture_reply("searxng/search_response.json"));
  auto s = backend("searxng", {{"SEARXNG_URL", server.base_url()}});
  CHECK(s->name() == "searxng");
  WebQuery q = query("test 한국어");
  q.language = "ko";
  q.recency = WebRecency::kWeek;
  auto res = s->search(q, nullptr);
  REQUIRE(res.ok());
  REQUIRE(res->size() == 1);
  const WebResult& r = res->at(0);
  CHECK(r.url == "https://www.speedtest.net/");
  CHECK(r.title == "Speedtest by Ookla - The Global Broadband Speed Test");
  CHECK(r.snippet.starts_with("Speedtest is better with the app."));
  CHECK(r.published.empty());
  CHECK(r.engine == "searxng:duckduckgo,startpage,google");

  REQUIRE(server.request_count() == 1);
  const auto req = server.requests().at(0);
  CHECK(req.method == "GET");
  CHECK(req.path == "/search");
  const auto p = params(req);
  CHECK(p.at("q") == "test 한국어");
  CHECK(p.at("format") == "json");
  CHECK(p.at("categories") == "general");
  CHECK(p.at("language") == "ko");
  CHECK(p.at("time_range") == "week");
  CHECK(req.header("Accept") == "application/json");

  SECTION("the legacy envelope with number_of_results reads the same") {
    server.on("/search", fixture_reply("searxng/search_response_legacy_number_of_results.json"));
    auto again = s->search(query("test"), nullptr);
    REQUIRE(again.ok());
    CHECK(again->size() == 1);
    CHECK(params(server.requests().back()).count("time_range") == 0);
  }
  SECTION("a base URL with a path and a trailing slash") {
    auto sub = backend("searxng", {{"SEARXNG_URL", server.base_url() + "/"}});
    CHECK(sub->search(query("test"), nullptr).ok());
    CHECK(server.requests().back().path == "/search");
  }
}

TEST_CASE("searxng: errors", "[web_search]") {
  ReplayServer server;
  auto s = backend("searxng", {{"SEARXNG_URL", server.base_url()}});
  SECTION("every engine unresponsive: an error naming them, not a silent empty list") {
    server.on("/search", fixture_reply("searxng/search_response_all_engines_failed.json"));
    auto res = s->search(query("test"), nullptr);
    REQUIRE_FALSE(res.ok());
    CHECK(res.error().kind == ErrorKind::kUpstream);
    CHECK(res.error().message.find("startpage (Suspended: CAPTCHA)") != std::string::npos);
  }
  SECTION("400 No query") {
    server.on("/search", fixture_reply("searxng/search_error_400_no_query.json", 400));
    auto res = s->search(query("test"), nullptr);
    REQUIRE_FALSE(res.ok());
    CHECK(res.error().kind == ErrorKind::kUpstream);
    CHECK(res.error().message == "searxng: HTTP 400: \"No query\"");
  }
  SECTION("429 and 5xx") {
    server.on("/search", json_reply(429, "Too Many Requests"));
    auto limited = s->search(query("test"), nullptr);
    REQUIRE_FALSE(limited.ok());
    CHECK(limited.error().kind == ErrorKind::kRateLimited);
    server.on("/search", json_reply(502, "<html>bad gateway</html>"));
    auto bad = s->search(query("test"), nullptr);
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.error().kind == ErrorKind::kUpstream);
    CHECK(bad.error().message.find("502") != std::string::npos);
  }
  SECTION("an empty query is the caller's error") {
    auto res = s->search(query("  "), nullptr);
    REQUIRE_FALSE(res.ok());
    CHECK(res.error().kind == ErrorKind::kInvalidInput);
    CHECK(server.request_count() == 0);
  }
}

TEST_CASE("brave: request and normalised results", "[web_search]") {
  ReplayServer server;
  server.on("/res/v1/web/search", fixture_reply("brave/web_search_response.json"));
  auto s = backend("brave",
                   {{"BRAVE_API_KEY", "test-brave-token"}, {"BRAVE_BASE_URL", server.base_url()}});
  WebQuery q = query("new york times");
  q.count = 5;
  q.recency = WebRecency::kMonth;
  q.language = "en";
  const int64_t before = web_unix_now();
  auto res = s->search(q, nullptr);
  const int64_t after = web_unix_now();
  REQUIRE(res.ok());
  REQUIRE_FALSE(res->empty());
  const WebResult& r = res->at(0);
  CHECK(r.url == "https://www.nytimes.com");
  CHECK(r.title == "The New York Times - Breaking News, US News, World News and Videos");
  CHECK(r.snippet.find("<strong>") == std::string::npos);
  CHECK(r.snippet.find("journalists of The New York Times from") != std::string::npos);
  // "age": "1 week ago", rewritten as the UTC date-time a week before the search.
  REQUIRE(r.published.size() == 20);
  CHECK(r.published[10] == 'T');
  CHECK(r.published.ends_with("Z"));
  const auto published = parse_web_date(r.published, after);
  REQUIRE(published);
  CHECK(*published >= before - 7 * 86'400);
  CHECK(*published <= after - 7 * 86'400);
  CHECK(r.engine == "brave");
  CHECK(res->size() <= 5);

  const auto req = server.requests().at(0);
  CHECK(req.method == "GET");
  CHECK(req.path == "/res/v1/web/search");
  const auto p = params(req);
  CHECK(p.at("q") == "new york times");
  CHECK(p.at("count") == "5");
  CHECK(p.at("freshness") == "pm");
  CHECK(p.at("search_lang") == "en");
  CHECK(req.header("X-Subscription-Token") == "test-brave-token");
  CHECK(req.header("Accept") == "application/json");

  SECTION("a day's window: freshness=pd, and the week-old result is dropped") {
    q.recency = WebRecency::kDay;
    auto day = s->search(q, nullptr);
    REQUIRE(day.ok());
    CHECK(day->empty());
    CHECK(params(server.requests().back()).at("freshness") == "pd");
  }
}

TEST_CASE("brave: every error fixture mapped, the key never shown", "[web_search]") {
  ReplayServer server;
  const std::string key = "test-brave-token";
  auto s = backend("brave", {{"BRAVE_API_KEY", key}, {"BRAVE_BASE_URL", server.base_url()}});
  struct Case {
    const char* fixture;
    int status;
    ErrorKind kind;
    const char* said;
  };
  const Case cases[] = {
      {"brave/error_402_usage_limit_exceeded.json", 402, ErrorKind::kRateLimited,
       "USAGE_LIMIT_EXCEEDED: Usage limit exceeded."},
      {"brave/error_422_invalid_token.json", 422, ErrorKind::kUpstream,
       "SUBSCRIPTION_TOKEN_INVALID: The provided subscription token is invalid."},
      {"brave/error_429_rate_limited.json", 429, ErrorKind::kRateLimited,
       "RATE_LIMITED: Request rate limit exceeded for plan."},
      {"brave/error_docs_example_errors_array.json", 429, ErrorKind::kRateLimited,
       "QUOTA_LIMITED: Request quota limit exceeded for plan."},
  };
  for (const Case& c : cases) {
    INFO(c.fixture);
    server.on("/res/v1/web/search", fixture_reply(c.fixture, c.status));
    auto res = s->search(query("q"), nullptr);
    REQUIRE_FALSE(res.ok());
    CHECK(res.error().kind == c.kind);
    CHECK(res.error().message.find(std::string("\"") + c.said + "\"") != std::string::npos);
    CHECK(res.error().message.starts_with("brave: HTTP " + std::to_string(c.status)));
  }
  server.on("/res/v1/web/search", fixture_reply("brave/error_422_invalid_token.json", 422));
  auto bad_key = s->search(query("q"), nullptr);
  REQUIRE_FALSE(bad_key.ok());
  CHECK(bad_key.error().message.find("BRAVE_API_KEY") != std::string::npos);

  // A proxy echoing the key back.
  server.on("/res/v1/web/search",
            json_reply(401, R"({"error":{"code":"X","detail":"bad token test-brave-token"}})"));
  auto echoed = s->search(query("q"), nullptr);
  REQUIRE_FALSE(echoed.ok());
  CHECK(echoed.error().message.find(key) == std::string::npos);
  CHECK(echoed.error().message.find("<redacted>") != std::string::npos);

  // No web results at all: the key is absent.
  server.on("/res/v1/web/search", json_reply(200, R"({"type":"search","query":{}})"));
  auto none = s->search(query("q"), nullptr);
  REQUIRE(none.ok());
  CHECK(none->empty());
}

TEST_CASE("tavily: request body and normalised results", "[web_search]") {
  ReplayServer server;
  server.on("/search", fixture_reply("tavily/search_response.json"));
  auto s =
      backend("tavily", {{"TAVILY_API_KEY", "tvly-test"}, {"TAVILY_BASE_URL", server.base_url()}});
  WebQuery q = query("how is unison and chorus implmented in sythesizers");
  q.count = 5;
  q.recency = WebRecency::kMonth;
  q.include_domains = {"reddit.com"};
  q.exclude_domains = {"spam.example"};
  auto res = s->search(q, nullptr);
  REQUIRE(res.ok());
  REQUIRE(res->size() == 2);
  CHECK(res->at(0).title ==
        "What's the difference between chorus and unison, and when ... - Reddit");
  CHECK(res->at(0).url.starts_with("https://www.reddit.com/r/edmproduction/"));
  CHECK(res->at(0).snippet.starts_with("Chorus is a modulated effect."));
  CHECK(res->at(1).snippet.find("\"in sync\"") != std::string::npos);
  CHECK(res->at(0).engine == "tavily");

  const auto req = server.requests().at(0);
  CHECK(req.method == "POST");
  CHECK(req.path == "/search");
  CHECK(req.header("Authorization") == "Bearer tvly-test");
  CHECK(req.header("Content-Type") == "application/json");
  const json body = json::parse(req.body);
  CHECK(body.at("query") == q.text);
  CHECK(body.at("max_results") == 5);
  CHECK(body.at("time_range") == "month");
  CHECK(body.at("include_domains") == json::array({"reddit.com"}));
  CHECK(body.at("exclude_domains") == json::array({"spam.example"}));
  CHECK_FALSE(body.contains("api_key"));

  SECTION("the docs example (response_time as a string) reads too") {
    server.on("/search", fixture_reply("tavily/search_response_docs_example.json"));
    auto docs = s->search(query("Who is Leo Messi?"), nullptr);
    REQUIRE(docs.ok());
    REQUIRE(docs->size() == 1);
    CHECK(docs->at(0).url == "https://www.britannica.com/facts/Lionel-Messi");
    const json plain = json::parse(server.requests().back().body);
    CHECK_FALSE(plain.contains("time_range"));
    CHECK_FALSE(plain.contains("include_domains"));
  }
}

TEST_CASE("tavily: errors", "[web_search]") {
  ReplayServer server;
  auto s =
      backend("tavily", {{"TAVILY_API_KEY", "tvly-test"}, {"TAVILY_BASE_URL", server.base_url()}});
  server.on("/search", fixture_reply("tavily/error_401_invalid_key.json", 401));
  auto bad = s->search(query("q"), nullptr);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().kind == ErrorKind::kUpstream);
  CHECK(bad.error().message ==
        "tavily: HTTP 401: \"Unauthorized: missing or invalid API key.\" (check TAVILY_API_KEY)");
  server.on("/search", fixture_reply("tavily/error_432_plan_limit.json", 432));
  auto limit = s->search(query("q"), nullptr);
  REQUIRE_FALSE(limit.ok());
  CHECK(limit.error().kind == ErrorKind::kRateLimited);
  CHECK(limit.error().message.find("exceeds your plan's set usage limit") != std::string::npos);
  server.on("/search", json_reply(500, R"({"detail":"Internal Server Error"})"));
  auto down = s->search(query("q"), nullptr);
  REQUIRE_FALSE(down.ok());
  CHECK(down.error().kind == ErrorKind::kUpstream);
  CHECK(down.error().message.find("Internal Server Error") != std::string::npos);
}

TEST_CASE("web search: not configured, unknown, default order", "[web_search]") {
  const auto s = fast_settings();
  const auto reg = WebSearchRegistry::with_builtins();
  for (const auto& [name, var] : std::vector<std::pair<std::string, std::string>>{
           {"searxng", "SEARXNG_URL"}, {"brave", "BRAVE_API_KEY"}, {"tavily", "TAVILY_API_KEY"}}) {
    auto b = reg.make(name, {}, s);
    REQUIRE_FALSE(b.ok());
    CHECK(b.error().kind == ErrorKind::kUnavailable);
    CHECK(b.error().message.find(var) != std::string::npos);
  }
  auto unknown = make_web_search_chain({}, "bing", s);
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.error().kind == ErrorKind::kNotFound);

  auto none = make_web_search_chain({}, "", s);
  REQUIRE_FALSE(none.ok());
  CHECK(none.error().kind == ErrorKind::kUnavailable);
  CHECK(none.error().message.find("SEARXNG_URL") != std::string::npos);
  CHECK(none.error().message.find("TAVILY_API_KEY") != std::string::npos);

  auto asked = make_web_search_chain({{"BRAVE_API_KEY", "k"}}, "brave, searxng", s);
  REQUIRE_FALSE(asked.ok());
  CHECK(asked.error().message.find("SEARXNG_URL") != std::string::npos);

  const Env all = {
      {"SEARXNG_URL", "http://127.0.0.1:1"}, {"BRAVE_API_KEY", "k"}, {"TAVILY_API_KEY", "t"}};
  auto def = make_web_search_chain(all, "", s);
  REQUIRE(def.ok());
  CHECK((*def)->names() == std::vector<std::string>{"searxng", "brave", "tavily"});
  auto only_brave = make_web_search_chain({{"BRAVE_API_KEY", "k"}}, "", s);
  REQUIRE(only_brave.ok());
  CHECK((*only_brave)->names() == std::vector<std::string>{"brave"});
  auto ordered = make_web_search_chain(all, "Tavily,brave", s);
  REQUIRE(ordered.ok());
  CHECK((*ordered)->names() == std::vector<std::string>{"tavily", "brave"});
}

TEST_CASE("web search chain: fallback order", "[web_search]") {
  ReplayServer searx, brave, tavily;
  const Env env = {{"SEARXNG_URL", searx.base_url()},
                   {"BRAVE_API_KEY", "test-brave-token"},
                   {"BRAVE_BASE_URL", brave.base_url()},
                   {"TAVILY_API_KEY", "tvly-test"},
                   {"TAVILY_BASE_URL", tavily.base_url()}};
  brave.on("/res/v1/web/search", fixture_reply("brave/web_search_response.json"));
  tavily.on("/search", fixture_reply("tavily/search_response.json"));

  SECTION("first backend 500: the second answers, the failure is listed") {
    searx.on("/search", json_reply(500, "oops"));
    auto chain = make_web_search_chain(env, "", fast_settings());
    REQUIRE(chain.ok());
    auto res = (*chain)->search(query("new york times"), nullptr);
    REQUIRE(res.ok());
    CHECK(res->backend == "brave");
    CHECK_FALSE(res->results.empty());
    REQUIRE(res->failures.size() == 1);
    CHECK(res->failures[0].kind == ErrorKind::kUpstream);
    CHECK(res->failures[0].message.starts_with("searxng: HTTP 500"));
    CHECK(tavily.request_count() == 0);
  }
  SECTION("first backend empty: the second answers") {
    searx.on("/search", json_reply(200, R"({"query": "x", "results": []})"));
    auto chain = make_web_search_chain(env, "searxng,tavily,brave", fast_settings());
    REQUIRE(chain.ok());
    auto res = (*chain)->search(query("x"), nullptr);
    REQUIRE(res.ok());
    CHECK(res->backend == "tavily");
    REQUIRE(res->failures.size() == 1);
    CHECK(res->failures[0].message == "searxng: no results");
    CHECK(brave.request_count() == 0);
  }
  SECTION("every backend failing: an error listing each") {
    searx.on("/search", json_reply(503, "down"));
    brave.on("/res/v1/web/search", fixture_reply("brave/error_429_rate_limited.json", 429));
    tavily.on("/search", fixture_reply("tavily/error_401_invalid_key.json", 401));
    auto chain = make_web_search_chain(env, "", fast_settings());
    REQUIRE(chain.ok());
    auto res = (*chain)->search(query("x"), nullptr);
    REQUIRE_FALSE(res.ok());
    CHECK(res.error().kind == ErrorKind::kUpstream);
    const std::string& m = res.error().message;
    CHECK(m.find("searxng: HTTP 503") != std::string::npos);
    CHECK(m.find("brave: HTTP 429: \"RATE_LIMITED") != std::string::npos);
    CHECK(m.find("tavily: HTTP 401") != std::string::npos);
    CHECK(m.find("test-brave-token") == std::string::npos);
    CHECK(m.find("tvly-test") == std::string::npos);
  }
  SECTION("a stalled backend hits the timeout and the next answers") {
    searx.on("/search", fixture_reply("searxng/search_response.json").head_delay(3000ms));
    WebSearchSettings s = fast_settings();
    s.timeouts.first_byte = 300ms;
    s.timeouts.total = 400ms;
    auto chain = make_web_search_chain(env, "", s);
    REQUIRE(chain.ok());
    const auto start = std::chrono::steady_clock::now();
    auto res = (*chain)->search(query("new york times"), nullptr);
    const auto took = std::chrono::steady_clock::now() - start;
    REQUIRE(res.ok());
    CHECK(res->backend == "brave");
    REQUIRE(res->failures.size() == 1);
    CHECK(res->failures[0].kind == ErrorKind::kTimeout);
    CHECK(took < 2000ms);
  }
  SECTION("nothing listening: kUnavailable naming the URL variable, then the next") {
    Env dead = env;
    dead["SEARXNG_URL"] = "http://127.0.0.1:1";
    auto chain = make_web_search_chain(dead, "searxng,brave", fast_settings());
    REQUIRE(chain.ok());
    auto res = (*chain)->search(query("x"), nullptr);
    REQUIRE(res.ok());
    CHECK(res->backend == "brave");
    REQUIRE(res->failures.size() == 1);
    CHECK(res->failures[0].kind == ErrorKind::kUnavailable);
    CHECK(res->failures[0].message.find("SEARXNG_URL") != std::string::npos);
  }
  SECTION("cancelled before the call") {
    auto chain = make_web_search_chain(env, "", fast_settings());
    REQUIRE(chain.ok());
    CancelFlag cancel{true};
    auto res = (*chain)->search(query("x"), &cancel);
    REQUIRE_FALSE(res.ok());
    CHECK(res.error().kind == ErrorKind::kCancelled);
  }
}

TEST_CASE("web search chain: a registered fake backend", "[web_search]") {
  struct Fake : WebSearch {
    std::string name() const override { return "fake"; }
    Result<std::vector<WebResult>> search(const WebQuery&, const CancelFlag*) override {
      return std::vector<WebResult>{{"T", "https://fake.example/", "s", "", "fake"}};
    }
  };
  auto reg = WebSearchRegistry::with_builtins();
  reg.add("fake", [](const Env&, const WebSearchSettings&) -> Result<std::unique_ptr<WebSearch>> {
    return std::unique_ptr<WebSearch>(std::make_unique<Fake>());
  });
  auto chain = make_web_search_chain({}, "", fast_settings(), reg);
  REQUIRE(chain.ok());
  CHECK((*chain)->names() == std::vector<std::string>{"fake"});
  auto res = (*chain)->search(query("x"), nullptr);
  REQUIRE(res.ok());
  CHECK(res->backend == "fake");
  CHECK(res->failures.empty());
}

TEST_CASE("web search: domain filters, URLs and text cleaned on results", "[web_search]") {
  ReplayServer server;
  const std::string body =
      R"({"query": "x", "results": [)"
      R"({"url": "https://www.nytimes.com/a", "title": "<b>NYT</b> &amp; co", "content": "a&nbsp;&lt;b&gt; &#233;&#x1F600; \u0001 x", "engines": ["google"]},)"
      R"({"url": "javascript:void 0", "title": "bad", "content": ""},)"
      R"({"url": "ftp://files.example/x", "title": "ftp", "content": ""},)"
      R"({"url": "https://WWW.nytimes.com/a/", "title": "dup", "content": ""},)"
      R"({"url": "https://docs.example.com/p", "title": "", "content": "docs"},)"
      R"({"url": "https://notexample.com/p", "title": "lookalike", "content": ""},)"
      R"({"url": "http://example.com/q#frag", "title": "plain", "content": "", "publishedDate": "2026-03-01"}]})";
  server.on("/search", json_reply(200, body));
  auto s = backend("searxng", {{"SEARXNG_URL", server.base_url()}});

  auto all = s->search(query("x"), nullptr);
  REQUIRE(all.ok());
  REQUIRE(all->size() == 4);
  CHECK(all->at(0).title == "NYT & co");
  CHECK(all->at(0).snippet == "a <b> \u00e9\U0001F600 x");
  CHECK(all->at(1).url == "https://docs.example.com/p");
  CHECK(all->at(1).title == "docs.example.com");  // no title: the host
  CHECK(all->at(2).url == "https://notexample.com/p");
  CHECK(all->at(3).published == "2026-03-01T00:00:00Z");  // normalised to ISO 8601 UTC

  WebQuery inc = query("x");
  inc.include_domains = {"example.com"};
  auto only = s->search(inc, nullptr);
  REQUIRE(only.ok());
  REQUIRE(only->size() == 2);
  CHECK(only->at(0).url == "https://docs.example.com/p");
  CHECK(only->at(1).url == "http://example.com/q#frag");

  WebQuery exc = query("x");
  exc.exclude_domains = {"www.nytimes.com", "docs.example.com"};
  auto rest = s->search(exc, nullptr);
  REQUIRE(rest.ok());
  REQUIRE(rest->size() == 2);
  CHECK(rest->at(0).url == "https://notexample.com/p");

  WebQuery few = query("x");
  few.count = 2;
  auto two = s->search(few, nullptr);
  REQUIRE(two.ok());
  CHECK(two->size() == 2);
}

TEST_CASE("web search: garbage bodies are upstream errors", "[web_search]") {
  ReplayServer server;
  auto searx = backend("searxng", {{"SEARXNG_URL", server.base_url()}});
  auto tavily =
      backend("tavily", {{"TAVILY_API_KEY", "tvly-test"}, {"TAVILY_BASE_URL", server.base_url()}});
  auto brave = backend("brave", {{"BRAVE_API_KEY", "b"}, {"BRAVE_BASE_URL", server.base_url()}});
  const std::vector<std::string> bodies = {"<html>not json</html>",
                                           R"({"results": [)",
                                           R"({"results": "many"})",
                                           R"({"results": [{"url": 5, "title": "t"}]})",
                                           "[1,2]",
                                           std::string("\xff\xfe{}", 4)};
  for (const auto& b : bodies) {
    INFO(b);
    server.on("/search", json_reply(200, b));
    auto r1 = searx->search(query("x"), nullptr);
    REQUIRE_FALSE(r1.ok());
    CHECK(r1.error().kind == ErrorKind::kUpstream);
    CHECK(r1.error().message.starts_with("searxng: "));
    auto r2 = tavily->search(query("x"), nullptr);
    REQUIRE_FALSE(r2.ok());
    CHECK(r2.error().kind == ErrorKind::kUpstream);
  }
  server.on("/res/v1/web/search", json_reply(200, R"({"web": {"results": {"a": 1}}})"));
  auto r3 = brave->search(query("x"), nullptr);
  REQUIRE_FALSE(r3.ok());
  CHECK(r3.error().kind == ErrorKind::kUpstream);
  server.on("/res/v1/web/search", json_reply(200, "garbage"));
  auto r4 = brave->search(query("x"), nullptr);
  REQUIRE_FALSE(r4.ok());
  CHECK(r4.error().kind == ErrorKind::kUpstream);
}

TEST_CASE("web search: domain filters become site: operators for SearXNG and Brave",
          "[web_search]") {
  WebQuery q = query("등대 역사");
  CHECK(web_query_with_sites(q) == "등대 역사");
  q.include_domains = {"go.kr", "korea.kr"};
  q.exclude_domains = {"blog.example.com"};
  CHECK(web_query_with_sites(q) == "등대 역사 site:go.kr OR site:korea.kr -site:blog.example.com");
  q.include_domains.assign(8, "a.com");
  size_t sites = 0;
  const std::string text = web_query_with_sites(q);
  for (size_t at = text.find("site:"); at != std::string::npos; at = text.find("site:", at + 1))
    ++sites;
  CHECK(sites == 6);  // at most 5 included, plus the excluded one

  ReplayServer server;
  server.on("/search", fixture_reply("searxng/search_response.json"));
  server.on("/res/v1/web/search", fixture_reply("brave/web_search_response.json"));
  WebQuery f = query("lighthouse");
  f.include_domains = {"speedtest.net"};
  f.exclude_domains = {"spam.example"};
  auto searx = backend("searxng", {{"SEARXNG_URL", server.base_url()}});
  REQUIRE(searx->search(f, nullptr).ok());
  auto brave = backend("brave", {{"BRAVE_API_KEY", "b"}, {"BRAVE_BASE_URL", server.base_url()}});
  REQUIRE(brave->search(f, nullptr).ok());
  REQUIRE(server.request_count() == 2);
  for (const auto& req : server.requests())
    CHECK(params(req).at("q") == "lighthouse site:speedtest.net -site:spam.example");
}

TEST_CASE("web search: text and host helpers", "[web_search]") {
  CHECK(web_plain_text("The <strong>New</strong> <strong>York</strong> Times") ==
        "The New York Times");
  CHECK(web_plain_text("a<br>b<p>c</p>") == "a b c");
  CHECK(web_plain_text("1 < 2 &amp;&amp; 3 > 2") == "1 < 2 && 3 > 2");
  CHECK(web_plain_text("&unknown; &#0; &#xD800;") == "&unknown; \uFFFD \uFFFD");
  CHECK(web_plain_text(std::string("bad \xC3 byte")) == "bad \uFFFD byte");
  CHECK(web_plain_text("  spaced\n\tout  ") == "spaced out");
  CHECK(web_url_host("https://User@Docs.Example.com:8443/x?y") == "docs.example.com");
  CHECK(web_url_host("HTTP://example.com") == "example.com");
  CHECK(web_url_host("javascript:alert(1)").empty());
  CHECK(web_url_host("data:text/html,hi").empty());
  CHECK(web_host_matches("docs.example.com", "example.com"));
  CHECK(web_host_matches("example.com", "www.example.com"));
  CHECK(web_host_matches("www.example.com", ".Example.com"));
  CHECK_FALSE(web_host_matches("notexample.com", "example.com"));
  CHECK_FALSE(web_host_matches("example.com.evil.net", "example.com"));
}

namespace {

// 2024-05-10T12:00:00Z, the fixed "now" of the date tests.
constexpr int64_t kNow = 1'715'342'400;
constexpr int64_t kMay1 = 1'714'521'600;  // 2024-05-01T00:00:00Z
constexpr int64_t kHour = 3'600;
constexpr int64_t kDay = 86'400;

WebResult dated(std::string url, std::string published) {
  return WebResult{"t", std::move(url), "", std::move(published), "test"};
}

}  // namespace

TEST_CASE("web dates: absolute forms", "[web_search][dates]") {
  CHECK(parse_web_date("2024-05-01", kNow) == kMay1);
  CHECK(parse_web_date("2024-05-01T10:00:00Z", kNow) == kMay1 + 10 * kHour);
  CHECK(parse_web_date("2024-05-01T10:00:00z", kNow) == kMay1 + 10 * kHour);
  CHECK(parse_web_date("2024-05-01T10:00:00+09:00", kNow) == kMay1 + kHour);
  CHECK(parse_web_date("2024-05-01T10:00:00-05:30", kNow) == kMay1 + 15 * kHour + 1800);
  CHECK(parse_web_date("2024-05-01T10:00:00+0900", kNow) == kMay1 + kHour);
  CHECK(parse_web_date("2024-05-01T10:00:00.123456+00:00", kNow) == kMay1 + 10 * kHour);
  CHECK(parse_web_date("2024-05-01T10:00:00", kNow) == kMay1 + 10 * kHour);  // no zone: UTC
  CHECK(parse_web_date("2024-05-01T10:00", kNow) == kMay1 + 10 * kHour);
  CHECK(parse_web_date("2024-05-01 10:00:00", kNow) == kMay1 + 10 * kHour);
  CHECK(parse_web_date("2024-05-01T00:30:00+09:00", kNow) == kMay1 - 8 * kHour - 1800);
  CHECK(parse_web_date("Tue, 01 May 2024 10:00:00 GMT", kNow) == kMay1 + 10 * kHour);
  CHECK(parse_web_date("Wed, 1 May 2024 10:00:00 +0900", kNow) == kMay1 + kHour);
  // The weekday is read but not checked against the date (1 May 2024 was a Wednesday).
  CHECK(parse_web_date("01 May 2024 10:00:00 UTC", kNow) == kMay1 + 10 * kHour);
  CHECK(parse_web_date("May 1, 2024", kNow) == kMay1);
  CHECK(parse_web_date("may 1 2024", kNow) == kMay1);
  CHECK(parse_web_date("Sept. 3rd, 2023", kNow) == kMay1 - 241 * kDay);
  CHECK(parse_web_date("January 31, 2024", kNow) == kMay1 - 91 * kDay);
  CHECK(parse_web_date("1 May 2024", kNow) == kMay1);
  CHECK(parse_web_date("1 May, 2024", kNow) == kMay1);
  CHECK(parse_web_date("2024년 5월 1일", kNow) == kMay1);
  CHECK(parse_web_date("2024년5월1일", kNow) == kMay1);
  CHECK(parse_web_date("2024년 5월 1일 10:00", kNow) == kMay1 + 10 * kHour);
  CHECK(parse_web_date("2024.05.01", kNow) == kMay1);
  CHECK(parse_web_date("2024.05.01.", kNow) == kMay1);
  CHECK(parse_web_date("2024. 5. 1.", kNow) == kMay1);
  CHECK(parse_web_date("2024.05.01 10:00", kNow) == kMay1 + 10 * kHour);
  CHECK(parse_web_date("2024/05/01", kNow) == kMay1);
  CHECK(parse_web_date("  2024-05-01\n", kNow) == kMay1);          // surrounding white space
  CHECK(parse_web_date("2024-02-29", kNow) == kMay1 - 62 * kDay);  // leap day
  CHECK(parse_web_date("1990-01-01", kNow) == 631'152'000);
  // The fixtures' values.
  CHECK(parse_web_date("2026-01-02T00:00:00", kNow + 1000 * kDay) == 1'767'312'000);
}

TEST_CASE("web dates: relative forms count back from now", "[web_search][dates]") {
  CHECK(parse_web_date("3 days ago", kNow) == kNow - 3 * kDay);
  CHECK(parse_web_date("1 day ago", kNow) == kNow - kDay);
  CHECK(parse_web_date("1 week ago", kNow) == kNow - 7 * kDay);
  CHECK(parse_web_date("2 weeks ago", kNow) == kNow - 14 * kDay);
  CHECK(parse_web_date("2 hours ago", kNow) == kNow - 2 * kHour);
  CHECK(parse_web_date("an hour ago", kNow) == kNow - kHour);
  CHECK(parse_web_date("a month ago", kNow) == kNow - 30 * kDay);
  CHECK(parse_web_date("2 years ago", kNow) == kNow - 730 * kDay);
  CHECK(parse_web_date("5 minutes ago", kNow) == kNow - 300);
  CHECK(parse_web_date("30 seconds ago", kNow) == kNow - 30);
  CHECK(parse_web_date("2h ago", kNow) == kNow - 2 * kHour);
  CHECK(parse_web_date("3 Days Ago", kNow) == kNow - 3 * kDay);
  CHECK(parse_web_date("yesterday", kNow) == kNow - kDay);
  CHECK(parse_web_date("Yesterday", kNow) == kNow - kDay);
  CHECK(parse_web_date("today", kNow) == kNow);
  CHECK(parse_web_date("just now", kNow) == kNow);
  CHECK(parse_web_date("3일 전", kNow) == kNow - 3 * kDay);
  CHECK(parse_web_date("3일전", kNow) == kNow - 3 * kDay);
  CHECK(parse_web_date("2시간 전", kNow) == kNow - 2 * kHour);
  CHECK(parse_web_date("2 시간 전", kNow) == kNow - 2 * kHour);
  CHECK(parse_web_date("1주 전", kNow) == kNow - 7 * kDay);
  CHECK(parse_web_date("5분 전", kNow) == kNow - 300);
  CHECK(parse_web_date("10초 전", kNow) == kNow - 10);
  CHECK(parse_web_date("2개월 전", kNow) == kNow - 60 * kDay);
  CHECK(parse_web_date("1년 전", kNow) == kNow - 365 * kDay);
  CHECK(parse_web_date("어제", kNow) == kNow - kDay);
  CHECK(parse_web_date("하루 전", kNow) == kNow - kDay);
  CHECK(parse_web_date("방금 전", kNow) == kNow);
}

TEST_CASE("web dates: garbage and absurd dates are nullopt", "[web_search][dates]") {
  const std::vector<std::string> garbage = {
      "",
      "   ",
      "10",
      "2024",
      "202405",
      "20240501",
      "tomorrow",
      "tomorrow-ish",
      "2024-13-45",
      "2024-13-01",
      "2024-02-30",
      "2023-02-29",
      "2024-00-10",
      "2024-5-1",
      "24-05-01",
      "2024-05-01T25:00:00Z",
      "2024-05-01T10:60:00Z",
      "2024-05-01T10:00:00+25:00",
      "2024-05-01T10:00:00 EST",
      "2024-05-01T",
      "2024-05-01 garbage",
      "2024-05-01Z",
      "May 2024",
      "May 32, 2024",
      "Foo 1, 2024",
      "1 Mayo 2024",
      "Tue,",
      "3 days",
      "days ago",
      "3 fortnights ago",
      "3 days ago!",
      "ago",
      "-3 days ago",
      "3일",
      "일 전",
      "3일 후",
      "2024년 13월 1일",
      "2024년 5월",
      "2024.05",
      "2024.13.01",
      "v2024.05.01",
      "a",
      "an hour",
      std::string(300, '1'),
      std::string("2024-05-01") + std::string(195, ' '),  // over 200 bytes, even if trimmed
      std::string("2024-05-\0", 9),
  };
  for (const auto& g : garbage) {
    INFO("'" << g << "'");
    CHECK_FALSE(parse_web_date(g, kNow));
  }
  // Before 1990 or more than a day after now.
  CHECK_FALSE(parse_web_date("1989-12-31T23:59:59Z", kNow));
  CHECK_FALSE(parse_web_date("1970-01-01", kNow));
  CHECK_FALSE(parse_web_date("40 years ago", kNow));
  CHECK_FALSE(parse_web_date("999999 days ago", kNow));
  CHECK_FALSE(parse_web_date("2024-05-12", kNow));
  CHECK_FALSE(parse_web_date("2030-01-01", kNow));
  CHECK(parse_web_date("2024-05-11", kNow) == kNow + 12 * kHour);  // within a day: clock skew
}

TEST_CASE("web dates: recency windows", "[web_search][dates]") {
  CHECK(web_recency_seconds(WebRecency::kNone) == 0);
  CHECK(web_recency_seconds(WebRecency::kDay) == 86'400);
  CHECK(web_recency_seconds(WebRecency::kWeek) == 7 * 86'400);
  CHECK(web_recency_seconds(WebRecency::kMonth) == 31 * 86'400);
  CHECK(web_recency_seconds(WebRecency::kYear) == 366 * 86'400);
  CHECK(web_unix_now() > 1'700'000'000);
}

TEST_CASE("web dates: recency enforced and dates normalised on results", "[web_search][dates]") {
  std::vector<WebResult> in = {
      dated("https://a.example/fresh", "2 hours ago"),
      dated("https://b.example/undated", ""),
      dated("https://c.example/old", "2024-04-01T00:00:00Z"),
      dated("https://d.example/unreadable", "sometime last spring"),
      dated("https://e.example/kst", "2024-05-10T20:00:00+09:00"),
      dated("https://f.example/old-korean", "3주 전"),
      dated("https://g.example/yesterday", "어제"),
      dated("https://h.example/rfc", "Thu, 09 May 2024 13:00:00 GMT"),
      dated("https://i.example/rfc-old", "Wed, 08 May 2024 11:59:59 GMT"),
      dated("https://j.example/date-only", "2024-05-09"),  // counts as its last second
      dated("https://k.example/date-only-old", "2024.05.08"),
  };
  WebQuery q = query("x");
  q.count = 20;

  SECTION("no window: everything kept, parsed dates as ISO 8601 UTC, the rest as given") {
    const auto out = normalise_web_results(in, q, kNow);
    REQUIRE(out.size() == in.size());
    CHECK(out[0].published == "2024-05-10T10:00:00Z");
    CHECK(out[1].published.empty());
    CHECK(out[2].published == "2024-04-01T00:00:00Z");
    CHECK(out[3].published == "sometime last spring");
    CHECK(out[4].published == "2024-05-10T11:00:00Z");
    CHECK(out[5].published == "2024-04-19T12:00:00Z");
    CHECK(out[6].published == "2024-05-09T12:00:00Z");
    CHECK(out[7].published == "2024-05-09T13:00:00Z");
    CHECK(out[9].published == "2024-05-09T00:00:00Z");
    CHECK(out[10].published == "2024-05-08T00:00:00Z");
  }
  SECTION("a day: fresh and undated kept, older ones dropped") {
    q.recency = WebRecency::kDay;
    const auto out = normalise_web_results(in, q, kNow);
    std::vector<std::string> urls;
    for (const auto& r : out) urls.push_back(r.url);
    CHECK(urls == std::vector<std::string>{"https://a.example/fresh", "https://b.example/undated",
                                           "https://d.example/unreadable", "https://e.example/kst",
                                           "https://g.example/yesterday", "https://h.example/rfc",
                                           "https://j.example/date-only"});
  }
  SECTION("a week keeps the last week, a month keeps all but the April one") {
    q.recency = WebRecency::kWeek;
    auto week = normalise_web_results(in, q, kNow);
    CHECK(week.size() == in.size() - 2);
    for (const auto& r : week) {
      CHECK(r.url != "https://c.example/old");
      CHECK(r.url != "https://f.example/old-korean");
    }
    q.recency = WebRecency::kMonth;
    auto month = normalise_web_results(in, q, kNow);
    REQUIRE(month.size() == in.size() - 1);
    for (const auto& r : month) CHECK(r.url != "https://c.example/old");
    q.recency = WebRecency::kYear;
    CHECK(normalise_web_results(in, q, kNow).size() == in.size());
  }
  SECTION("dropped results do not count against the cut, nor as repeats") {
    std::vector<WebResult> rep = {dated("https://a.example/p", "2020-01-01"),
                                  dated("https://a.example/p", "1 hour ago"),
                                  dated("https://b.example/q", "1 hour ago")};
    q.recency = WebRecency::kDay;
    q.count = 2;
    const auto out = normalise_web_results(rep, q, kNow);
    REQUIRE(out.size() == 2);
    CHECK(out[0].url == "https://a.example/p");
    CHECK(out[0].published == "2024-05-10T11:00:00Z");
    CHECK(out[1].url == "https://b.example/q");
  }
}
