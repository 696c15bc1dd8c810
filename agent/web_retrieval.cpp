#include "agent/web_retrieval.h"

#include <ctime>
#include <optional>

#include "index/main_text.h"

namespace chaja {
namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string iso_utc(int64_t seconds) {
  const std::time_t t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// A page's date in one form (ISO 8601 UTC) when it parses; the text as given otherwise.
std::string normal_date(const std::string& text, int64_t now) {
  if (text.empty()) return text;
  auto when = parse_web_date(text, now);
  return when ? iso_utc(*when) : text;
}

// False when the date is known and older than the window.
bool recent_enough(const std::string& date, WebRecency recency, int64_t now) {
  if (recency == WebRecency::kNone || date.empty()) return true;
  auto when = parse_web_date(date, now);
  return !when || *when >= now - web_recency_seconds(recency);
}

FetchResult from_cache(const CachedPage& page) {
  FetchResult r;
  r.url = page.url;
  r.final_url = page.final_url;
  r.status = page.status;
  r.content_type = page.content_type;
  r.charset = page.charset;
  r.body = page.body;
  return r;
}

CachedPage to_cache(const FetchResult& r, int64_t now) {
  CachedPage page;
  page.url = r.url;
  page.final_url = r.final_url;
  page.status = r.status;
  page.content_type = r.content_type;
  page.charset = r.charset;
  page.body = r.body;
  page.fetched_at = now;
  return page;
}

Passage snippet_passage(const WebResult& result) {
  Passage p;
  p.kind = SourceKind::kWeb;
  p.title = result.title;
  p.source = result.url;
  p.text = result.snippet;
  p.domain = web_url_host(result.url);
  p.published = result.published;
  return p;
}

std::string short_error(const Status& s) {
  return s.ok() ? "" : s.error().message;
}

}  // namespace

WebRetriever::WebRetriever(std::unique_ptr<WebSearchChain> chain, std::unique_ptr<PageCache> cache,
                           WebSettings settings)
    : chain_(std::move(chain)), cache_(std::move(cache)), settings_(std::move(settings)) {
  if (settings_.fetch.respect_robots && !settings_.fetch.robots_cache)
    settings_.fetch.robots_cache = std::make_shared<RobotsCache>();
}

WebRetriever::~WebRetriever() = default;

Result<WebFindings> WebRetriever::find(const WebQuery& query, const std::atomic<bool>* cancel) {
  WebFindings out;
  const int64_t now = unix_now();

  auto start = Clock::now();
  WebQuery q = query;
  q.count = settings_.results;
  auto answer = chain_->search(q, cancel);
  out.search_ms = ms_since(start);
  if (!answer) return answer.error();
  out.backend = answer->backend;
  for (const Error& e : answer->failures) out.notes.push_back(e.message);
  const std::vector<WebResult>& results = answer->results;

  // Pages: the cached ones, then the rest fetched in parallel.
  start = Clock::now();
  const size_t n_pages = std::min(results.size(), settings_.max_pages);
  std::vector<std::optional<FetchResult>> pages(n_pages);
  std::vector<std::string> to_fetch;
  std::vector<size_t> fetch_slot;
  for (size_t i = 0; i < n_pages; ++i) {
    if (cache_)
      if (auto hit = cache_->get(results[i].url, now)) {
        pages[i] = from_cache(*hit);
        ++out.cached;
        continue;
      }
    to_fetch.push_back(results[i].url);
    fetch_slot.push_back(i);
  }
  if (!to_fetch.empty()) {
    std::vector<FetchResult> fetched = fetch_pages(to_fetch, settings_.fetch, cancel);
    for (size_t j = 0; j < fetched.size(); ++j) {
      if (fetched[j].ok() && cache_) (void)cache_->put(to_cache(fetched[j], now));
      pages[fetch_slot[j]] = std::move(fetched[j]);
    }
  }
  out.fetch_ms = ms_since(start);

  // Main text, chunked; a page that gives none is replaced by its snippet.
  start = Clock::now();
  std::vector<Passage> snippets;
  for (size_t i = 0; i < results.size(); ++i) {
    const WebResult& result = results[i];
    if (!recent_enough(result.published, query.recency, now)) continue;
    if (i >= n_pages) {
      if (!result.snippet.empty()) snippets.push_back(snippet_passage(result));
      continue;
    }
    const FetchResult& page = *pages[i];
    std::string problem = short_error(page.error);
    MainText main;
    if (problem.empty()) {
      if (page.content_type == "text/plain") {
        main.text = page.body;
      } else {
        auto extracted = extract_main_text(page.body, page.final_url);
        if (extracted)
          main = std::move(*extracted);
        else
          problem = extracted.error().message;
      }
      if (problem.empty() && main.text.empty()) problem = "no main text";
    }
    if (!problem.empty()) {
      ++out.failed;
      out.notes.push_back(result.url + ": " + problem);
      if (!result.snippet.empty()) snippets.push_back(snippet_passage(result));
      continue;
    }
    const std::string published =
        normal_date(main.published.empty() ? result.published : main.published, now);
    if (!recent_enough(published, query.recency, now)) {
      out.notes.push_back(result.url + ": older than the recency window");
      continue;
    }
    // A page redirected to another host is cited where it was read.
    const std::string url = page.final_url.empty() ? result.url : page.final_url;
    const std::string domain = web_url_host(url);
    if (!query.include_domains.empty() || !query.exclude_domains.empty()) {
      WebResult landed = result;
      landed.url = url;
      if (normalise_web_results({landed}, query).empty()) {
        out.notes.push_back(result.url + ": redirected outside the allowed domains");
        continue;
      }
    }
    ++out.pages;
    size_t kept = 0;
    for (Chunk& c : chunk_text(main.text, settings_.chunking)) {
      if (kept++ == settings_.max_passages_per_page) break;
      Passage p;
      p.kind = SourceKind::kWeb;
      p.title = main.title.empty() ? result.title : main.title;
      p.source = url;
      p.section = std::move(c.section);
      p.text = std::move(c.text);
      p.domain = domain;
      p.published = published;
      out.passages.push_back(std::move(p));
    }
  }
  for (Passage& p : snippets) out.passages.push_back(std::move(p));
  out.extract_ms = ms_since(start);
  return out;
}

Result<std::unique_ptr<WebRetriever>> make_web_retriever(const Env& env,
                                                         const WebSettings& settings,
                                                         const std::filesystem::path& cache_file) {
  auto chain = make_web_search_chain(env, settings.order, settings.search);
  if (!chain) return chain.error();
  std::unique_ptr<PageCache> cache;
  if (settings.cache && !cache_file.empty()) {
    // The cache only saves time: one that cannot be opened means fetching every page.
    auto opened = PageCache::open(cache_file, settings.cache_options);
    if (opened) cache = std::move(*opened);
  }
  return std::make_unique<WebRetriever>(std::move(*chain), std::move(cache), settings);
}

}  // namespace chaja
