// The web page fetcher: many pages at once on one libcurl multi handle (only web_fetch.cpp and
// http_client.cpp include curl), each page guarded against SSRF and decoded to UTF-8.
//
// What fetch_pages() guarantees:
//   - One result per requested URL, in request order, whatever happens to the others: a page's
//     failure (timeout, too large, refused, 404) is that page's `error`, never the call's.
//   - At most max_parallel transfers at once; a per-page deadline (all redirect hops and the
//     robots.txt wait included) and a total deadline; the `cancel` flag is checked every 50 ms.
//   - http and https only. Redirects are followed by this code (up to max_redirects hops), and
//     every hop passes the SSRF guard again.
//   - Every host of the requested URLs is resolved at once, each on its own thread, as the call
//     starts (getaddrinfo blocks, and one after another would add the lookups up); a page
//     waits for its own host at most until its deadline. Hosts first seen in a redirect are
//     resolved when reached.
//   - SSRF guard: the host is resolved before connecting; loopback, private,
//     CGNAT, link-local (cloud metadata 169.254.169.254 included), unspecified, multicast and
//     reserved addresses, also in their IPv4-mapped IPv6 form, are refused unless the allow-list
//     names the host or a range holding the address. The connection is pinned to the checked
//     address (CURLOPT_RESOLVE), so a DNS answer that changes between check and connect is not
//     used. Proxies are not used (a proxy would connect somewhere unchecked).
//   - Bodies over max_bytes are aborted (kTooLarge). Content types other than text/html,
//     application/xhtml+xml and text/plain are refused (kUnsupported) before the body is read.
//   - Charset from the Content-Type header, else a <meta charset> / http-equiv in the first
//     2 KiB, else detection; EUC-KR and its aliases are read as CP949 (a superset).
//   - robots.txt honoured by default: fetched once per origin per call, groups for "chaja" or
//     else "*", Allow/Disallow path prefixes (longest match wins). A robots.txt that fails to
//     load (4xx, 5xx, network) allows everything.
// Thread safety: fetch_pages() is reentrant; it blocks the calling thread. A lookup still running
// when the call returns finishes on its own thread and is dropped.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "index/result.h"

namespace chaja {

// Hosts and address ranges the SSRF guard lets through.
class FetchAllowList {
 public:
  // Comma-separated entries: host names (exact, case-insensitive), IP addresses and CIDR ranges
  // ("127.0.0.1", "10.0.0.0/8", "::1", "fd00::/8"). Blank entries are skipped; a malformed
  // range is kInvalidInput.
  static Result<FetchAllowList> parse(std::string_view text);
  // Adds the entries of another list.
  void merge(const FetchAllowList& other);

  bool allows_host(std::string_view host) const;
  // `address`: a numeric IPv4 or IPv6 address.
  bool allows_address(std::string_view address) const;
  bool empty() const { return hosts_.empty() && ranges_.empty(); }

 private:
  struct Range {
    unsigned char bytes[16];  // IPv4 stored as IPv4-mapped IPv6
    int prefix;               // in bits, over the 16 bytes
  };
  std::vector<std::string> hosts_;
  std::vector<Range> ranges_;
};

// True when a numeric address is one the guard refuses by default (loopback, private, ...).
// A string that is not an address returns true.
bool is_restricted_address(std::string_view address);

std::string default_fetch_user_agent();

// robots.txt texts by origin, kept between fetch_pages() calls for a time-to-live, so a site's
// robots.txt costs one round trip per hour instead of one per answer. Only definitive answers
// are kept (a 2xx body, or a 4xx meaning "no rules"); a network error or 5xx is asked again.
// Thread-safe; at most max_origins entries (the oldest dropped first).
class RobotsCache {
 public:
  explicit RobotsCache(std::chrono::seconds ttl = std::chrono::hours(1), size_t max_origins = 4096)
      : ttl_(ttl), max_origins_(max_origins) {}
  std::optional<std::string> get(const std::string& origin);
  void put(const std::string& origin, std::string robots_txt);

 private:
  struct Entry {
    std::string text;
    std::chrono::steady_clock::time_point stored;
  };
  std::mutex mu_;
  std::map<std::string, Entry> entries_;
  std::chrono::seconds ttl_;
  size_t max_origins_;
};

// Resolves a host name (or numeric address) and port to numeric addresses, in preference order.
using HostResolver = std::function<Result<std::vector<std::string>>(const std::string& host,
                                                                    const std::string& port)>;

struct FetchOptions {
  size_t max_parallel = 8;
  std::chrono::milliseconds page_timeout{10'000};
  std::chrono::milliseconds total_timeout{30'000};
  std::chrono::milliseconds connect_timeout{5'000};
  size_t max_bytes = size_t{4} << 20;  // per page, after decompression
  int max_redirects = 5;
  std::string user_agent = default_fetch_user_agent();
  FetchAllowList allow;       // besides CHAJA_FETCH_ALLOW when use_env_allow
  bool use_env_allow = true;  // read CHAJA_FETCH_ALLOW (a malformed one is ignored)
  bool respect_robots = true;
  // Shared between calls (and threads); null: robots.txt is read once per origin per call.
  std::shared_ptr<RobotsCache> robots_cache;
  // Empty: getaddrinfo. Tests put a slow or scripted one here.
  HostResolver resolver;
};

struct FetchResult {
  std::string url;           // as requested
  std::string final_url;     // after redirects (the last URL tried)
  int status = 0;            // HTTP status of the last response, 0 if none
  std::string content_type;  // media type, lower case, no parameters
  std::string charset;       // the charset the body was converted from ("utf-8" if none)
  std::string body;          // UTF-8
  Status error;              // ok, or why this page has no usable body
  long long elapsed_ms = 0;
  bool ok() const { return error.ok(); }
};

// Fetches every URL; see the guarantees above. `cancel` may be null; a cancelled call returns
// kCancelled for the pages not finished.
std::vector<FetchResult> fetch_pages(const std::vector<std::string>& urls,
                                     const FetchOptions& options,
                                     const std::atomic<bool>* cancel = nullptr);

// robots.txt rules for one user agent token; exposed for tests.
// True when `path` may be fetched under `robots_txt` for agent token `agent` ("chaja").
bool robots_allows(std::string_view robots_txt, std::string_view agent, std::string_view path);

}  // namespace chaja
