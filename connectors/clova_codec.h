// NAVER CLOVA Studio (HyperCLOVA X) native chat completions, plus pure helpers for its
// embedding v2 API.
//
// Targets Chat Completions v3: POST /v3/chat-completions/{model} on
// https://clovastudio.stream.ntruss.com with `Authorization: Bearer <key>` and a fresh
// `X-NCP-CLOVASTUDIO-REQUEST-ID` (a random UUID) per request. Streaming is asked for with
// `Accept: text/event-stream` (the transport sets it), not with a body field.
//
// Request (v3 field names): messages with role system/user/assistant and string content (the
// system prompt is the first message; v3 also takes lists of {type:"text",text} parts, needed
// only for images), maxTokens (= max_tokens; 0 leaves the server's default), temperature when
// set (clamped to 0..1), stop (always, [] when none), and from Options: topP, topK,
// repetitionPenalty, includeAiFilters, thinking.effort. Reasoning models (HCX-007...) get
// maxCompletionTokens instead of maxTokens, never less than the server's default for the
// thinking effort (the thinking counts against it; a smaller budget can end in thinking with no
// answer), and no stop unless thinking is off (effort "none"): the API rejects both.
//
// Responses: the status envelope {"status":{"code","message"},"result":{...}}; any code but
// "20000"/"20400" is an error even inside an HTTP 2xx. result.message.content (a string or text
// parts) is the answer; thinkingContent and toolCalls are ignored. Finish: v3 finishReason or
// v1 stopReason, lower-cased, with stop_before and end_token as "stop". Usage: v3
// usage.promptTokens / completionTokens (completion includes thinking tokens), else v1
// inputLength / outputLength.
// Stream (SSE, named events; ids ignored):
//   token   message.content -> kText (thinking deltas, tool-call fragments, and the
//           per-token v1 lengths ignored)
//   result  kFinish and kUsage, and done. Its message repeats the whole answer: NOT emitted
//           again (a stream that sends only a result has no text)
//   signal  data {"data":"[DONE]"} -> done (v1 servers end with it after result)
//   error   {"status":{...}} -> an Error by code
//   other   ignored
// Accepted shapes besides v3: the v1 docs and observed streams (`data:` without a space, UUID
// ids, token events with inputLength/outputLength/stopReason), v1 non-stream results
// (stopReason "LENGTH" upper-case), and the OpenAI-compatible error body
// {"error":{"message","code":"50000"}}.
// Error codes: 429xx (42900, 42901 rate exceeded, 42902 overloaded, 42903 image queue) and
// HTTP 429 -> kRateLimited; everything else kUpstream (see chat.h), quoting status.message.
// Thread safety: stateless apart from the options; share one instance freely.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "connectors/codec.h"

namespace chaja {

class ClovaCodec final : public ChatCodec {
 public:
  struct Options {
    std::optional<double> top_p;               // topP, 0 < p <= 1 (server default 0.8)
    std::optional<int> top_k;                  // topK, 0..128 (server default 0)
    std::optional<double> repetition_penalty;  // repetitionPenalty, 0 < r <= 2 (default 1.1)
    std::optional<bool> include_ai_filters;    // includeAiFilters (server default false)
    std::string thinking_effort;  // HCX-007 thinking.effort: none, low (server default),
                                  // medium, high; "" sends nothing
  };

  static constexpr const char* kRequestIdHeader = "X-NCP-CLOVASTUDIO-REQUEST-ID";

  ClovaCodec() = default;
  explicit ClovaCodec(Options options) : options_(std::move(options)) {}

  Framing framing() const override { return Framing::kSse; }
  std::string path(const std::string& model, bool stream) const override;
  void add_headers(HttpHeaders& headers, const std::string& api_key) const override;
  std::string body(const ChatRequest& request, const std::string& model,
                   bool stream) const override;
  Result<ChatResult> parse_response(std::string_view body) const override;
  Status parse_stream(std::string_view type, std::string_view data, std::vector<ChatEvent>& out,
                      bool& done) const override;
  Error parse_error(int status, std::string_view body) const override;

  // True for the models that think before answering (HCX-007 and its versions).
  static bool is_reasoning_model(std::string_view model);

 private:
  Options options_;
};

// CLOVA's finish reason in the internal vocabulary (see above).
std::string clova_finish_reason(std::string_view reason);

// Embedding v2 (1024 dimensions, one text per request, up to about 8192 tokens). Send it with
// ClovaCodec's headers; map non-2xx responses with ClovaCodec::parse_error.
inline constexpr const char* kClovaEmbeddingPath = "/v1/api-tools/embedding/v2";

struct ClovaEmbedding {
  std::vector<float> vector;
  int64_t input_tokens = -1;
};

// {"text": text}
std::string clova_embedding_body(const std::string& text);

// The status envelope with result.embedding and result.inputTokens. kUpstream for an error code,
// a malformed body, an empty vector or a value outside float range; kRateLimited for 429xx.
Result<ClovaEmbedding> clova_parse_embedding(std::string_view body);

}  // namespace chaja
