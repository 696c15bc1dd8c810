#include "agent/web_retrieval.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <sstream>

#include "agent/extractive.h"
#include "agent/pipeline.h"
#include "index/ingest.h"
#include "tests/agent/fixed_answer_model.h"
#include "tests/support/web_site.h"

using namespace chaja;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

// A site with one page of each kind the fetcher must cope with, and a search listing them all.
struct Web {
  test::WebSite site{CHAJA_FIXTURES};
  Web() {
    site.html("/news/library", site.fixture("web/news_ko.html"));
    site.html("/docs/cache", site.fixture("web/docs_en.html"));
    site.html("/lighthouse", site.fixture("web/lighthouse.html"));
    test::SitePage euc;
    euc.content_type = "text/html; charset=EUC-KR";
    euc.body = test::to_cp949(
        "<html><head><title>등대 안내</title></head><body><article><h1>그레이윅 등대</h1>"
        "<p>그레이윅 등대는 1871년에 처음 불을 밝혔으며 지금은 박물관으로 쓰인다.</p>"
        "</article></body></html>");
    site.page("/euckr", euc);
    site.redirect("/go/1", "/go/2");
    site.redirect("/go/2", "/moved/lighthouse");
    site.html("/moved/lighthouse", site.fixture("web/lighthouse.html"));
    site.html("/slow", "<p>late lighthouse page</p>", 4s);
    test::SitePage huge;
    huge.body = "<html><body><p>" + std::string(600'000, 'x') + "</p></body></html>";
    site.page("/huge", huge);
    test::SitePage binary;
    binary.content_type = "application/octet-stream";
    binary.body = std::string(
        "\x7f"
        "ELF\0\0\1",
        7);
    site.page("/binary", binary);
    site.redirect("/to-private", "http://10.0.0.1/admin");
    site.results({
        {"Greywick lighthouse", "/lighthouse", "The lighthouse was first lit in 1871.",
         "2025-06-01T08:00:00"},
        {"한빛일보", "/news/library", "한빛시 도서관 야간 개관", ""},
        {"Widgetry docs", "/docs/cache", "Configuring the cache", ""},
        {"등대 안내", "/euckr", "그레이윅 등대", ""},
        {"Moved", "/go/1", "moved lighthouse page", ""},
        {"Slow", "/slow", "A slow page about the lighthouse keeper.", ""},
        {"Huge", "/huge", "A huge page.", ""},
        {"Binary", "/binary", "A binary file.", ""},
        {"Gone", "/missing", "A page that is gone.", ""},
        {"Private", "/to-private", "A redirect inward.", ""},
    });
  }

  WebSettings settings() const {
    WebSettings s;
    s.results = 10;
    s.max_pages = 10;
    s.fetch.page_timeout = 700ms;
    s.fetch.total_timeout = 3s;
    s.fetch.max_bytes = 256 << 10;
    s.fetch.use_env_allow = false;
    s.fetch.allow = *FetchAllowList::parse("127.0.0.1");
    s.cache = false;
    return s;
  }

  std::unique_ptr<WebRetriever> retriever(WebSettings s, bool cache) {
    Env env{{"SEARXNG_URL", site.base_url()}};
    s.cache = cache;
    auto made = make_web_retriever(env, s, "");
    REQUIRE(made.ok());
    if (cache) {
      auto chain = make_web_search_chain(env, "", s.search);
      REQUIRE(chain.ok());
      auto pc = PageCache::open("");
      REQUIRE(pc.ok());
      return std::make_unique<WebRetriever>(std::move(*chain), std::move(*pc), s);
    }
    return std::move(*made);
  }
};

bool has_source(const std::vector<Passage>& ps, const std::string& url) {
  return std::any_of(ps.begin(), ps.end(), [&](const Passage& p) { return p.source == url; });
}

const Passage* first_from(const std::vector<Passage>& ps, const std::string& url) {
  for (const Passage& p : ps)
    if (p.source == url) return &p;
  return nullptr;
}

}  // namespace

