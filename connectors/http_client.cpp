#include "connectors/http_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <array>
#include <utility>

namespace chaja {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

char ascii_lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  return true;
}

bool icontains(std::string_view hay, std::string_view needle) {
  if (needle.size() > hay.size()) return false;
  for (size_t i = 0; i + needle.size() <= hay.size(); ++i)
    if (iequals(hay.substr(i, needle.size()), needle)) return true;
  return false;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n'))
    s.remove_suffix(1);
  return s;
}

// RFC 9110 token characters (method and header names).
bool is_token(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
    if (!ok) return false;
  }
  return true;
}

bool has_line_break_or_nul(std::string_view s) {
  return s.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos;
}

// libcurl's global state, set up once; function-local statics initialise thread-safely.
CURLcode curl_global() {
  static const CURLcode rc = curl_global_init(CURL_GLOBAL_DEFAULT);
  return rc;
}

std::string ms_text(milliseconds ms) {
  return std::to_string(ms.count()) + " ms";
}

// State of one transfer, shared with the libcurl callbacks.
struct Transfer {
  enum class Stop { kNone, kCancelled, kTooLarge };

  const HttpRequest* request = nullptr;
  const HttpStreamHandler* handler = nullptr;  // null: collect the body
  HttpResponse response;
  bool head_done = false;
  bool got_first_byte = false;
  size_t body_bytes = 0;
  Clock::time_point last_rx;
  Stop stop = Stop::kNone;

  void received() {
    got_first_byte = true;
    last_rx = Clock::now();
  }

  // Headers complete: tell the handler. False when it cancels.
  bool finish_head() {
    head_done = true;
    if (handler != nullptr && handler->on_head && !handler->on_head(response)) {
      stop = Stop::kCancelled;
      return false;
    }
    return true;
  }
};

size_t header_callback(char* buffer, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t n = size * count;
  t->received();
  const std::string_view raw(buffer, n);
  const std::string_view line = trim(raw);
  if (raw.starts_with("HTTP/")) {
    // A new status line: an interim (1xx) response's headers are replaced by the final ones.
    t->response.headers.clear();
    t->response.status = 0;
    t->head_done = false;
    const size_t sp = line.find(' ');
    if (sp != std::string_view::npos) {
      int code = 0;
      for (size_t i = sp + 1; i < line.size() && line[i] >= '0' && line[i] <= '9'; ++i)
        code = code * 10 + (line[i] - '0');
      t->response.status = code;
    }
    return n;
  }
  if (t->head_done) return n;  // trailers after a chunked body: not kept
  if (line.empty()) {
    if (t->response.status >= 200 && !t->finish_head()) return 0;
    return n;
  }
  if (raw.front() == ' ' || raw.front() == '\t') return n;  // obsolete line folding: dropped
  const size_t colon = line.find(':');
  if (colon == std::string_view::npos) return n;
  t->response.headers.add(std::string(trim(line.substr(0, colon))),
                          std::string(trim(line.substr(colon + 1))));
  return n;
}

size_t write_callback(char* buffer, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t n = size * count;
  t->received();
  if (!t->head_done && !t->finish_head()) return 0;
  t->body_bytes += n;
  const size_t limit = t->request->max_body_bytes;
  if (limit != 0 && t->body_bytes > limit) {
    t->stop = Transfer::Stop::kTooLarge;
    return 0;
  }
  if (t->handler == nullptr) {
    t->response.body.append(buffer, n);
    return n;
  }
  if (t->handler->on_data && !t->handler->on_data(std::string_view(buffer, n))) {
    t->stop = Transfer::Stop::kCancelled;
    return 0;
  }
  return n;
}

struct SlistDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};
using Slist = std::unique_ptr<curl_slist, SlistDeleter>;

bool append_header(Slist& list, const std::string& line) {
  curl_slist* next = curl_slist_append(list.get(), line.c_str());
  if (next == nullptr) return false;
  (void)list.release();
  list.reset(next);
  return true;
}

