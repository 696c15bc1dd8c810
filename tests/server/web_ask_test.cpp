// End to end, web answers: the real `chaja ask --web` and `chaja serve` with SEARXNG_URL pointing
// at a local web (tests/support/web_site.h: a SearXNG /search endpoint in the real wire format and
// the pages its results link to), the fetcher allowed onto loopback by CHAJA_FETCH_ALLOW. Each
// case uses a fresh --data dir, so the page cache starts empty. Nothing here links Chaja code.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "../support/chaja_process.h"
#include "../support/web_site.h"

namespace {

using namespace chaja::test;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// --- The local web ----------------------------------------------------------------------------

constexpr const char* kQuestion = "When was the Greywick Point lighthouse first lit?";
constexpr const char* kFact = "3 March 1871";

const char* kKeepers =
    "<html><head><title>Keepers of the Greywick light</title></head><body><article>"
    "<h1>The keepers</h1>"
    "<p>Ada Morrow kept the Greywick Point light for twenty-two years and trained her son "
    "Tomas, who kept it after her.</p>"
    "<p>The keepers' cottage at the foot of the lighthouse is now a small museum.</p>"
    "</article></body></html>";

// The slow page answers after this; the config gives each page 800 ms.
constexpr auto kSlowDelay = 4s;

struct Web {
  chaja::test::WebSite site{CHAJA_FIXTURES};
  TempDir dir;

  Web() {
    site.html("/lighthouse", site.fixture("web/lighthouse.html"));
    site.html("/keepers", kKeepers);
    site.html("/slow",
              "<html><body><article><p>The Greywick Point lighthouse was first lit by a slow "
              "server long ago.</p></article></body></html>",
              kSlowDelay);
    site.results({
        {"Greywick lighthouse", "/lighthouse", "The lighthouse was first lit in 1871.",
         "2025-06-01T08:00:00"},
        {"Keepers", "/keepers", "Ada Morrow and her son kept the light.", ""},
        {"Slow", "/slow", "A slow page about the lighthouse.", ""},
    });
    std::ofstream(dir / "chaja.json")
        << R"({"web": {"page_timeout_ms": 800, "total_timeout_ms": 3000}})";
  }

  std::string env() const {
    return "SEARXNG_URL=" + site.base_url() + " CHAJA_FETCH_ALLOW=127.0.0.1";
  }
  std::vector<std::string> env_list() const {
    return {"SEARXNG_URL=" + site.base_url(), "CHAJA_FETCH_ALLOW=127.0.0.1",
            "CHAJA_CONFIG=" + config()};
  }
  std::string config() const { return dir / "chaja.json"; }
  std::string data() const { return dir / "data"; }
  // `chaja ask --web` with the environment, the config and the data dir.
  Run ask(const std::string& question, const std::string& extra = "--json") const {
    return run(env(), "ask '" + question + "' --web " + extra + " --config '" + config() +
                          "' --data '" + data() + "'");
  }
  std::vector<std::string> urls() {
    return {site.url("/lighthouse"), site.url("/keepers"), site.url("/slow")};
  }
};

// The contract's web citation, pointing at one of the site's pages.
void check_web_citation(const json& c, const std::vector<std::string>& urls) {
  INFO(c.dump());
  CHECK(c["kind"] == "web");
  CHECK(c["doc_id"].is_null());
  CHECK(c["chunk_id"].is_null());
  REQUIRE(c["url"].is_string());
  CHECK(c["source"] == c["url"]);
  CHECK(std::find(urls.begin(), urls.end(), c["url"].get<std::string>()) != urls.end());
  CHECK(c["domain"] == "127.0.0.1");
  CHECK(c["title"].is_string());
  CHECK_FALSE(c["title"].get<std::string>().empty());
  CHECK(c["snippet"].is_string());
  CHECK_FALSE(c["snippet"].get<std::string>().empty());
  CHECK((c["published"].is_null() || c["published"].is_string()));
}

const json* citation_for(const json& citations, const std::string& url) {
  for (const json& c : citations)
    if (c.value("url", "") == url) return &c;
  return nullptr;
}

}  // namespace

