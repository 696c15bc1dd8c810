// Ollama's native API wire format: POST /api/chat (NDJSON stream, one JSON object per line),
// plus pure helpers for POST /api/embed and GET /api/tags.
//
// Request: {"model", "messages":[{role, content}], "stream", "options":{...}}; the system
// prompt is a first message with role "system"; options carry temperature (when set),
// num_predict (= max_tokens; a request's 0 leaves Ollama's default), stop (when any; empty
// strings dropped) and num_ctx when the codec was built with one. Ollama truncates a prompt
// longer than the context window silently (2048 or 4096 tokens by default, depending on the
// server), so long retrieval prompts want num_ctx set.
// Stream: each line is a chat response object. message.content (or /api/generate's "response")
// -> kText when not empty; message.thinking and message.tool_calls are ignored. A line with
// done:true -> kFinish (done_reason "stop" / "length" as such, other reasons kept; "stop" when
// an older server sends none) and kUsage (prompt_eval_count, eval_count), and done. A line with
// an "error" member (Ollama's mid-stream failure, HTTP status still 200) -> kUpstream quoting
// it. Non-streaming ("stream": false) the body is one such object.
// Errors: {"error":"..."} bodies; 404 is an unknown model (pull it first), 429 kRateLimited,
// everything else kUpstream (see chat.h).
// Thread safety: stateless apart from the options; share one instance freely.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "connectors/codec.h"

namespace chaja {

class OllamaCodec final : public ChatCodec {
 public:
  struct Options {
    std::optional<int64_t> num_ctx;  // context window to ask for; unset: the server's default
  };

  OllamaCodec() = default;
  explicit OllamaCodec(Options options) : options_(options) {}

  Framing framing() const override { return Framing::kNdjson; }
  std::string path(const std::string& model, bool stream) const override;
  // Ollama needs no key; a non-empty one (a proxy in front of Ollama) goes as a Bearer token.
  void add_headers(HttpHeaders& headers, const std::string& api_key) const override;
  std::string body(const ChatRequest& request, const std::string& model,
                   bool stream) const override;
  Result<ChatResult> parse_response(std::string_view body) const override;
  Status parse_stream(std::string_view type, std::string_view data, std::vector<ChatEvent>& out,
                      bool& done) const override;
  Error parse_error(int status, std::string_view body) const override;

 private:
  Options options_;
};

inline constexpr const char* kOllamaEmbedPath = "/api/embed";
inline constexpr const char* kOllamaTagsPath = "/api/tags";

// The /api/embed request for a batch: {"model", "input": [texts...]} (always an array).
std::string ollama_embed_body(const std::string& model, const std::vector<std::string>& texts);

// The /api/embed response: one row of floats per input, in input order. kUpstream when the body
// is malformed, a value is not a finite float, the rows differ in length or are empty, or the
// row count is not `expected_rows`. Also reads the older /api/embeddings shape (one
// "embedding" row). An {"error"} body is kUpstream quoting it.
Result<std::vector<std::vector<float>>> ollama_parse_embed(std::string_view body,
                                                           size_t expected_rows);

// The /api/tags response: the installed model names ("llama3.2:latest"), in the server's order.
Result<std::vector<std::string>> ollama_parse_tags(std::string_view body);

}  // namespace chaja
