// A cache of fetched web pages in one SQLite file, with a time-to-live and a cap on the bytes
// kept. It is only a cache: a file that is not a readable cache is replaced, a read that fails is
// a miss, and synchronous=NORMAL means a crash may lose the last puts (never the file).
//
// Thread safety: one PageCache may be used by any number of threads at once (a mutex guards each
// of its connections; reads and writes use separate connections when the cache is a file).
// Several processes may open the same file: WAL mode and short busy timeouts; a get never fails
// and never waits long on another process's lock, it misses.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "index/result.h"

namespace chaja {

struct CachedPage {
  std::string url;           // as requested (the key), non-empty
  std::string final_url;     // after redirects
  int status = 0;            // HTTP status
  std::string content_type;  // media type, lower case
  std::string charset;       // charset the body was converted from
  std::string body;          // UTF-8
  int64_t fetched_at = 0;    // unix seconds
};

struct PageCacheOptions {
  // A page fetched more than ttl before `now` is not returned, and is pruned. Not negative.
  std::chrono::seconds ttl{3600};
  // Total body bytes kept; beyond it the oldest pages (by fetched_at) are evicted first.
  size_t max_bytes = size_t{256} << 20;
  // A page whose body is bigger (or bigger than max_bytes) is not cached: put returns ok and
  // stores nothing (and drops any older copy of that url).
  size_t max_page_bytes = size_t{8} << 20;
};

class PageCache {
 public:
  // Opens or creates the cache file (e.g. <data>/web_cache.db; missing parent folders are
  // created); an empty path: a private in-memory cache. A file that is not a readable cache
  // (corrupt, wrong schema, not SQLite) is removed and recreated. Errors: kInvalidInput (negative
  // ttl), kUnavailable (another process holds a lock for too long), kIo (cannot create or open).
  static Result<std::unique_ptr<PageCache>> open(const std::filesystem::path& file,
                                                 PageCacheOptions options = {});
  ~PageCache();
  PageCache(const PageCache&) = delete;
  PageCache& operator=(const PageCache&) = delete;

  // The page stored for url if it was fetched at most ttl before now (unix seconds); nullopt
  // otherwise, and also on any SQLite error or lock: a cache miss, never a failure.
  std::optional<CachedPage> get(const std::string& url, int64_t now);

  // Stores (replaces) the page under page.url, stamped page.fetched_at. Prunes pages expired
  // relative to page.fetched_at (on the first put, every 64 puts, and whenever the bytes exceed
  // max_bytes), then evicts the oldest pages while the bytes exceed max_bytes. Errors:
  // kInvalidInput (empty url; url, final_url, content_type or charset over 64 KiB), kUnavailable
  // (another process holds the write lock for over a second), kIo.
  Status put(const CachedPage& page);

  // Rows and body bytes currently stored (for tests and stats); zeros on error.
  struct Stats {
    int64_t pages = 0;
    int64_t bytes = 0;
  };
  Stats stats();

 private:
  struct Impl;
  explicit PageCache(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace chaja