TEST_CASE("e2e web: ask --web --json answers from the web alone; a slow page costs no time",
          "[e2e][web]") {
  Web web;
  const Run r = web.ask(kQuestion);
  INFO(describe(r));
  REQUIRE(r.exit_code == 0);
  // The slow page is given up after its 800 ms, far before it would answer.
  CHECK(r.ms < 3000);
  const json j = parse_json(r);
  INFO(j.dump(2));
  CHECK(has(j["answer"].get<std::string>(), kFact));
  REQUIRE(j["citations"].is_array());
  REQUIRE_FALSE(j["citations"].empty());
  for (size_t i = 0; i < j["citations"].size(); ++i) {
    CHECK(j["citations"][i]["n"] == i + 1);
    check_web_citation(j["citations"][i], web.urls());
  }
  const json* lighthouse = citation_for(j["citations"], web.site.url("/lighthouse"));
  REQUIRE(lighthouse != nullptr);
  CHECK((*lighthouse)["title"] == "Greywick Point lighthouse history");
  CHECK((*lighthouse)["published"] == "2025-06-01T08:00:00Z");
  CHECK(has(j["answer"].get<std::string>(), marker((*lighthouse)["n"].get<int>())));
  // Timings: the web's phases, the slow page counted as failed and named in a warning.
  const json& t = j["timings"];
  CHECK(t["web_search_ms"].is_number());
  CHECK(t["web_fetch_ms"].is_number());
  CHECK(t["web_extract_ms"].is_number());
  CHECK(t["rank_ms"].is_number());
  CHECK(t["web_fetch_ms"].get<double>() < 2000);
  CHECK(t["web_pages"] == 2);
  CHECK(t["web_cached"] == 0);
  CHECK(t["web_failed"] == 1);
  REQUIRE(j["warnings"].is_array());
  CHECK(std::any_of(j["warnings"].begin(), j["warnings"].end(), [&](const json& w) {
    return has(w.get<std::string>(), web.site.url("/slow"));
  }));
  CHECK(web.site.searches.load() == 1);
  CHECK(web.site.hits("/lighthouse") == 1);
  CHECK(web.site.hits("/keepers") == 1);
}

TEST_CASE("e2e web: after chaja index, local and web citations share one list", "[e2e][web]") {
  Web web;
  fs::create_directories(web.dir.path() / "docs");
  std::ofstream(web.dir.path() / "docs" / "greywick.md")
      << "# Greywick Point notes\n\nThe Greywick Point lighthouse was automated in 1968 after a "
         "storm wrecked the keepers' boat.\n";
  std::ofstream(web.dir.path() / "docs" / "tea.md")
      << "# 보성 녹차\n\n보성 녹차 축제는 매년 5월에 열린다.\n";
  const Run indexed = run("", "index '" + (web.dir / "docs") + "' --data '" + web.data() + "'");
  REQUIRE(indexed.exit_code == 0);

  const Run r = web.ask("When was the Greywick Point lighthouse first lit, and when automated?");
  INFO(describe(r));
  REQUIRE(r.exit_code == 0);
  const json j = parse_json(r);
  INFO(j.dump(2));
  const json& cs = j["citations"];
  REQUIRE(cs.is_array());
  size_t local = 0, web_cited = 0;
  for (size_t i = 0; i < cs.size(); ++i) {
    CHECK(cs[i]["n"] == i + 1);
    if (cs[i]["kind"] == "local") {
      ++local;
      CHECK(cs[i]["doc_id"].is_number_integer());
      CHECK(cs[i]["chunk_id"].is_number_integer());
      CHECK(has(cs[i]["source"].get<std::string>(), "greywick.md"));
      CHECK_FALSE(cs[i].contains("url"));
    } else {
      ++web_cited;
      check_web_citation(cs[i], web.urls());
    }
  }
  CHECK(local == 1);
  CHECK(web_cited >= 1);
  const std::string answer = j["answer"];
  CHECK(has(answer, "1968"));
  CHECK(has(answer, "1871"));
  CHECK(j["timings"]["web_pages"] == 2);
}

