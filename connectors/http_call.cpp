#include "connectors/http_call.h"

#include <cctype>

#include "index/utf8.h"

namespace chaja {

HttpClientPool::Lease HttpClientPool::lease() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!idle_.empty()) {
      std::unique_ptr<HttpClient> client = std::move(idle_.back());
      idle_.pop_back();
      return Lease(this, std::move(client));
    }
  }
  return Lease(this, std::make_unique<HttpClient>());
}

void HttpClientPool::give_back(std::unique_ptr<HttpClient> client) {
  std::lock_guard<std::mutex> lock(mu_);
  if (idle_.size() < max_idle_) idle_.push_back(std::move(client));
}

std::string excerpt(std::string_view text, size_t max_bytes) {
  std::string out(text.substr(0, std::min(text.size(), max_bytes + 4)));
  utf8::repair(out);
  for (char& c : out)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  if (out.size() > max_bytes) {
    out.resize(utf8::floor_boundary(out, max_bytes));
    out += "...";
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

Error scrub_key(Error error, const std::string& api_key) {
  if (api_key.size() < 4) return error;  // too short to search for without mangling text
  size_t pos = 0;
  while ((pos = error.message.find(api_key, pos)) != std::string::npos) {
    error.message.replace(pos, api_key.size(), "<redacted>");
    pos += 10;
  }
  return error;
}

std::string url_path_segment(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += c;
    } else {
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 0x0F];
    }
  }
  return out;
}

std::string join_url(std::string_view base, std::string_view path) {
  std::string out(base);
  while (!out.empty() && out.back() == '/') out.pop_back();
  if (!path.empty() && path.front() != '/') out += '/';
  out += path;
  return out;
}

Result<HttpResponse> send_with_retries(HttpClientPool& pool, const HttpRequest& request,
                                       const HttpCallOptions& options, const CancelFlag* cancel,
                                       int& attempts) {
  const int max_attempts = std::max(options.retry.max_attempts, 1);
  attempts = 0;
  while (true) {
    ++attempts;
    std::optional<std::chrono::milliseconds> provider_wait;
    bool retry = false;
    Result<HttpResponse> res = make_error(ErrorKind::kInternal, "no attempt made");
    {
      ConcurrencyLimiter::Permit permit;
      if (options.limiter) {
        auto got = options.limiter->acquire(cancel, request.timeouts.total);
        if (!got.ok()) return got.error();
        permit = std::move(got.value());
      }
      HttpClientPool::Lease client = pool.lease();
      res = client->send(request, cancel);
    }
    if (!res.ok()) {
      retry = retryable_transport_error(res.error());
    } else if (res->cancelled) {
      return make_error(ErrorKind::kCancelled, options.provider + " call cancelled");
    } else if (res->status < 200 || res->status > 299) {
      retry = retryable_response(res->status, res->headers) &&
              (!options.retryable || options.retryable(res->status, res->body));
      provider_wait = retry_after_from(res->headers, std::chrono::system_clock::now());
    } else {
      return res;
    }
    if (!retry || attempts >= max_attempts) return res;
    const auto wait = retry_delay(options.retry, attempts, provider_wait, jitter_random());
    if (!sleep_cancellable(wait, cancel))
      return make_error(ErrorKind::kCancelled, options.provider + " call cancelled");
  }
}

}  // namespace chaja
