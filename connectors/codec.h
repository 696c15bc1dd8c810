// A provider's chat wire format, without any transport: how a ChatRequest becomes an HTTP
// request, and how response bodies, stream messages and error responses become ChatEvents,
// results and Errors. One codec per wire format (OpenAI chat completions, Anthropic messages,
// Ollama chat, CLOVA Studio chat completions); the transport (connectors/http_chat_model.h)
// is shared. Codecs are pure and stateless apart from their construction arguments, so they
// are tested byte for byte against the recorded fixtures.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "connectors/chat.h"
#include "connectors/http_client.h"
#include "index/result.h"

namespace chaja {

class ChatCodec {
 public:
  enum class Framing { kSse, kNdjson };

  virtual ~ChatCodec() = default;
  // How the stream's messages are framed.
  virtual Framing framing() const = 0;
  // The path below the base URL ("/v1/chat/completions"); may depend on the model.
  virtual std::string path(const std::string& model, bool stream) const = 0;
  // Authentication and protocol headers (the key goes only here; never into messages).
  virtual void add_headers(HttpHeaders& headers, const std::string& api_key) const = 0;
  // The JSON request body.
  virtual std::string body(const ChatRequest& request, const std::string& model,
                           bool stream) const = 0;
  // A complete (non-streaming) 2xx response body: text, finish reason and usage.
  // kUpstream for a malformed body or an error envelope inside a 2xx (CLOVA's status codes).
  virtual Result<ChatResult> parse_response(std::string_view body) const = 0;
  // One stream message: an SSE event (type, data) or an NDJSON line (type ""). Appends the
  // events it carries and sets done at the provider's end marker. An in-stream error event is
  // returned as an Error (kUpstream, kRateLimited when the provider says so). Tool-call deltas
  // and other content Chaja does not use are ignored.
  virtual Status parse_stream(std::string_view type, std::string_view data,
                              std::vector<ChatEvent>& out, bool& done) const = 0;
  // A non-2xx response: the Error with the right kind (see chat.h) and a clear message that
  // quotes the provider's own message; never the key.
  virtual Error parse_error(int status, std::string_view body) const = 0;
};

}  // namespace chaja