TEST_CASE("e2e web: plain text ends with the sources, web ones marked (web)", "[e2e][web]") {
  Web web;
  const Run r = web.ask(kQuestion, "");
  INFO(describe(r));
  REQUIRE(r.exit_code == 0);
  CHECK(has(r.out, kFact));
  const size_t at = r.out.find("\nSources:\n");
  REQUIRE(at != std::string::npos);
  CHECK(has(r.out.substr(0, at), "[1]"));
  // After "Sources:" only "[n] title — URL (web)" lines, up to the related questions if any.
  const size_t related = r.out.find("\nRelated:\n", at);
  std::istringstream lines(
      r.out.substr(at + 10, related == std::string::npos ? std::string::npos : related - at - 10));
  int n = 0;
  bool lighthouse = false;
  for (std::string line; std::getline(lines, line);) {
    INFO(line);
    ++n;
    CHECK(line.rfind(marker(n) + " ", 0) == 0);
    REQUIRE(line.size() > 6);
    CHECK(line.substr(line.size() - 6) == " (web)");
    CHECK(has(line, " — " + web.site.base_url() + "/"));
    lighthouse = lighthouse || has(line, " — " + web.site.url("/lighthouse") + " (web)");
  }
  CHECK(n >= 1);
  CHECK(lighthouse);
  CHECK(r.out.back() == '\n');
  // The slow page's note goes to stderr as a warning, not into the answer.
  CHECK(has(r.err, "warning: " + web.site.url("/slow")));
  CHECK_FALSE(has(r.out, "warning"));
}

TEST_CASE("e2e web: no backend configured and a bad recency are one clear line", "[e2e][web]") {
  TempDir dir;
  const std::string data = " --data '" + (dir / "data") + "'";
  SECTION("no SEARXNG_URL: exit 1, naming the variable") {
    const Run r = run("", "ask 'When was the lighthouse first lit?' --web" + data);
    INFO(describe(r));
    CHECK(r.exit_code == 1);
    CHECK(r.out.empty());
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
    CHECK(r.err.rfind("chaja: ", 0) == 0);
    CHECK(has(r.err, "SEARXNG_URL"));
    const Run j = run("", "ask 'When was the lighthouse first lit?' --web --json" + data);
    CHECK(j.exit_code == 1);
    CHECK(j.out.empty());
    CHECK(has(j.err, "SEARXNG_URL"));
  }
  SECTION("--recency fortnight: usage, exit 2, before any search") {
    chaja::test::WebSite site{CHAJA_FIXTURES};
    const Run r = run("SEARXNG_URL=" + site.base_url(),
                      "ask 'When was the lighthouse first lit?' --web --recency fortnight" + data);
    INFO(describe(r));
    CHECK(r.exit_code == 2);
    CHECK(r.out.empty());
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
    CHECK(has(r.err, "fortnight"));
    CHECK(has(r.err, "day, week, month, year"));
    CHECK(site.searches.load() == 0);
  }
  SECTION("a domain filter without --web: usage, exit 2") {
    const Run r = run("", "ask 'When was the lighthouse first lit?' --domains a.com" + data);
    INFO(describe(r));
    CHECK(r.exit_code == 2);
    CHECK(has(r.err, "web"));
  }
}