TEST_CASE("web retrieval reads every usable page and stands in snippets for the rest",
          "[web_retrieval]") {
  Web web;
  auto r = web.retriever(web.settings(), false);
  WebQuery q;
  q.text = "when was the Greywick lighthouse first lit";
  const auto t0 = Clock::now();
  auto found = r->find(q);
  const auto took = Clock::now() - t0;
  REQUIRE(found.ok());
  CHECK(found->backend == "searxng");
  CHECK(web.site.last_query() == q.text);
  // The slow page's deadline fired; the call did not wait the page's 4 s out.
  CHECK(took < 2500ms);
  for (const std::string& n : found->notes) UNSCOPED_INFO(n);
  CHECK(found->pages == 5);   // lighthouse, news, docs, EUC-KR, the redirect chain's end
  CHECK(found->failed == 5);  // slow, huge, binary, 404, redirect to a private address
  const auto& ps = found->passages;

  const Passage* light = first_from(ps, web.site.url("/lighthouse"));
  REQUIRE(light != nullptr);
  CHECK(light->kind == SourceKind::kWeb);
  CHECK(light->domain == "127.0.0.1");
  CHECK(light->title == "Greywick Point lighthouse history");
  CHECK(light->published == "2025-06-01T08:00:00Z");
  CHECK(light->text.find("first lit on 3 March 1871") != std::string::npos);
  CHECK(light->text.find("Home") == std::string::npos);  // the menu is not main text

  const Passage* euc = first_from(ps, web.site.url("/euckr"));
  REQUIRE(euc != nullptr);
  CHECK(euc->text.find("1871년에 처음 불을 밝혔으며") != std::string::npos);
  const Passage* news = first_from(ps, web.site.url("/news/library"));
  REQUIRE(news != nullptr);
  CHECK(news->text.find("쿠키") == std::string::npos);
  CHECK(news->published == "2026-03-14T00:30:00Z");

  // A redirect chain is cited where the text was read.
  CHECK(has_source(ps, web.site.url("/moved/lighthouse")));
  CHECK_FALSE(has_source(ps, web.site.url("/go/1")));

  // Pages that failed give their snippets; the private address was never contacted.
  const Passage* slow = first_from(ps, web.site.url("/slow"));
  REQUIRE(slow != nullptr);
  CHECK(slow->text == "A slow page about the lighthouse keeper.");
  for (const char* path : {"/huge", "/binary", "/missing", "/to-private"})
    CHECK(has_source(ps, web.site.url(path)));
  auto noted = [&](const std::string& path) {
    return std::any_of(found->notes.begin(), found->notes.end(), [&](const std::string& n) {
      return n.starts_with(web.site.url(path) + ":");
    });
  };
  for (const char* path : {"/slow", "/huge", "/binary", "/missing", "/to-private"})
    CHECK(noted(path));
}

TEST_CASE("web retrieval serves a second ask from the page cache", "[web_retrieval]") {
  Web web;
  auto r = web.retriever(web.settings(), true);
  WebQuery q;
  q.text = "Greywick lighthouse";
  auto first = r->find(q);
  REQUIRE(first.ok());
  CHECK(first->cached == 0);
  const int fetched_before = web.site.hits("/lighthouse");
  auto second = r->find(q);
  REQUIRE(second.ok());
  CHECK(second->cached == 5);  // the usable pages; failures are fetched again
  CHECK(web.site.hits("/lighthouse") == fetched_before);
  CHECK(second->passages.size() == first->passages.size());
}

TEST_CASE("web retrieval enforces the recency window on the pages' own dates", "[web_retrieval]") {
  Web web;
  auto r = web.retriever(web.settings(), false);
  WebQuery q;
  q.text = "Greywick lighthouse";
  q.recency = WebRecency::kDay;
  auto found = r->find(q);
  REQUIRE(found.ok());
  // The pages dated in their own markup are older than a day (the lighthouse 2025-06-01 also
  // in its search result, the docs 2025-11-02 and the news 2026-03-14 only in the page);
  // undated pages stay.
  CHECK_FALSE(has_source(found->passages, web.site.url("/lighthouse")));
  CHECK_FALSE(has_source(found->passages, web.site.url("/docs/cache")));
  CHECK_FALSE(has_source(found->passages, web.site.url("/news/library")));
  CHECK(has_source(found->passages, web.site.url("/euckr")));
}

