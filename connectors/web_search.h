// Web search backends behind one interface: SearXNG (its JSON API), the Brave Search API and
// Tavily, each configured from the CONTRACT's variables, plus a chain that tries them in a
// configured order and falls through on an error, a timeout or an empty result.
//
// Every backend returns normalised results: title and snippet without HTML tags or entities and
// in valid UTF-8, http(s) URLs only, no URL twice, at most query.count results, and the query's
// domain filters enforced on the results even when the backend ignored them. A published date
// that parses (parse_web_date) is rewritten as ISO 8601 UTC ("2024-05-01T10:00:00Z"); one that
// does not is kept as given. The query's recency window is enforced too: a result whose date
// parses and is older than the window is dropped; a result with no date or one we cannot read is
// kept, since we cannot tell its age.
// Errors: a provider's error status maps to kUpstream (bad key, malformed request, 5xx, garbage
// body), kRateLimited (429, quota and plan limits), kTimeout, kUnavailable (not configured: the
// message names the variable; nothing listening). The provider's message is quoted; keys never
// appear in messages.
// Thread safety: a configured WebSearch and WebSearchChain may be used by several threads at once.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "connectors/chat.h"
#include "connectors/http_client.h"
#include "connectors/provider.h"
#include "connectors/retry.h"
#include "index/result.h"

namespace chaja {

struct WebResult {
  std::string title;
  std::string url;
  std::string snippet;
  // "2024-05-01T10:00:00Z" (UTC) when the backend's date parses, else as the backend gave it
  // (possibly ""); relative dates ("1 week ago") are counted back from the time of the search.
  std::string published;
  // The backend ("searxng", "brave", "tavily"); SearXNG adds its upstream engines:
  // "searxng:duckduckgo,google".
  std::string engine;
};

enum class WebRecency { kNone, kDay, kWeek, kMonth, kYear };

struct WebQuery {
  std::string text;
  int count = 10;        // wanted results, 1..20 (clamped)
  std::string language;  // "ko", "en" or "" (any)
  WebRecency recency = WebRecency::kNone;
  // Host names ("example.com" also matches "docs.example.com"). Non-empty include: only those.
  std::vector<std::string> include_domains;
  std::vector<std::string> exclude_domains;
};

class WebSearch {
 public:
  virtual ~WebSearch() = default;
  virtual std::string name() const = 0;
  // Normalised results (possibly none). kInvalidInput for an empty query text.
  virtual Result<std::vector<WebResult>> search(const WebQuery& query,
                                                const CancelFlag* cancel) = 0;
};

struct WebSearchSettings {
  HttpTimeouts timeouts{std::chrono::milliseconds(5'000), std::chrono::milliseconds(10'000),
                        std::chrono::milliseconds(10'000), std::chrono::milliseconds(15'000)};
  RetryPolicy retry{2, std::chrono::milliseconds(300), std::chrono::milliseconds(2'000),
                    std::chrono::milliseconds(5'000)};
  size_t max_response_bytes = size_t{8} << 20;
};

// One backend from the environment: "searxng" (SEARXNG_URL), "brave" (BRAVE_API_KEY,
// BRAVE_BASE_URL), "tavily" (TAVILY_API_KEY, TAVILY_BASE_URL). kUnavailable naming the variable
// when it is not set; kNotFound for an unknown name.
using WebSearchFactory = std::function<Result<std::unique_ptr<WebSearch>>(
    const Env& env, const WebSearchSettings& settings)>;

// Backends by name. The built-in one knows searxng, brave and tavily; tests add fakes.
// Not thread-safe while being changed.
class WebSearchRegistry {
 public:
  static WebSearchRegistry with_builtins();
  void add(const std::string& name, WebSearchFactory factory);
  bool has(const std::string& name) const { return factories_.contains(name); }
  Result<std::unique_ptr<WebSearch>> make(const std::string& name, const Env& env,
                                          const WebSearchSettings& settings) const;
  // Names in the default order ("searxng", "brave", "tavily", then added ones by name).
  std::vector<std::string> names() const { return order_; }

 private:
  std::map<std::string, WebSearchFactory> factories_;
  std::vector<std::string> order_;
};

// What a chain answered: the results, the backend that gave them, and why the ones before it
// did not (each failure's message starts with the backend's name).
struct WebSearchAnswer {
  std::vector<WebResult> results;
  std::string backend;
  std::vector<Error> failures;
};

class WebSearchChain {
 public:
  explicit WebSearchChain(std::vector<std::unique_ptr<WebSearch>> backends)
      : backends_(std::move(backends)) {}
  // Tries each backend in order; an error, a timeout or an empty result moves on. When every
  // backend fails: the error of the last one (kind) with a message listing each failure; when
  // all answered empty: an answer with no results and `backend` = the last one. Cancelled:
  // kCancelled at once.
  Result<WebSearchAnswer> search(const WebQuery& query, const CancelFlag* cancel);
  std::vector<std::string> names() const;

 private:
  std::vector<std::unique_ptr<WebSearch>> backends_;
};

// A chain from a comma-separated order ("searxng,brave,tavily"). An empty order: every
// configured backend in the registry's order (kUnavailable naming the variables when none is).
// A named backend that is not configured or unknown is an error (the caller asked for it).
Result<std::unique_ptr<WebSearchChain>> make_web_search_chain(
    const Env& env, const std::string& order, const WebSearchSettings& settings,
    const WebSearchRegistry& registry = WebSearchRegistry::with_builtins());

// Normalisation shared by the backends (exposed for tests).
// HTML tags removed, entities decoded, invalid UTF-8 replaced, white space collapsed, trimmed.
std::string web_plain_text(std::string_view html);
// The lower-case host of an http(s) URL, "" for anything else.
std::string web_url_host(std::string_view url);
// True when host is domain or a subdomain of it (case-insensitive; a leading "www." or "."
// of the domain ignored).
bool web_host_matches(std::string_view host, std::string_view domain);
// Unix seconds (UTC) of a published date as backends give it: ISO 8601 ("2024-05-01",
// "2024-05-01T10:00:00Z", "...+09:00", "2024-05-01 10:00:00"; no zone means UTC), RFC 1123
// ("Tue, 01 May 2024 10:00:00 GMT"), "May 1, 2024", "1 May 2024", "2024.05.01", "2024/05/01",
// Korean "2024년 5월 1일", and relative dates counted back from `now` ("3 days ago", "an hour
// ago", "yesterday", "3일 전", "2시간 전", "어제"; a month is 30 days, a year 365). Strict: the
// whole text must be one date ("10", "2024" and "2024-13-45" are not). nullopt when unreadable,
// longer than 200 bytes, before 1990 or more than a day after `now`.
std::optional<int64_t> parse_web_date(std::string_view text, int64_t now);
// The length of a recency window in seconds: day 86400, week 7 days, month 31, year 366, none 0.
int64_t web_recency_seconds(WebRecency recency);
// The current time in unix seconds.
int64_t web_unix_now();
// The query text with the domain filters as search operators, for backends that read them from
// the query (SearXNG's engines, Brave): "text site:a.com OR site:b.com -site:c.com". At most 5 of
// each kind (a long query is cut by some engines); the results are filtered afterwards anyway.
std::string web_query_with_sites(const WebQuery& query);
// Cleans every result, drops non-http(s) URLs, repeats, filtered domains and results dated
// before now - the query's recency window (undated ones stay), cuts to count.
std::vector<WebResult> normalise_web_results(std::vector<WebResult> results, const WebQuery& query,
                                             int64_t now = web_unix_now());

}  // namespace chaja