Error curl_failure(CURLcode rc, const char* detail, const std::string& where,
                   const HttpTimeouts& timeouts) {
  const std::string why =
      (detail != nullptr && detail[0] != '\0') ? detail : curl_easy_strerror(rc);
  switch (rc) {
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
      return make_error(ErrorKind::kInvalidInput, "bad URL " + where + ": " + why);
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
      return make_error(ErrorKind::kUnavailable,
                        "could not resolve the host of " + where + ": " + why);
    case CURLE_COULDNT_CONNECT:
      return make_error(ErrorKind::kUnavailable, "could not connect to " + where + ": " + why);
    case CURLE_OPERATION_TIMEDOUT:
      // The only libcurl timeout set is the connect one; the others are enforced by the loop.
      return make_error(ErrorKind::kTimeout, "connect timeout: no connection to " + where +
                                                 " within " + ms_text(timeouts.connect));
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
      return make_error(ErrorKind::kUpstream, "TLS failure with " + where + ": " + why);
    case CURLE_PARTIAL_FILE:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_BAD_CONTENT_ENCODING:
      return make_error(ErrorKind::kUpstream,
                        "response from " + where + " cut short or malformed: " + why);
    default:
      return make_error(ErrorKind::kUpstream, "request to " + where + " failed: " + why);
  }
}

long to_curl_ms(milliseconds ms) {
  return static_cast<long>(std::max<milliseconds::rep>(ms.count(), 0));
}

}  // namespace

// ---- HttpHeaders ----------------------------------------------------------------------------

void HttpHeaders::add(std::string name, std::string value) {
  entries_.push_back(HttpHeader{std::move(name), std::move(value)});
}

void HttpHeaders::set(std::string name, std::string value) {
  std::erase_if(entries_, [&](const HttpHeader& h) { return iequals(h.name, name); });
  add(std::move(name), std::move(value));
}

std::optional<std::string_view> HttpHeaders::get(std::string_view name) const {
  for (const HttpHeader& h : entries_)
    if (iequals(h.name, name)) return std::string_view(h.value);
  return std::nullopt;
}

std::vector<std::string_view> HttpHeaders::get_all(std::string_view name) const {
  std::vector<std::string_view> out;
  for (const HttpHeader& h : entries_)
    if (iequals(h.name, name)) out.emplace_back(h.value);
  return out;
}

// ---- redaction ------------------------------------------------------------------------------

bool is_secret_header(std::string_view name) {
  static constexpr std::array<std::string_view, 10> kParts = {
      "authorization", "key",  "token",      "secret",    "cookie",
      "password",      "auth", "credential", "signature", "session"};
  for (std::string_view part : kParts)
    if (icontains(name, part)) return true;
  return false;
}

std::string redact_url(std::string_view url) {
  if (curl_global() != CURLE_OK) return "<url>";
  CURLU* u = curl_url();
  if (u == nullptr) return "<url>";
  std::string out = "<invalid url>";
  const std::string copy(url);
  if (curl_url_set(u, CURLUPART_URL, copy.c_str(), 0) == CURLUE_OK) {
    curl_url_set(u, CURLUPART_USER, nullptr, 0);
    curl_url_set(u, CURLUPART_PASSWORD, nullptr, 0);
    curl_url_set(u, CURLUPART_OPTIONS, nullptr, 0);
    curl_url_set(u, CURLUPART_QUERY, nullptr, 0);
    curl_url_set(u, CURLUPART_FRAGMENT, nullptr, 0);
    char* text = nullptr;
    if (curl_url_get(u, CURLUPART_URL, &text, 0) == CURLUE_OK && text != nullptr) out = text;
    curl_free(text);
  }
  curl_url_cleanup(u);
  return out;
}

std::string describe(const HttpRequest& request) {
  std::string out = request.method + " " + redact_url(request.url);
  if (!request.headers.empty()) {
    out += " (";
    bool first = true;
    for (const HttpHeader& h : request.headers.entries()) {
      if (!first) out += ", ";
      first = false;
      out += h.name + ": " + (is_secret_header(h.name) ? std::string("<redacted>") : h.value);
    }
    out += ")";
  }
  if (!request.body.empty()) out += " [" + std::to_string(request.body.size()) + " body bytes]";
  return out;
}

// ---- HttpClient -----------------------------------------------------------------------------