TEST_CASE("e2e web: POST /v1/ask with web, streamed and filtered", "[e2e][web]") {
  Web web;
  Serve serve(web.env_list(), web.data(), web.dir / "serve.log");
  auto client = serve.client();

  SECTION("whole: 200 with web citations") {
    const auto t0 = Clock::now();
    auto res = client.Post("/v1/ask", json{{"query", kQuestion}, {"web", true}}.dump(),
                           "application/json");
    const auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count();
    REQUIRE(res);
    INFO(res->body);
    REQUIRE(res->status == 200);
    CHECK(ms < 2500);  // the slow page was given up
    const json j = json::parse(res->body);
    CHECK(has(j["answer"].get<std::string>(), kFact));
    REQUIRE_FALSE(j["citations"].empty());
    for (const json& c : j["citations"]) check_web_citation(c, web.urls());
    CHECK(citation_for(j["citations"], web.site.url("/lighthouse")) != nullptr);
    CHECK(j["model"] == "extractive");
    CHECK(j["timings"]["web_pages"] == 2);
  }

  SECTION("streamed: sources with a web citation, then deltas, then done") {
    auto res =
        client.Post("/v1/ask", json{{"query", kQuestion}, {"web", true}, {"stream", true}}.dump(),
                    "application/json");
    REQUIRE(res);
    INFO(res->body);
    REQUIRE(res->status == 200);
    CHECK(has(res->get_header_value("Content-Type"), "text/event-stream"));
    const std::vector<SseEvent> events = parse_sse(res->body);
    REQUIRE(events.size() >= 3);
    // The steps (web search, pages read) stream first, then the sources.
    size_t at = 0;
    std::vector<std::string> steps;
    while (at < events.size() && events[at].event == "step")
      steps.push_back(json::parse(events[at++].data)["kind"]);
    REQUIRE(steps.size() >= 2);
    CHECK(steps[steps.size() - 2] == "web_search");
    CHECK(steps.back() == "read");
    REQUIRE(at < events.size());
    CHECK(events[at].event == "sources");
    CHECK(events.back().event == "done");
    size_t first_delta = events.size();
    for (size_t i = 0; i < events.size() && first_delta == events.size(); ++i)
      if (events[i].event == "delta") first_delta = i;
    REQUIRE(first_delta < events.size());
    const json sources = json::parse(events[at].data);
    REQUIRE_FALSE(sources["citations"].empty());
    CHECK(sources["citations"][0]["kind"] == "web");
    check_web_citation(sources["citations"][0], web.urls());
    std::string streamed;
    for (const SseEvent& e : events)
      if (e.event == "delta") streamed += json::parse(e.data)["text"].get<std::string>();
    const json done = json::parse(events.back().data);
    CHECK(done["answer"] == streamed);
    CHECK(has(streamed, kFact));
    CHECK(done["citations"] == sources["citations"]);
    CHECK(done["timings"]["web_pages"].is_number_integer());
  }

  SECTION("every result denied by the domain filter: an answer with no citations") {
    auto res = client.Post("/v1/ask",
                           json{{"query", kQuestion},
                                {"web", true},
                                {"search_domain_filter", json::array({"-127.0.0.1"})}}
                               .dump(),
                           "application/json");
    REQUIRE(res);
    INFO(res->body);
    REQUIRE(res->status == 200);
    const json j = json::parse(res->body);
    // What the extractive model says when it has nothing to go on; no warning is required.
    CHECK(j["citations"].empty());
    CHECK(j["warnings"].is_array());
    CHECK(j["timings"]["web_pages"] == 0);
    CHECK_FALSE(has(j["answer"].get<std::string>(), "1871"));
    CHECK_FALSE(has(j["answer"].get<std::string>(), "[1]"));
    CHECK_FALSE(j["answer"].get<std::string>().empty());
    // No page of the site was fetched: the filter applied before fetching.
    CHECK(web.site.hits("/lighthouse") == 0);
    CHECK(web.site.hits("/keepers") == 0);
    CHECK(web.site.searches.load() == 1);
    // The filter also went to SearXNG, as an operator in the query.
    CHECK(has(web.site.last_query(), "-site:127.0.0.1"));
  }

  SECTION("bad filters: 400 with a JSON error") {
    for (const json& body :
         {json{{"query", kQuestion}, {"web", true}, {"search_recency_filter", "fortnight"}},
          json{{"query", kQuestion}, {"web", true}, {"search_domain_filter", "a.com"}},
          json{{"query", kQuestion}, {"web", true}, {"search_domain_filter", json::array({"a/b"})}},
          json{{"query", kQuestion}, {"search_domain_filter", json::array({"a.com"})}}}) {
      INFO(body.dump());
      auto res = client.Post("/v1/ask", body.dump(), "application/json");
      REQUIRE(res);
      INFO(res->body);
      CHECK(res->status == 400);
      const json j = json::parse(res->body, nullptr, false);
      REQUIRE(j.is_object());
      CHECK(j["error"]["type"].is_string());
      CHECK(j["error"]["message"].is_string());
    }
    CHECK(web.site.searches.load() == 0);
  }
}

TEST_CASE("e2e web: a second identical ask reads its pages from the page cache", "[e2e][web]") {
  Web web;
  const Run first = web.ask(kQuestion);
  INFO(describe(first));
  REQUIRE(first.exit_code == 0);
  const json a = parse_json(first);
  CHECK(a["timings"]["web_cached"] == 0);
  CHECK(a["timings"]["web_pages"] == 2);
  CHECK(web.site.hits("/lighthouse") == 1);
  CHECK(web.site.hits("/keepers") == 1);
  CHECK(fs::exists(fs::path(web.data()) / "web_cache.db"));

  const Run second = web.ask(kQuestion);
  INFO(describe(second));
  REQUIRE(second.exit_code == 0);
  const json b = parse_json(second);
  INFO(b.dump(2));
  CHECK(b["timings"]["web_cached"] == 2);
  CHECK(b["timings"]["web_pages"] == 2);
  CHECK(web.site.hits("/lighthouse") == 1);  // not fetched again
  CHECK(web.site.hits("/keepers") == 1);
  CHECK(web.site.searches.load() == 2);  // the search itself is not cached
  CHECK(b["answer"] == a["answer"]);
  CHECK(b["citations"] == a["citations"]);
}
