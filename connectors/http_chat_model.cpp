#include "connectors/http_chat_model.h"

#include <chrono>
#include <optional>
#include <utility>
#include <vector>

#include "connectors/ndjson.h"
#include "connectors/sse.h"

namespace chaja {
namespace {

using Clock = std::chrono::steady_clock;

constexpr size_t kMaxErrorBody = 64 * 1024;  // kept of an error response's body
constexpr size_t kTailBytes = 4096;          // raw stream tail kept for the SSE `error:` field

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

bool is_2xx(int status) {
  return status >= 200 && status <= 299;
}

bool starts_with_ci(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    char c = s[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != prefix[i]) return false;
  }
  return true;
}

void merge_usage(Usage& into, const Usage& from) {
  if (from.input_tokens >= 0) into.input_tokens = from.input_tokens;
  if (from.output_tokens >= 0) into.output_tokens = from.output_tokens;
}

// The value of the last SSE `error:` field line in a stream's tail (old llama.cpp servers sent
// errors that way; a WHATWG parser ignores the unknown field).
std::optional<std::string> legacy_error_field(std::string_view tail) {
  std::optional<std::string> found;
  size_t pos = 0;
  while (pos < tail.size()) {
    size_t eol = tail.find_first_of("\r\n", pos);
    if (eol == std::string_view::npos) eol = tail.size();
    std::string_view line = tail.substr(pos, eol - pos);
    if (line.starts_with("error:")) {
      line.remove_prefix(6);
      if (line.starts_with(" ")) line.remove_prefix(1);
      found = std::string(line);
    }
    pos = eol + 1;
  }
  return found;
}

}  // namespace

// The state of one attempt of a streaming call.
struct HttpChatModel::Attempt {
  Clock::time_point call_start;
  int status = 0;
  HttpHeaders headers;
  bool error_status = false;  // non-2xx: the body is an error document
  bool json_body = false;     // 2xx JSON answer to a stream request
  std::string body;           // error or JSON body (capped)
  bool body_capped = false;
  SseParser sse;
  NdjsonSplitter ndjson;
  size_t bytes = 0;
  size_t messages = 0;
  std::string tail;
  bool done = false;
  bool delivered = false;  // an event reached the sink: no retry from here on
  bool sink_cancelled = false;
  std::optional<Error> failure;  // stream-level failure that stopped the transfer
  bool retryable = false;
  std::optional<std::chrono::milliseconds> provider_wait;
  std::string text;
  std::string finish_reason;
  Usage usage;
  double first_token_ms = -1;
};

HttpChatModel::HttpChatModel(std::shared_ptr<const ChatCodec> codec, std::string base_url,
                             std::string api_key, std::string model, HttpCallOptions options)
    : codec_(std::move(codec)),
      base_url_(std::move(base_url)),
      api_key_(std::move(api_key)),
      model_(std::move(model)),
      options_(std::move(options)) {}

HttpRequest HttpChatModel::make_request(const ChatRequest& request, bool stream) const {
  HttpRequest http;
  http.method = "POST";
  http.url = join_url(base_url_, codec_->path(model_, stream));
  http.headers.set("Content-Type", "application/json");
  if (!stream)
    http.headers.set("Accept", "application/json");
  else if (codec_->framing() == ChatCodec::Framing::kSse)
    http.headers.set("Accept", "text/event-stream");
  else
    http.headers.set("Accept", "application/x-ndjson");
  codec_->add_headers(http.headers, api_key_);
  http.body = codec_->body(request, model_, stream);
  http.timeouts = options_.timeouts;
  http.max_body_bytes = stream ? 0 : options_.max_response_bytes;
  return http;
}

Error HttpChatModel::error_from_response(int status, std::string_view body) const {
  Error e = codec_->parse_error(status, body);
  if ((status == 401 || status == 403) && !options_.key_variable.empty())
    e.message += " (check " + options_.key_variable + ")";
  return scrub_key(std::move(e), api_key_);
}

Result<ChatResult> HttpChatModel::chat(const ChatRequest& request, const CancelFlag* cancel) {
  const Clock::time_point start = Clock::now();
  if (request.messages.empty())
    return make_error(ErrorKind::kInvalidInput, "a chat request needs at least one message");
  const HttpRequest http = make_request(request, false);
  int attempts = 0;
  auto res = send_with_retries(pool_, http, options_, cancel, attempts);
  if (!res.ok()) {
    Error e = res.error();
    if (e.kind == ErrorKind::kTooLarge) e.kind = ErrorKind::kUpstream;
    if (e.kind != ErrorKind::kCancelled) e.message = options_.provider + ": " + e.message;
    return scrub_key(std::move(e), api_key_);
  }
  if (!is_2xx(res->status)) return error_from_response(res->status, res->body);
  auto parsed = codec_->parse_response(res->body);
  if (!parsed.ok()) return scrub_key(parsed.error(), api_key_);
  ChatResult out = std::move(parsed.value());
  out.stats.total_ms = ms_since(start);
  out.stats.first_token_ms = out.text.empty() ? -1 : out.stats.total_ms;
  out.stats.attempts = attempts;
  return out;
}