TEST_CASE("web retrieval drops a page redirected outside the allowed domains", "[web_retrieval]") {
  Web web;
  web.site.redirect("/away", "http://localhost:" + web.site.base_url().substr(17) + "/lighthouse");
  web.site.results(
      {{"Away", "/away", "leaves the domain", ""}, {"Light", "/lighthouse", "stays", ""}});
  auto s = web.settings();
  s.fetch.allow = *FetchAllowList::parse("127.0.0.1,localhost");
  auto r = web.retriever(s, false);
  WebQuery q;
  q.text = "lighthouse";
  q.include_domains = {"127.0.0.1"};
  auto found = r->find(q);
  REQUIRE(found.ok());
  CHECK(has_source(found->passages, web.site.url("/lighthouse")));
  for (const Passage& p : found->passages) CHECK(p.domain == "127.0.0.1");
}

TEST_CASE("web search failing is an error the caller sees", "[web_retrieval]") {
  auto r = make_web_retriever(Env{{"SEARXNG_URL", "http://127.0.0.1:1"}}, WebSettings{}, "");
  REQUIRE(r.ok());
  WebQuery q;
  q.text = "anything";
  auto found = (*r)->find(q);
  REQUIRE_FALSE(found.ok());
  CHECK(found.error().message.find("searxng") != std::string::npos);

  auto none = make_web_retriever(Env{}, WebSettings{}, "");
  REQUIRE_FALSE(none.ok());
  CHECK(none.error().kind == ErrorKind::kUnavailable);
  CHECK(none.error().message.find("SEARXNG_URL") != std::string::npos);
}

// --- the pipeline with the web on ---------------------------------------------------------------

namespace {

// Records the prompt's sources and answers "[1]".
ChatModelFactory echo_factory() {
  return [](const ModelName&) -> Result<std::unique_ptr<ChatModel>> {
    // Cites every source it may, so the citation list is the whole ranking.
    return std::unique_ptr<ChatModel>(new test::FixedAnswerModel(
        "fake:echo", "It was first lit in 1871 [1][2][3][4][5][6][7][8]."));
  };
}

void add_local(Store& store, const std::string& collection) {
  DocumentInput doc;
  doc.collection = collection;
  doc.title = "Greywick keeper's log";
  doc.source = "notes/greywick.md";
  doc.text =
      "The Greywick Point lighthouse was automated in 1968, and the last keeper left that "
      "winter. The lighthouse lamp was converted to electricity in 1931.";
  REQUIRE(store.put(doc, chunk_text(doc.text)).ok());
}

}  // namespace

TEST_CASE("an answer with the web on ranks local and web passages in one citation list",
          "[web_retrieval][pipeline]") {
  Web web;
  auto store = Store::open("");
  REQUIRE(store.ok());
  add_local(**store, kDefaultCollection);
  Retriever retriever(**store);
  Answerer answerer(retriever, echo_factory());
  answerer.set_web(web.retriever(web.settings(), false));

  AskRequest req;
  req.query = "When was the Greywick Point lighthouse first lit?";
  req.web = true;
  req.model = "openai:echo";
  auto r = answerer.ask(req);
  if (!r) FAIL(r.error().message);
  bool local = false, from_web = false;
  for (const Citation& c : r->citations) {
    if (c.kind == SourceKind::kLocal) {
      local = true;
      CHECK(c.source == "notes/greywick.md");
      CHECK(c.doc_id > 0);
    } else {
      from_web = true;
      CHECK(c.source.starts_with(web.site.base_url()));
      CHECK(c.domain == "127.0.0.1");
      CHECK(c.doc_id == 0);
    }
  }
  CHECK(local);
  CHECK(from_web);
  // The page that answers the question ranks first.
  REQUIRE_FALSE(r->citations.empty());
  CHECK(r->citations[0].title.find("lighthouse") != std::string::npos);
  CHECK(r->citations[0].kind == SourceKind::kWeb);
  // At most two passages of one page.
  std::map<std::string, int> per_source;
  for (const Citation& c : r->citations) CHECK(++per_source[c.source] <= 2);
  CHECK(r->timings.web_search_ms > 0);
  CHECK(r->timings.web_pages == 5);
  CHECK(r->timings.web_failed == 5);
  CHECK(r->warnings.size() >= 5);

  // The extractive model answers from the web too, citing the page by URL.
  req.model = "extractive";
  auto e = answerer.ask(req);
  REQUIRE(e.ok());
  CHECK(e->answer.find("1871") != std::string::npos);
  CHECK(std::any_of(e->citations.begin(), e->citations.end(), [&](const Citation& c) {
    return c.kind == SourceKind::kWeb && c.source.find("/lighthouse") != std::string::npos;
  }));
}

