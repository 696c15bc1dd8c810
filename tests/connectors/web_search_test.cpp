// Web search backends against replay servers on 127.0.0.1 replaying the recorded fixtures
// (tests/fixtures/{searxng,brave,tavily}/): the exact requests (path, parameters, key headers,
// Tavily's body), normalised results, every error fixture mapped to its kind with the provider's
// message quoted and the key never shown, the fallback chain (error, empty, timeout, all failing),
// domain filters enforced on results, garbage bodies, and the text normalisation helpers.
#include "connectors/web_search.h"

#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include <chrono>
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
  q.recency = WebRecency::kDay;
  q.language = "en";
  auto res = s->search(q, nullptr);
  REQUIRE(res.ok());
  REQUIRE_FALSE(res->empty());
  const WebResult& r = res->at(0);
  CHECK(r.url == "https://www.nytimes.com");
  CHECK(r.title == "The New York Times - Breaking News, US News, World News and Videos");
  CHECK(r.snippet.find("<strong>") == std::string::npos);
  CHECK(r.snippet.find("journalists of The New York Times from") != std::string::npos);
  CHECK(r.published == "1 week ago");
  CHECK(r.engine == "brave");
  CHECK(res->size() <= 5);

  const auto req = server.requests().at(0);
  CHECK(req.method == "GET");
  CHECK(req.path == "/res/v1/web/search");
  const auto p = params(req);
  CHECK(p.at("q") == "new york times");
  CHECK(p.at("count") == "5");
  CHECK(p.at("freshness") == "pd");
  CHECK(p.at("search_lang") == "en");
  CHECK(req.header("X-Subscription-Token") == "test-brave-token");
  CHECK(req.header("Accept") == "application/json");
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
  CHECK(all->at(3).published == "2026-03-01");

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