Status HttpChatModel::run_stream_attempt(const HttpRequest& http, const ChatSink& sink,
                                         const CancelFlag* cancel, Attempt& a) {
  const std::string& provider = options_.provider;
  std::vector<ChatEvent> events;

  auto deliver = [&](const ChatEvent& ev) {
    if (ev.kind == ChatEvent::Kind::kText) {
      if (ev.text.empty()) return true;
      if (a.first_token_ms < 0) a.first_token_ms = ms_since(a.call_start);
      if (a.text.size() + ev.text.size() > options_.max_response_bytes) {
        a.failure = make_error(ErrorKind::kUpstream,
                               options_.provider + ": the answer grew past " +
                                   std::to_string(options_.max_response_bytes) + " bytes");
        return false;
      }
      a.text += ev.text;
    } else if (ev.kind == ChatEvent::Kind::kFinish) {
      a.finish_reason = ev.finish_reason;
    } else {
      merge_usage(a.usage, ev.usage);
    }
    a.delivered = true;
    if (sink && !sink(ev)) {
      a.sink_cancelled = true;
      return false;
    }
    return true;
  };
  // One framed message through the codec; false when the transfer should stop.
  auto handle = [&](std::string_view type, std::string_view data) {
    ++a.messages;
    events.clear();
    Status st = codec_->parse_stream(type, data, events, a.done);
    for (const ChatEvent& ev : events)
      if (!deliver(ev)) return false;
    if (!st.ok()) {
      a.failure = st.error();
      return false;
    }
    return !a.done;
  };

  std::vector<SseEvent> sse_events;
  std::vector<std::string> lines;
  HttpStreamHandler handler;
  handler.on_head = [&](const HttpResponse& head) {
    a.status = head.status;
    a.headers = head.headers;
    if (!is_2xx(head.status)) {
      a.error_status = true;
    } else if (codec_->framing() == ChatCodec::Framing::kSse) {
      const auto type = head.headers.get("content-type");
      a.json_body = type && starts_with_ci(*type, "application/json");
    }
    return true;
  };
  handler.on_data = [&](std::string_view bytes) {
    if (a.error_status || a.json_body) {
      const size_t cap = a.error_status ? kMaxErrorBody : options_.max_response_bytes;
      const size_t room = cap - std::min(cap, a.body.size());
      a.body.append(bytes.substr(0, room));
      if (bytes.size() > room) {
        a.body_capped = true;
        return false;
      }
      return true;
    }
    a.bytes += bytes.size();
    a.tail.append(bytes);
    if (a.tail.size() > 2 * kTailBytes) a.tail.erase(0, a.tail.size() - kTailBytes);
    if (codec_->framing() == ChatCodec::Framing::kSse) {
      sse_events.clear();
      Status st = a.sse.feed(bytes, sse_events);
      for (const SseEvent& ev : sse_events)
        if (!handle(ev.type, ev.data)) return false;
      if (!st.ok()) {
        a.failure = make_error(ErrorKind::kUpstream,
                               provider + ": unreadable event stream: " + st.error().message);
        return false;
      }
    } else {
      lines.clear();
      Status st = a.ndjson.feed(bytes, lines);
      for (const std::string& line : lines)
        if (!handle("", line)) return false;
      if (!st.ok()) {
        a.failure = make_error(ErrorKind::kUpstream,
                               provider + ": unreadable NDJSON stream: " + st.error().message);
        return false;
      }
    }
    return true;
  };

  // Why delivery stopped: a failure it ran into, else the sink cancelled.
  auto stopped = [&]() -> Error {
    if (a.failure) return *a.failure;
    return make_error(ErrorKind::kCancelled, provider + " call cancelled");
  };
  auto cut_error = [&](const std::string& why) {
    if (auto legacy = legacy_error_field(a.tail)) {
      events.clear();
      bool ignored_done = false;
      a.retryable = false;  // the server said what failed; the same request fails the same way
      Status st = codec_->parse_stream("error", *legacy, events, ignored_done);
      if (!st.ok()) return st.error();
      return make_error(ErrorKind::kUpstream,
                        provider + ": the stream ended with an error: " + excerpt(*legacy));
    }
    std::string msg = provider + ": stream cut: the response ended before its end marker (" +
                      std::to_string(a.bytes) + " bytes, " + std::to_string(a.messages) +
                      " messages)";
    if (a.messages == 0 && a.bytes > 0) msg += "; no valid stream message in it";
    if (!why.empty()) msg += ": " + why;
    a.retryable = !a.delivered;
    return make_error(ErrorKind::kUpstream, msg);
  };

  HttpClientPool::Lease client = pool_.lease();
  auto res = client->stream(http, handler, cancel);

  if (a.sink_cancelled) return make_error(ErrorKind::kCancelled, provider + " call cancelled");
  if (a.done && !a.failure) return Status();  // stopped (or cut) after the end marker: complete
  if (a.failure) {
    a.retryable = !a.delivered;
    return *a.failure;
  }
  if (cancel != nullptr && cancel->load())
    return make_error(ErrorKind::kCancelled, provider + " call cancelled");
  if (!res.ok()) {
    Error e = res.error();
    if (e.kind == ErrorKind::kTooLarge) e.kind = ErrorKind::kUpstream;
    a.retryable = !a.delivered && retryable_transport_error(e);
    if (e.kind == ErrorKind::kUpstream && is_2xx(a.status) && !a.error_status && !a.json_body) {
      Error cut = cut_error(e.message);
      a.retryable = a.retryable && retryable_transport_error(e);
      return cut;
    }
    e.message = provider + ": " + e.message;
    return e;
  }
  if (res->cancelled && !a.body_capped)
    return make_error(ErrorKind::kCancelled, provider + " call cancelled");

  if (a.error_status) {
    a.retryable = retryable_response(a.status, a.headers) &&
                  (!options_.retryable || options_.retryable(a.status, a.body));
    a.provider_wait = retry_after_from(a.headers, std::chrono::system_clock::now());
    return error_from_response(a.status, a.body);
  }
  if (a.json_body) {
    if (a.body_capped)
      return make_error(ErrorKind::kUpstream, provider + ": response larger than " +
                                                  std::to_string(options_.max_response_bytes) +
                                                  " bytes");
    auto parsed = codec_->parse_response(a.body);
    if (!parsed.ok()) {
      a.retryable = true;
      return parsed.error();
    }
    ChatEvent text_ev;
    text_ev.text = parsed->text;
    if (!deliver(text_ev)) return stopped();
    if (!parsed->finish_reason.empty()) {
      ChatEvent fin;
      fin.kind = ChatEvent::Kind::kFinish;
      fin.finish_reason = parsed->finish_reason;
      if (!deliver(fin)) return stopped();
    }
    const Usage& u = parsed->stats.usage;
    if (u.input_tokens >= 0 || u.output_tokens >= 0) {
      ChatEvent use;
      use.kind = ChatEvent::Kind::kUsage;
      use.usage = u;
      if (!deliver(use)) return stopped();
    }
    return Status();
  }

  // The body ended cleanly: flush what the framing still holds, then demand the end marker.
  if (codec_->framing() == ChatCodec::Framing::kSse) {
    auto end = a.sse.finish();
    if (!end.ok()) {
      a.retryable = !a.delivered;
      return make_error(ErrorKind::kUpstream,
                        provider + ": unreadable event stream: " + end.error().message);
    }
    if (end->pending) handle(end->pending->type, end->pending->data);
  } else {
    auto end = a.ndjson.finish();
    if (!end.ok()) {
      a.retryable = !a.delivered;
      return make_error(ErrorKind::kUpstream,
                        provider + ": unreadable NDJSON stream: " + end.error().message);
    }
    if (end.value()) handle("", **end);
  }
  if (a.sink_cancelled) return make_error(ErrorKind::kCancelled, provider + " call cancelled");
  if (a.failure) {
    a.retryable = !a.delivered;
    return *a.failure;
  }
  if (a.done) return Status();
  return cut_error("");
}

