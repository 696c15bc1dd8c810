// The OpenAI-compatible API (CONTRACT §3): POST /v1/chat/completions and GET /v1/models, so any
// OpenAI client can use Chaja as a model. One more adapter at the edge: a chat completion request
// becomes an AskRequest, an answer becomes a `chat.completion` object or `chat.completion.chunk`
// frames, with Perplexity Sonar's `citations` and `search_results` on top.
// Parsers treat the body as hostile, like json_api.h: every problem is an Error naming the field.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "agent/answer.h"

namespace chaja {

inline constexpr size_t kMaxChatMessages = 1000;

// A chat completion body into an AskRequest:
// - `model`: "chaja" or absent for the server's default (request.model ""), else a Chaja model
//   name or chain, passed as is;
// - `messages` (required, 1..kMaxChatMessages): roles system, developer, user, assistant;
//   content a string or an array of {"type":"text","text"} parts. System and developer messages
//   are checked and ignored. The last message must be a user message: its text is the query.
//   Earlier user messages, each with the assistant replies that follow it, become `history`
//   (consecutive user messages are one question; an assistant reply before any question is
//   dropped; a question nobody answered is a turn with an empty answer);
// - `stream`; `n` (only 1); Chaja and Perplexity extras: `collection`, `web`,
//   `search_domain_filter`, `search_recency_filter`, `thread_id`. Other OpenAI fields
//   (temperature, max_tokens, stream_options, ...) are accepted and ignored.
Result<AskRequest> parse_chat_completion_request(std::string_view body);

// "chatcmpl-" and 24 random hex digits.
std::string new_completion_id();

// A non-streamed `chat.completion` object: choices[0].message is the answer; `citations` are the
// sources in citation order (citations[i] is the source of [i+1]); `search_results` are
// {title, url, snippet, date}; `chaja` carries the full citation objects, claims, related
// questions, thread id and warnings.
std::string chat_completion_json(const AskResponse& response, const std::string& id,
                                 int64_t created);

// Turns a streamed answer into `chat.completion.chunk` SSE frames ("data: {...}\n\n"). Not
// thread-safe: one per stream, fed the events in order.
class ChatChunkWriter {
 public:
  // `model` names the model on the delta chunks (the final chunk names the one that answered).
  ChatChunkWriter(std::string id, int64_t created, std::string model);

  // The frames for one event: a chunk per delta (the first also carries role "assistant"); for
  // Done a final chunk with finish_reason "stop", citations, search_results, usage and `chaja`,
  // then "data: [DONE]"; for Error an OpenAI error object (the stream then ends without
  // [DONE]). Other events give "".
  std::string frame(const AnswerEvent& event);

 private:
  std::string id_;
  int64_t created_;
  std::string model_;
  bool role_sent_ = false;
};

// An error in OpenAI's shape: {"error":{"message","type","param","code"}}. `type` is OpenAI's
// category (invalid_request_error, not_found_error, rate_limit_error, api_error, ...), `code`
// Chaja's error kind name, `param` the field a 400 names (its message starts with it) or null.
std::string openai_error_json(const Error& error);

// GET /v1/models: "chaja" (the default), "extractive", and default_model when it is another.
std::string models_json(const std::string& default_model, int64_t created);

}  // namespace chaja