struct HttpClient::Impl {
  Options options;
  CURLcode global = CURLE_OK;
  CURLM* multi = nullptr;  // owns the connection pool the easy handle uses
  CURL* easy = nullptr;
  std::atomic<bool> busy{false};

  ~Impl() {
    if (easy != nullptr) curl_easy_cleanup(easy);
    if (multi != nullptr) curl_multi_cleanup(multi);
  }
};

HttpClient::HttpClient(Options options) : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
  impl_->global = curl_global();
  if (impl_->global != CURLE_OK) return;
  impl_->multi = curl_multi_init();
  impl_->easy = curl_easy_init();
}

HttpClient::~HttpClient() = default;

Result<HttpResponse> HttpClient::send(const HttpRequest& request, const std::atomic<bool>* cancel) {
  return perform(request, nullptr, cancel);
}

Result<HttpResponse> HttpClient::stream(const HttpRequest& request,
                                        const HttpStreamHandler& handler,
                                        const std::atomic<bool>* cancel) {
  return perform(request, &handler, cancel);
}

Result<HttpResponse> HttpClient::perform(const HttpRequest& request,
                                         const HttpStreamHandler* handler,
                                         const std::atomic<bool>* cancel) {
  Impl& im = *impl_;
  if (im.global != CURLE_OK)
    return make_error(ErrorKind::kInternal, std::string("libcurl initialisation failed: ") +
                                                curl_easy_strerror(im.global));
  if (im.multi == nullptr || im.easy == nullptr)
    return make_error(ErrorKind::kInternal, "libcurl handles could not be created");
  if (im.busy.exchange(true))
    return make_error(ErrorKind::kInternal,
                      "HttpClient used by two callers at once; give each thread its own client");
  struct Release {
    std::atomic<bool>& flag;
    ~Release() { flag.store(false); }
  } release{im.busy};

  const std::string where = redact_url(request.url);
  if (!is_token(request.method))
    return make_error(ErrorKind::kInvalidInput, "bad HTTP method for " + where);
  if (has_line_break_or_nul(request.url))
    return make_error(ErrorKind::kInvalidInput, "bad URL " + where);

  Slist headers;
  bool ok = append_header(headers, "Expect:");  // no 100-continue round trip for large bodies
  for (const HttpHeader& h : request.headers.entries()) {
    // The value is never quoted back: it may be a secret.
    if (!is_token(h.name) || has_line_break_or_nul(h.value))
      return make_error(ErrorKind::kInvalidInput,
                        "bad HTTP header '" + (is_token(h.name) ? h.name : std::string("?")) +
                            "' for " + where + " (line break or NUL in it)");
    const std::string_view value = trim(h.value);
    // "Name;" is libcurl's way of sending a header with an empty value.
    ok = ok && append_header(headers, value.empty() ? h.name + ";" : h.name + ": " + h.value);
  }
  if (!ok) return make_error(ErrorKind::kInternal, "out of memory building headers");

  CURL* easy = im.easy;
  curl_easy_reset(easy);  // keeps live connections and the DNS and TLS session caches
  std::array<char, CURL_ERROR_SIZE> errbuf{};
  Transfer t;
  t.request = &request;
  t.handler = handler;

  curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, errbuf.data());
  curl_easy_setopt(easy, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_2TLS));
  curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 2L);
  curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(easy, CURLOPT_SUPPRESS_CONNECT_HEADERS, 1L);
  // send(): ask for every encoding libcurl decodes. stream(): ask for none, since a compressing
  // server may hold stream bytes back until its compressor's buffer fills.
  if (handler == nullptr) curl_easy_setopt(easy, CURLOPT_ACCEPT_ENCODING, "");
  curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(easy, CURLOPT_USERAGENT, im.options.user_agent.c_str());
  curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, to_curl_ms(request.timeouts.connect));
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, &header_callback);
  curl_easy_setopt(easy, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &write_callback);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, &t);

  if (!request.body.empty() || request.method == "POST") {
    curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(request.body.size()));
    curl_easy_setopt(easy, CURLOPT_POSTFIELDS, request.body.data());
    if (request.method != "POST")
      curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  } else if (request.method == "HEAD") {
    curl_easy_setopt(easy, CURLOPT_NOBODY, 1L);
  } else if (request.method != "GET") {
    curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  }

  if (curl_multi_add_handle(im.multi, easy) != CURLM_OK)
    return make_error(ErrorKind::kInternal, "libcurl refused the transfer");

  const HttpTimeouts& to = request.timeouts;
  const milliseconds poll = std::max(im.options.poll_interval, milliseconds(1));
  const Clock::time_point start = Clock::now();
  std::optional<Error> error;
  std::optional<CURLcode> done;
  bool cancelled = false;

  while (true) {
    int running = 0;
    const CURLMcode mc = curl_multi_perform(im.multi, &running);
    if (mc != CURLM_OK) {
      error = make_error(ErrorKind::kInternal,
                         std::string("libcurl multi failure: ") + curl_multi_strerror(mc));
      break;
    }
    int queued = 0;
    while (CURLMsg* msg = curl_multi_info_read(im.multi, &queued))
      if (msg->msg == CURLMSG_DONE && msg->easy_handle == easy) done = msg->data.result;
    if (done) break;

    if (cancel != nullptr && cancel->load(std::memory_order_relaxed)) {
      cancelled = true;
      break;
    }
    // Deadlines, earliest first reported.
    const Clock::time_point now = Clock::now();
    Clock::time_point wake = now + poll;
    if (to.total.count() > 0) {
      const Clock::time_point deadline = start + to.total;
      if (now >= deadline) {
        error = make_error(ErrorKind::kTimeout,
                           "total timeout: " + where + " took longer than " + ms_text(to.total));
        break;
      }
      wake = std::min(wake, deadline);
    }
    if (!t.got_first_byte && to.first_byte.count() > 0) {
      curl_off_t sent_us = 0;  // when the request went out, from the start; 0 = not yet
      curl_easy_getinfo(easy, CURLINFO_PRETRANSFER_TIME_T, &sent_us);
      if (sent_us > 0) {
        const Clock::time_point deadline =
            start + std::chrono::microseconds(sent_us) + to.first_byte;
        if (now >= deadline) {
          error = make_error(ErrorKind::kTimeout, "first-byte timeout: " + where +
                                                      " sent no response within " +
                                                      ms_text(to.first_byte));
          break;
        }
        wake = std::min(wake, deadline);
      }
    }
    if (t.got_first_byte && to.idle.count() > 0) {
      const Clock::time_point deadline = t.last_rx + to.idle;
      if (now >= deadline) {
        error = make_error(ErrorKind::kTimeout, "idle timeout: " + where + " sent nothing for " +
                                                    ms_text(to.idle) + " mid-response");
        break;
      }
      wake = std::min(wake, deadline);
    }
    const auto wait = std::chrono::duration_cast<milliseconds>(wake - now) + milliseconds(1);
    if (curl_multi_poll(im.multi, nullptr, 0, static_cast<int>(wait.count()), nullptr) !=
        CURLM_OK) {
      error = make_error(ErrorKind::kInternal, "libcurl poll failure");
      break;
    }
  }
  // Removing an unfinished transfer closes its connection; a finished one goes back to the pool.
  curl_multi_remove_handle(im.multi, easy);
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, nullptr);
  curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, nullptr);

  if (error) return *error;
  if (cancelled || t.stop == Transfer::Stop::kCancelled) {
    t.response.cancelled = true;
    return std::move(t.response);
  }
  if (t.stop == Transfer::Stop::kTooLarge)
    return make_error(ErrorKind::kTooLarge, "response body from " + where + " is larger than " +
                                                std::to_string(request.max_body_bytes) + " bytes");
  if (done && *done != CURLE_OK) return curl_failure(*done, errbuf.data(), where, to);
  if (!t.head_done && t.response.status >= 200) {
    // A body-less response whose header end the callback saw is already done; this covers
    // servers that end the headers with the connection (HTTP/1.0 style).
    t.head_done = true;
    if (handler != nullptr && handler->on_head && !handler->on_head(t.response))
      t.response.cancelled = true;
  }
  return std::move(t.response);
}

}  // namespace chaja