Result<ChatResult> HttpChatModel::stream(const ChatRequest& request, const ChatSink& sink,
                                         const CancelFlag* cancel) {
  const Clock::time_point start = Clock::now();
  if (request.messages.empty())
    return make_error(ErrorKind::kInvalidInput, "a chat request needs at least one message");
  const HttpRequest http = make_request(request, true);
  const int max_attempts = std::max(options_.retry.max_attempts, 1);
  for (int attempt = 1;; ++attempt) {
    Attempt a;
    a.call_start = start;
    Status st;
    {
      ConcurrencyLimiter::Permit permit;
      if (options_.limiter) {
        auto got = options_.limiter->acquire(cancel, options_.timeouts.total);
        if (!got.ok()) return got.error();
        permit = std::move(got.value());
      }
      st = run_stream_attempt(http, sink, cancel, a);
    }
    if (st.ok()) {
      ChatResult out;
      out.text = std::move(a.text);
      out.finish_reason = std::move(a.finish_reason);
      out.stats.usage = a.usage;
      out.stats.first_token_ms = a.first_token_ms;
      out.stats.total_ms = ms_since(start);
      out.stats.attempts = attempt;
      return out;
    }
    const Error& e = st.error();
    if (e.kind == ErrorKind::kCancelled || a.delivered || !a.retryable || attempt >= max_attempts)
      return scrub_key(e, api_key_);
    const auto wait = retry_delay(options_.retry, attempt, a.provider_wait, jitter_random());
    if (!sleep_cancellable(wait, cancel))
      return make_error(ErrorKind::kCancelled, options_.provider + " call cancelled");
  }
}

}  // namespace chaja
