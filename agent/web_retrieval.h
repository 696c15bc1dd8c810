// The web side of an answer: search the web (connectors/web_search.h), fetch the result pages in
// parallel through the page cache (connectors/web_fetch.h, index/page_cache.h), extract each
// page's main text (index/main_text.h) and chunk it (index/chunker.h) into passages marked with
// their URL, domain and date. The pipeline then ranks them together with the local index's
// passages (index/pool_ranker.h).
//
// A page that cannot be used (too slow, too big, refused, not text, no main text) gives its search
// snippet instead: one slow or broken site costs its detail, never the answer. The query's domain
// and recency filters go to the backends and are enforced again here, on the results' dates and
// on the dates the pages themselves state.
//
// Thread safety: find() may run on many request threads at once.
#pragma once

#include <atomic>
#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "agent/answer.h"
#include "connectors/provider.h"
#include "connectors/web_fetch.h"
#include "connectors/web_search.h"
#include "index/chunker.h"
#include "index/page_cache.h"
#include "index/result.h"

namespace chaja {

struct WebSettings {
  std::string order;     // backends, comma-separated; "" for every configured one
  int results = 8;       // search results asked for
  size_t max_pages = 6;  // of which pages fetched (the best ones, in the backend's order)
  size_t max_passages_per_page = 8;  // chunks kept from the top of each page's main text
  WebSearchSettings search;
  FetchOptions fetch;
  ChunkOptions chunking;
  bool cache = true;  // keep fetched pages in <data>/web_cache.db
  PageCacheOptions cache_options;

  WebSettings() {
    fetch.page_timeout = std::chrono::milliseconds(5'000);
    fetch.total_timeout = std::chrono::milliseconds(8'000);
    fetch.connect_timeout = std::chrono::milliseconds(3'000);
    fetch.max_bytes = size_t{2} << 20;
  }
};

struct WebFindings {
  std::vector<Passage> passages;   // page chunks (page by page, in result order), then snippets
  std::string backend;             // the search backend that answered
  std::vector<std::string> notes;  // what went wrong on the way (a backend's failure, a page's)
  double search_ms = 0;
  double fetch_ms = 0;
  double extract_ms = 0;
  int pages = 0;   // pages whose text was used
  int cached = 0;  // of which from the cache
  int failed = 0;  // pages fetched but not usable (their snippet stands in)
};

class WebRetriever {
 public:
  // cache may be null: every page is fetched.
  WebRetriever(std::unique_ptr<WebSearchChain> chain, std::unique_ptr<PageCache> cache,
               WebSettings settings);
  ~WebRetriever();

  // Errors: the search's (every backend failed, cancelled); pages failing are notes, not errors.
  Result<WebFindings> find(const WebQuery& query, const std::atomic<bool>* cancel = nullptr);

  const WebSettings& settings() const { return settings_; }

 private:
  std::unique_ptr<WebSearchChain> chain_;
  std::unique_ptr<PageCache> cache_;
  WebSettings settings_;
};

// The web retriever from the environment's search variables (CONTRACT §2) and the settings;
// the page cache at cache_file ("" for none). kUnavailable naming the variables when no backend
// is configured.
Result<std::unique_ptr<WebRetriever>> make_web_retriever(const Env& env,
                                                         const WebSettings& settings,
                                                         const std::filesystem::path& cache_file);

}  // namespace chaja
