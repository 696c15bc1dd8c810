// The OpenAI Chat Completions wire format, in three dialects:
//   kOpenAi  api.openai.com. Sends `max_completion_tokens` (OpenAI deprecated `max_tokens`, and
//            its reasoning models reject it) and `stream_options.include_usage: true`, so the
//            stream ends with a `choices: []` chunk carrying usage.
//   kCompat  llama.cpp server, vLLM, other OpenAI-compatible servers. Sends `max_tokens` (what
//            they all accept) and no `stream_options` unless Options::stream_usage says the
//            server takes it (llama.cpp reports usage in its finish chunk anyway). Understands
//            their error shapes: integer `code`, `503 Loading model`, `{"detail": ...}`,
//            in-stream `data: {"error": ...}` and the old SSE `error:` field (the transport hands
//            that to parse_stream with type "error").
//   kMistral api.mistral.ai. Sends `max_tokens` and never `stream_options` (Mistral answers 422
//            `extra_forbidden`); usage arrives in the last content chunk with the finish reason.
//            Its error bodies: `message` as a string or an object (pydantic `detail` list),
//            `{"detail": "Unauthorized"}`, `{"message": "Requests rate limit exceeded"}`.
// Common to all: the system prompt is a leading "system" message; `stop` is sent as a list;
// `temperature` only when set. Stream messages: `data: [DONE]` ends the stream; only choice 0
// is read; `delta.content` may be a string, null or a list of content parts (text parts are
// used); tool-call deltas, `reasoning_content`, `refusal`, `obfuscation` and unknown fields are
// ignored. Finish reasons are normalised ("function_call" → "tool_calls", "model_length" →
// "length"). Error kinds: 429 → kRateLimited (OpenAI's `insufficient_quota` too, but it is not
// retryable: see retryable_error()), everything else kUpstream, with the provider's message
// quoted (trimmed, control characters removed).
// Pure and stateless; thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "connectors/codec.h"

namespace chaja {

class OpenAiCodec : public ChatCodec {
 public:
  enum class Dialect { kOpenAi, kCompat, kMistral };
  struct Options {
    bool stream_usage = false;           // send stream_options.include_usage
    bool max_completion_tokens = false;  // send max_completion_tokens instead of max_tokens
  };

  explicit OpenAiCodec(Dialect dialect);
  OpenAiCodec(Dialect dialect, Options options);

  // The provider name used in messages: "openai", "openai-compat", "mistral".
  const std::string& label() const { return label_; }
  Dialect dialect() const { return dialect_; }
  const Options& options() const { return options_; }

  // False for error responses a retry cannot fix though their status says otherwise: a 429
  // whose error type or code is `insufficient_quota` (billing), for the HttpCallOptions veto.
  static bool retryable_error(int status, std::string_view body);

  Framing framing() const override { return Framing::kSse; }
  std::string path(const std::string& model, bool stream) const override;
  void add_headers(HttpHeaders& headers, const std::string& api_key) const override;
  std::string body(const ChatRequest& request, const std::string& model,
                   bool stream) const override;
  Result<ChatResult> parse_response(std::string_view body) const override;
  Status parse_stream(std::string_view type, std::string_view data, std::vector<ChatEvent>& out,
                      bool& done) const override;
  Error parse_error(int status, std::string_view body) const override;

 private:
  Dialect dialect_;
  Options options_;
  std::string label_;
};

// Normalised finish reason of the OpenAI family ("" stays "").
std::string normalise_openai_finish(std::string_view reason);

}  // namespace chaja
