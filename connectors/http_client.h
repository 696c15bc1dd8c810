// A small HTTP(S) client for the connectors, on libcurl (only http_client.cpp includes curl).
//
// Two calls: send() collects the whole body; stream() hands body bytes to a callback as they
// arrive (SSE, NDJSON). Both block the calling thread and run the callbacks on it.
//
// What it guarantees:
//   - TLS peer and host verification on; HTTP/2 when the server offers it over TLS; the proxy
//     environment variables (http_proxy, https_proxy, no_proxy, ...) honoured as libcurl does;
//     redirects not followed. send() asks for compressed bodies (gzip, deflate, and br where
//     built in) and decodes them; stream() does not ask, because a compressing server may hold a
//     stream's bytes back in its compressor (a caller's own Accept-Encoding header is sent as is,
//     and then the body arrives still encoded).
//   - Four timeouts, each a distinct kTimeout error whose message names it: connect (DNS, TCP and
//     TLS handshake), first byte (from the request being sent to the first response byte), idle
//     (longest gap between received bytes after the first) and total (the whole exchange).
//   - Cancellation: a callback returning false, or the cancel flag becoming true. The flag and the
//     timeouts are checked at least every Options::poll_interval (50 ms) even when nothing arrives.
//     A cancelled call is not an error: it returns the response so far with `cancelled` set.
//   - A body larger than max_body_bytes is a kTooLarge error (counted after decoding).
//   - A response cut short (connection closed early, bad chunking) is a kUpstream error; a refused
//     connection or an unresolvable host is kUnavailable; a malformed URL or header kInvalidInput.
//     HTTP error statuses (4xx, 5xx) are not errors here: the caller reads `status`.
//   - Nothing is logged. Error messages carry the URL without user info, query or fragment
//     (redact_url) and never a header value; describe() gives a loggable request summary with
//     secret headers (Authorization, x-api-key, cookies, anything named like a key or token)
//     redacted.
//   - Connection reuse: each client keeps its connections (and DNS and TLS session caches) open
//     between calls, so consecutive calls to one host share a connection.
// Thread safety: one transfer at a time per client. Concurrent calls on one client are refused
// (kInternal); give each thread its own client. Different clients are independent. libcurl's
// global initialisation happens once, thread-safely, when the first client is made.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "index/result.h"

namespace chaja {

struct HttpHeader {
  std::string name;
  std::string value;
};

// Header list in arrival order; names compare case-insensitively (ASCII).
class HttpHeaders {
 public:
  HttpHeaders() = default;
  HttpHeaders(std::initializer_list<HttpHeader> headers) : entries_(headers) {}

  void add(std::string name, std::string value);
  // Replaces every header of that name by one.
  void set(std::string name, std::string value);
  // The first value of that name, or nullopt. Valid until this list changes.
  std::optional<std::string_view> get(std::string_view name) const;
  std::vector<std::string_view> get_all(std::string_view name) const;
  bool contains(std::string_view name) const { return get(name).has_value(); }

  const std::vector<HttpHeader>& entries() const { return entries_; }
  bool empty() const { return entries_.empty(); }
  size_t size() const { return entries_.size(); }
  void clear() { entries_.clear(); }

 private:
  std::vector<HttpHeader> entries_;
};

// Zero or negative: no limit of that kind (connect then uses libcurl's default, 300 s).
struct HttpTimeouts {
  std::chrono::milliseconds connect{10'000};
  std::chrono::milliseconds first_byte{120'000};
  std::chrono::milliseconds idle{60'000};
  std::chrono::milliseconds total{600'000};
};

struct HttpRequest {
  std::string method = "GET";
  std::string url;
  HttpHeaders headers;
  std::string body;  // sent as is; set Content-Type yourself
  HttpTimeouts timeouts;
  size_t max_body_bytes = size_t{64} << 20;  // 0: no limit
};

struct HttpResponse {
  int status = 0;       // 0 when cancelled before the status line arrived
  HttpHeaders headers;  // of the final response (1xx interim headers are dropped)
  std::string body;     // send(): the body; stream(): always empty
  bool cancelled = false;
};

// Callbacks for stream(); both run on the calling thread, inside stream(). Return false to cancel.
struct HttpStreamHandler {
  // Once, when the final status line and headers are complete, before any body byte.
  std::function<bool(const HttpResponse& head)> on_head;
  // Body bytes in arrival order, any chunking.
  std::function<bool(std::string_view bytes)> on_data;
};

// True for headers whose values must never be logged.
bool is_secret_header(std::string_view name);
// The URL without user info, query and fragment (which may hold credentials), for messages.
std::string redact_url(std::string_view url);
// "METHOD url (name: value, ...)" with secret header values replaced by "<redacted>".
std::string describe(const HttpRequest& request);

class HttpClient {
 public:
  struct Options {
    std::string user_agent = "chaja";
    std::chrono::milliseconds poll_interval{50};  // cancel flag and timeout checks while idle
  };

  HttpClient() : HttpClient(Options{}) {}
  explicit HttpClient(Options options);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Whole response. `cancel` may be null; it is only read.
  Result<HttpResponse> send(const HttpRequest& request, const std::atomic<bool>* cancel = nullptr);

  // Body delivered to handler.on_data; the result holds status and headers (body empty).
  Result<HttpResponse> stream(const HttpRequest& request, const HttpStreamHandler& handler,
                              const std::atomic<bool>* cancel = nullptr);

 private:
  struct Impl;
  Result<HttpResponse> perform(const HttpRequest& request, const HttpStreamHandler* handler,
                               const std::atomic<bool>* cancel);
  std::unique_ptr<Impl> impl_;
};

}  // namespace chaja
