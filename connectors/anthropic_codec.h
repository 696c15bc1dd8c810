// Anthropic Messages API wire format (POST /v1/messages, anthropic-version 2023-06-01).
//
// Request: `system` as a top-level string (omitted when empty), user/assistant messages with
// string content, `max_tokens` always (Anthropic has no default; a request's 0 becomes 1024),
// `stop_sequences` when any (empty strings dropped), `temperature` when set (clamped to
// Anthropic's 0..1), `stream` always.
// Response: the text blocks concatenated (tool_use, thinking and other blocks ignored);
// stop_reason normalised (end_turn, stop_sequence -> "stop"; max_tokens,
// model_context_window_exceeded -> "length"; tool_use -> "tool_calls"; refusal ->
// "content_filter"; anything else kept as sent).
// Usage: input tokens are input_tokens + cache_creation_input_tokens + cache_read_input_tokens
// (the whole prompt, as OpenAI's prompt_tokens counts it); output tokens are output_tokens.
// Stream (SSE, named events; the data's own "type" is used when the event has no name):
//   message_start        kUsage with the input tokens (its output_tokens is a placeholder and
//                        is not reported)
//   content_block_start  kText if a text block starts with text (it is normally "")
//   content_block_delta  text_delta -> kText; input_json_delta, thinking_delta,
//                        signature_delta, citations_delta and unknown deltas ignored
//   message_delta        kFinish (stop_reason) and kUsage (cumulative output tokens, and input
//                        tokens when present)
//   message_stop         done
//   ping, content_block_stop, unknown events: nothing
//   error                an Error: rate_limit_error -> kRateLimited, anything else (e.g.
//                        overloaded_error) kUpstream, quoting the provider's message
// kUsage events carry -1 for what that event does not say; a consumer keeps the latest known
// value of each field.
// Thread safety: stateless; share one instance freely.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "connectors/codec.h"

namespace chaja {

class AnthropicCodec final : public ChatCodec {
 public:
  static constexpr const char* kVersion = "2023-06-01";

  Framing framing() const override { return Framing::kSse; }
  std::string path(const std::string& model, bool stream) const override;
  void add_headers(HttpHeaders& headers, const std::string& api_key) const override;
  std::string body(const ChatRequest& request, const std::string& model,
                   bool stream) const override;
  Result<ChatResult> parse_response(std::string_view body) const override;
  Status parse_stream(std::string_view type, std::string_view data, std::vector<ChatEvent>& out,
                      bool& done) const override;
  Error parse_error(int status, std::string_view body) const override;
};

// Anthropic's stop_reason in the internal vocabulary (see above).
std::string anthropic_finish_reason(std::string_view stop_reason);

}  // namespace chaja
