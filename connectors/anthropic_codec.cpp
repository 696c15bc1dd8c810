#include "connectors/anthropic_codec.h"

#include <algorithm>
#include <cmath>

#include "connectors/wire_json.h"

namespace chaja {

namespace {

using wire::Json;

constexpr const char* kProvider = "anthropic";
constexpr size_t kDefaultMaxTokens = 1024;

// What went wrong, by HTTP status and Anthropic's error type.
std::string describe_failure(int status, std::string_view type) {
  if (type == "authentication_error" || status == 401) return "the API key was refused";
  if (type == "permission_error" || status == 403) return "the API key may not do this";
  if (type == "rate_limit_error" || status == 429) return "rate limited";
  if (type == "overloaded_error" || status == 529) return "overloaded";
  if (type == "not_found_error" || status == 404) return "not found (is the model name right?)";
  if (type == "request_too_large" || status == 413) return "the request is too large";
  if (type == "billing_error") return "billing problem";
  if (type == "invalid_request_error" || status == 400) return "the request was refused";
  if (type == "timeout_error" || status == 504) return "timed out upstream";
  if (type == "api_error" || status >= 500) return "server error";
  if (status > 0) return "HTTP " + std::to_string(status);
  return "error";
}

// The Error for an error object {"type","message"} (or its absence). `status` is the HTTP
// status of a non-2xx response, or 0 for an error that came inside a 2xx body or stream, which
// `where` then names. `raw` is quoted when there is no provider message.
Error make_failure(int status, std::string_view where, const Json* error_object,
                   const Json* request_id, std::string_view raw) {
  std::string type;
  std::string message;
  if (error_object) {
    if (const Json* t = wire::member(*error_object, "type"); t && t->is_string())
      type = t->get<std::string>();
    if (const Json* m = wire::member(*error_object, "message"); m && m->is_string())
      message = m->get<std::string>();
  }
  if (message.empty()) message = std::string(raw);
  const ErrorKind kind = (type == "rate_limit_error" || status == 429) ? ErrorKind::kRateLimited
                                                                       : ErrorKind::kUpstream;
  std::string text = std::string(kProvider) + ": " + describe_failure(status, type) + " (";
  text += status > 0 ? "HTTP " + std::to_string(status) : std::string(where);
  if (!type.empty()) text += ", " + wire::quote(type, 64);
  text += ")";
  const std::string quoted = wire::quote(message);
  if (!quoted.empty()) text += ": " + quoted;
  if (request_id && request_id->is_string())
    text += " [request " + wire::quote(request_id->get<std::string>(), 80) + "]";
  return make_error(kind, std::move(text));
}

// Input tokens as a total: uncached + cache writes + cache reads; -1 when none is given.
int64_t input_tokens(wire::FieldReader& reader, const Json& usage) {
  const int64_t uncached = reader.count(usage, "input_tokens");
  const int64_t created = reader.count(usage, "cache_creation_input_tokens");
  const int64_t read = reader.count(usage, "cache_read_input_tokens");
  if (uncached < 0 && created < 0 && read < 0) return -1;
  int64_t total = 0;
  for (int64_t part : {uncached, created, read}) {
    if (part < 0) continue;
    if (part > INT64_MAX - total) {
      reader.fail("usage token counts overflow");
      return -1;
    }
    total += part;
  }
  return total;
}

Error malformed_event(std::string_view what) {
  return wire::malformed("anthropic: malformed stream event", what);
}

}  // namespace

std::string anthropic_finish_reason(std::string_view stop_reason) {
  if (stop_reason == "end_turn" || stop_reason == "stop_sequence") return "stop";
  if (stop_reason == "max_tokens" || stop_reason == "model_context_window_exceeded")
    return "length";
  if (stop_reason == "tool_use") return "tool_calls";
  if (stop_reason == "refusal") return "content_filter";
  return std::string(stop_reason);
}

std::string AnthropicCodec::path(const std::string& /*model*/, bool /*stream*/) const {
  return "/v1/messages";
}

void AnthropicCodec::add_headers(HttpHeaders& headers, const std::string& api_key) const {
  headers.set("x-api-key", api_key);
  headers.set("anthropic-version", kVersion);
  headers.set("content-type", "application/json");
}

std::string AnthropicCodec::body(const ChatRequest& request, const std::string& model,
                                 bool stream) const {
  Json j = Json::object();
  j["model"] = model;
  j["max_tokens"] = request.max_tokens > 0 ? request.max_tokens : kDefaultMaxTokens;
  if (!request.system.empty()) j["system"] = request.system;
  Json messages = Json::array();
  for (const ChatMessage& m : request.messages) {
    messages.push_back(
        {{"role", m.role == ChatRole::kAssistant ? "assistant" : "user"}, {"content", m.content}});
  }
  j["messages"] = std::move(messages);
  Json stop = Json::array();
  for (const std::string& s : request.stop)
    if (!s.empty()) stop.push_back(s);
  if (!stop.empty()) j["stop_sequences"] = std::move(stop);
  if (request.temperature && std::isfinite(*request.temperature))
    j["temperature"] = std::clamp(*request.temperature, 0.0, 1.0);
  j["stream"] = stream;
  return wire::dump(j);
}

Result<ChatResult> AnthropicCodec::parse_response(std::string_view body) const {
  const std::optional<Json> parsed = wire::parse(body);
  if (!parsed || !parsed->is_object())
    return wire::malformed("anthropic: malformed response", "not a JSON object");
  const Json& j = *parsed;
  wire::FieldReader reader("anthropic: malformed response");
  const std::optional<std::string> type = reader.string(j, "type");
  if (type == "error")
    return make_failure(0, "in a 2xx response", reader.object(j, "error"),
                        wire::member(j, "request_id"), "");
  const Json* content = reader.array(j, "content");
  if (!content && reader.ok()) reader.fail("no content");
  ChatResult result;
  if (content) {
    for (const Json& block : *content) {
      if (!block.is_object()) {
        reader.fail("a content block is not an object");
        break;
      }
      if (reader.string(block, "type") != "text") continue;  // tool_use, thinking, ...
      if (const std::optional<std::string> text = reader.string(block, "text"))
        result.text += *text;
    }
  }
  if (const std::optional<std::string> stop = reader.string(j, "stop_reason"))
    result.finish_reason = anthropic_finish_reason(*stop);
  if (const Json* usage = reader.object(j, "usage")) {
    result.stats.usage.input_tokens = input_tokens(reader, *usage);
    result.stats.usage.output_tokens = reader.count(*usage, "output_tokens");
  }
  if (!reader.ok()) return reader.error();
  return result;
}

Status AnthropicCodec::parse_stream(std::string_view type, std::string_view data,
                                    std::vector<ChatEvent>& out, bool& done) const {
  const std::optional<Json> parsed = wire::parse(data);
  if (!parsed || !parsed->is_object()) return malformed_event("data is not a JSON object");
  const Json& j = *parsed;
  wire::FieldReader reader("anthropic: malformed stream event");
  std::string name(type);
  if (name.empty() || name == "message") name = reader.string(j, "type").value_or("");

  std::vector<ChatEvent> events;
  if (name == "error") {
    return make_failure(0, "in the stream", reader.object(j, "error"),
                        wire::member(j, "request_id"), data);
  } else if (name == "message_start") {
    const Json* message = reader.object(j, "message");
    const Json* usage = message ? reader.object(*message, "usage") : nullptr;
    if (usage) {
      ChatEvent e;
      e.kind = ChatEvent::Kind::kUsage;
      e.usage.input_tokens = input_tokens(reader, *usage);
      if (e.usage.input_tokens >= 0) events.push_back(std::move(e));
    }
  } else if (name == "content_block_start") {
    const Json* block = reader.object(j, "content_block");
    if (block && reader.string(*block, "type") == "text") {
      const std::optional<std::string> text = reader.string(*block, "text");
      if (text && !text->empty()) events.push_back({ChatEvent::Kind::kText, *text, "", {}});
    }
  } else if (name == "content_block_delta") {
    const Json* delta = reader.object(j, "delta");
    if (!delta && reader.ok()) reader.fail("content_block_delta without a delta");
    if (delta && reader.string(*delta, "type") == "text_delta") {
      const std::optional<std::string> text = reader.string(*delta, "text");
      if (!text && reader.ok()) reader.fail("text_delta without text");
      if (text && !text->empty()) events.push_back({ChatEvent::Kind::kText, *text, "", {}});
    }
  } else if (name == "message_delta") {
    if (const Json* delta = reader.object(j, "delta")) {
      if (const std::optional<std::string> stop = reader.string(*delta, "stop_reason"))
        events.push_back({ChatEvent::Kind::kFinish, "", anthropic_finish_reason(*stop), {}});
    }
    if (const Json* usage = reader.object(j, "usage")) {
      ChatEvent e;
      e.kind = ChatEvent::Kind::kUsage;
      e.usage.input_tokens = input_tokens(reader, *usage);
      e.usage.output_tokens = reader.count(*usage, "output_tokens");
      if (e.usage.input_tokens >= 0 || e.usage.output_tokens >= 0) events.push_back(std::move(e));
    }
  } else if (name == "message_stop") {
    done = true;
  }
  // ping, content_block_stop and unknown events carry nothing Chaja uses.
  if (!reader.ok()) return reader.error();
  out.insert(out.end(), std::make_move_iterator(events.begin()),
             std::make_move_iterator(events.end()));
  return {};
}

Error AnthropicCodec::parse_error(int status, std::string_view body) const {
  const std::optional<Json> parsed = wire::parse(body);
  if (!parsed) return make_failure(status, "", nullptr, nullptr, body);
  const Json* error_object = wire::member(*parsed, "error");
  if (error_object && !error_object->is_object()) error_object = nullptr;
  return make_failure(status, "", error_object, wire::member(*parsed, "request_id"),
                      error_object ? "" : body);
}

}  // namespace chaja
