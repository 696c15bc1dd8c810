// What every HTTP provider call shares (chat, embeddings, model lists): the per-provider options,
// a pool of HttpClients so concurrent calls each get their own client while connections are
// reused, a non-streaming send with retries, and the helpers that keep provider text and keys
// out of messages safely.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "connectors/chat.h"
#include "connectors/http_client.h"
#include "connectors/limiter.h"
#include "connectors/retry.h"
#include "index/result.h"

namespace chaja {

struct HttpCallOptions {
  std::string provider;      // "openai", for model names and messages
  std::string key_variable;  // the variable holding the key, named in 401/403 messages
  HttpTimeouts timeouts;     // per attempt
  RetryPolicy retry;
  size_t max_response_bytes = size_t{16} << 20;  // a whole (non-stream) response body
  // Shared by every model and embedder of one provider; null: no limit.
  std::shared_ptr<ConcurrencyLimiter> limiter;
  // Extra veto on retrying an error response the status alone would retry (e.g. OpenAI's
  // insufficient_quota 429). Null: the status (and x-should-retry) decide.
  std::function<bool(int status, std::string_view body)> retryable;
};

// HttpClients for concurrent use: lease() hands out an idle client (or a new one) and takes it
// back when the lease ends, so consecutive calls reuse connections. Thread-safe.
class HttpClientPool {
 public:
  class Lease {
   public:
    Lease(HttpClientPool* pool, std::unique_ptr<HttpClient> client)
        : pool_(pool), client_(std::move(client)) {}
    Lease(Lease&&) = default;
    Lease& operator=(Lease&&) = delete;
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    ~Lease() {
      if (client_) pool_->give_back(std::move(client_));
    }
    HttpClient& operator*() { return *client_; }
    HttpClient* operator->() { return client_.get(); }

   private:
    HttpClientPool* pool_;
    std::unique_ptr<HttpClient> client_;
  };

  explicit HttpClientPool(size_t max_idle = 8) : max_idle_(max_idle) {}
  Lease lease();

 private:
  void give_back(std::unique_ptr<HttpClient> client);
  size_t max_idle_;
  std::mutex mu_;
  std::vector<std::unique_ptr<HttpClient>> idle_;
};

// Provider text fit for an error message: at most max_bytes (cut at a UTF-8 boundary, "..."
// added), invalid UTF-8 replaced, control characters turned into spaces.
std::string excerpt(std::string_view text, size_t max_bytes = 300);

// The error with every occurrence of the key replaced by "<redacted>" (a provider may echo it).
Error scrub_key(Error error, const std::string& api_key);

// "base" + "/path" without doubling or dropping the slash.
std::string join_url(std::string_view base, std::string_view path);

// Percent-encodes s for one URL path segment (RFC 3986 unreserved characters stay).
std::string url_path_segment(std::string_view s);

// Sends a whole-body request, retrying as options.retry allows: transport failures worth
// retrying and error statuses worth retrying (retryable_response and the options' veto), with
// backoff or the provider's Retry-After. Each attempt holds one slot of options.limiter.
// Returns the last response, whatever its status (the caller maps error statuses), or the last
// transport error; a cancelled call is kCancelled. `attempts` receives the number made.
Result<HttpResponse> send_with_retries(HttpClientPool& pool, const HttpRequest& request,
                                       const HttpCallOptions& options, const CancelFlag* cancel,
                                       int& attempts);

}  // namespace chaja
