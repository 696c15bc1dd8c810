// HttpChatModel: the one ChatModel for every HTTP provider. A ChatCodec supplies the wire format
// (path, headers, body, parsing); this class supplies the transport: HttpClient, SSE or NDJSON
// framing per codec->framing(), retries, the provider's concurrency limit, cancellation, call
// statistics, and the mapping of transport failures to the ErrorKinds of chat.h.
//
// Behaviour:
//   - chat(): one non-streaming request, codec->parse_response(). stream(): a streaming request;
//     each ChatEvent goes to the sink as soon as its stream message is complete; the result
//     repeats the assembled text, the last finish reason and the usage.
//   - Retries (RetryPolicy: at most max_attempts, exponential backoff with full jitter, or the
//     provider's Retry-After / retry-after-ms, capped) on 408/409/429/5xx responses (529 and
//     "503 loading model" included; `x-should-retry` overrides; options.retryable may veto, as
//     for OpenAI's insufficient_quota), on connection failures and the connect timeout, and on a
//     stream that failed (in-stream error, cut, garbage) before any event reached the sink.
//     NEVER once an event has reached the sink: then the error is returned as it is.
//   - Each attempt holds one slot of options.limiter (shared by the provider's models); the wait
//     for a slot is cancellable and bounded by the total timeout.
//   - Cancellation: the CancelFlag (checked at least every 50 ms, also while backing off) or the
//     sink returning false → kCancelled.
//   - A 2xx stream that ends without the codec's end marker → kUpstream "stream cut"; an idle gap
//     longer than timeouts.idle → kTimeout; undecodable or oversized stream messages → kUpstream.
//     A stream whose tail carries an SSE `error:` field (old llama.cpp servers) reports that error.
//     A 2xx answered with application/json to a streaming request (a server that ignores
//     "stream") is parsed as a whole response and replayed as events.
//   - 401/403 messages name options.key_variable. The key goes only into the codec's headers and
//     is scrubbed from every message; nothing is logged.
//   - The assembled answer is capped at options.max_response_bytes (kUpstream past it), like a
//     whole response body.
//   - CallStats: first_token_ms (from the start of the call, retries and waits included, to the
//     first text delta; chat(): the whole response, when it has text), total_ms, attempts, usage.
// Thread safety: chat() and stream() may run concurrently on one model (each call leases its own
// HttpClient from the model's pool).
#pragma once

#include <memory>
#include <string>

#include "connectors/chat.h"
#include "connectors/codec.h"
#include "connectors/http_call.h"

namespace chaja {

class HttpChatModel : public ChatModel {
 public:
  // base_url: the provider root the codec's paths hang under (e.g. "https://api.openai.com/v1").
  // api_key may be empty (servers without auth). model: the provider's own model name.
  HttpChatModel(std::shared_ptr<const ChatCodec> codec, std::string base_url, std::string api_key,
                std::string model, HttpCallOptions options);

  std::string name() const override { return options_.provider + ":" + model_; }
  Result<ChatResult> chat(const ChatRequest& request, const CancelFlag* cancel) override;
  Result<ChatResult> stream(const ChatRequest& request, const ChatSink& sink,
                            const CancelFlag* cancel) override;

  const HttpCallOptions& options() const { return options_; }

 private:
  struct Attempt;
  HttpRequest make_request(const ChatRequest& request, bool stream) const;
  Error error_from_response(int status, std::string_view body) const;
  Status run_stream_attempt(const HttpRequest& http, const ChatSink& sink, const CancelFlag* cancel,
                            Attempt& attempt);

  std::shared_ptr<const ChatCodec> codec_;
  std::string base_url_;
  std::string api_key_;
  std::string model_;
  HttpCallOptions options_;
  HttpClientPool pool_;
};

}  // namespace chaja