TEST_CASE("the web answers alone without a collection", "[web_retrieval][pipeline]") {
  Web web;
  auto store = Store::open("");
  REQUIRE(store.ok());
  Retriever retriever(**store);
  Answerer answerer(retriever);
  answerer.set_web(web.retriever(web.settings(), false));
  AskRequest req;
  req.query = "그레이윅 등대는 언제 처음 불을 밝혔나요?";
  req.web = true;
  auto r = answerer.ask(req);
  REQUIRE(r.ok());
  REQUIRE_FALSE(r->citations.empty());
  for (const Citation& c : r->citations) CHECK(c.kind == SourceKind::kWeb);
  CHECK(r->answer.find("1871") != std::string::npos);

  // Filters that leave nothing: the no-answer sentence, and a warning that says why.
  req.exclude_domains = {"127.0.0.1"};
  auto nothing = answerer.ask(req);
  REQUIRE(nothing.ok());
  CHECK(nothing->citations.empty());
  CHECK(nothing->answer == no_answer_text(req.query));
  CHECK(std::find(nothing->warnings.begin(), nothing->warnings.end(),
                  "the web search found nothing usable within the domain and recency filters") !=
        nothing->warnings.end());
  req.exclude_domains.clear();

  // A named collection that does not exist is still a mistake.
  req.collection = "nosuch";
  auto missing = answerer.ask(req);
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().kind == ErrorKind::kNotFound);
}

TEST_CASE("web requests fail clearly when the web is off or the filters are wrong",
          "[web_retrieval][pipeline]") {
  auto store = Store::open("");
  REQUIRE(store.ok());
  add_local(**store, kDefaultCollection);
  Retriever retriever(**store);
  Answerer answerer(retriever);
  AskRequest req;
  req.query = "lighthouse";
  req.web = true;
  auto r = answerer.ask(req);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().kind == ErrorKind::kUnavailable);
  CHECK(r.error().message.find("SEARXNG_URL") != std::string::npos);

  req.web = false;
  req.include_domains = {"example.com"};
  r = answerer.ask(req);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().kind == ErrorKind::kInvalidInput);

  req.web = true;
  req.include_domains = {"https://example.com/path"};
  r = answerer.ask(req);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find("host name") != std::string::npos);
}

TEST_CASE("a failing web search leaves the collection's answer, with a warning",
          "[web_retrieval][pipeline]") {
  auto store = Store::open("");
  REQUIRE(store.ok());
  add_local(**store, kDefaultCollection);
  Retriever retriever(**store);
  Answerer answerer(retriever);
  auto web = make_web_retriever(Env{{"SEARXNG_URL", "http://127.0.0.1:1"}}, WebSettings{}, "");
  REQUIRE(web.ok());
  answerer.set_web(std::move(*web));
  AskRequest req;
  req.query = "When was the Greywick lighthouse automated?";
  req.web = true;
  auto r = answerer.ask(req);
  REQUIRE(r.ok());
  CHECK(r->answer.find("1968") != std::string::npos);
  REQUIRE(r->warnings.size() == 1);
  CHECK(r->warnings[0].find("web search failed") != std::string::npos);
}

TEST_CASE("with the web on, a metadata filter keeps the collection's other documents out",
          "[web_retrieval][pipeline][filter]") {
  Web web;
  auto store = Store::open("");
  REQUIRE(store.ok());
  add_local(**store, kDefaultCollection);  // metadata {}: no department
  Retriever retriever(**store);
  Answerer answerer(retriever, echo_factory());
  answerer.set_web(web.retriever(web.settings(), false));
  AskRequest req;
  req.query = "When was the Greywick Point lighthouse first lit?";
  req.web = true;
  req.model = "openai:echo";
  req.filter.conditions.push_back({"department", {FilterValue::of_string("legal")}});
  auto r = answerer.ask(req);
  if (!r) FAIL(r.error().message);
  REQUIRE_FALSE(r->citations.empty());
  // Web pages are not filtered; the local document does not match.
  for (const Citation& c : r->citations) CHECK(c.kind == SourceKind::kWeb);
}
