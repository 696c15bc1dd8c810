#include "connectors/clova_codec.h"

#include "connectors/http_call.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>
#include <random>

#include "connectors/wire_json.h"

namespace chaja {

namespace {

using wire::Json;

// A random (version 4) UUID, the form CLOVA's own clients send as the request id.
std::string random_uuid() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  unsigned char bytes[16];
  for (int i = 0; i < 16; i += 8) {
    const uint64_t r = rng();
    for (int j = 0; j < 8; ++j) bytes[i + j] = static_cast<unsigned char>(r >> (8 * j));
  }
  bytes[6] = static_cast<unsigned char>((bytes[6] & 0x0F) | 0x40);
  bytes[8] = static_cast<unsigned char>((bytes[8] & 0x3F) | 0x80);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
    out += kHex[bytes[i] >> 4];
    out += kHex[bytes[i] & 0x0F];
  }
  return out;
}

// The model as one path segment: unreserved characters as they are, the rest %-encoded.
// What a CLOVA status code (or, without one, the HTTP status) means.
std::string describe_code(std::string_view code, int status) {
  const auto starts = [&](std::string_view prefix) {
    return code.substr(0, prefix.size()) == prefix;
  };
  if (code == "42902") return "overloaded";
  if (code == "42903") return "busy (image queue full)";
  if (starts("429") || status == 429) return "rate limited";
  if (starts("401") || status == 401) return "the API key was refused";
  if (starts("403") || status == 403) return "the API key may not do this";
  if (code == "40080" || starts("404") || status == 404)
    return "not found (is the model name right?)";
  if (code == "40003") return "the prompt is too long for the model";
  if (starts("413") || status == 413) return "the request is too large";
  if (starts("408") || starts("504") || status == 408 || status == 504) return "timed out upstream";
  if (starts("400") || starts("415") || status == 400 || status == 415)
    return "the request was refused";
  if (starts("5") || status >= 500) return "server error";
  if (status > 0) return "HTTP " + std::to_string(status);
  return "error";
}

// The Error for a CLOVA failure. `status` is the HTTP status (0 inside a 2xx body or a stream,
// which `where` then names); `code` the 5-digit CLOVA code when known.
Error failure(int status, std::string_view where, const std::string& code,
              std::string_view message) {
  const bool rate_limited = code.substr(0, 3) == "429" || status == 429;
  std::string text = "clova: " + describe_code(code, status) + " (";
  text += status > 0 ? "HTTP " + std::to_string(status) : std::string(where);
  if (!code.empty()) text += ", code " + wire::quote(code, 16);
  text += ")";
  const std::string quoted = wire::quote(message);
  if (!quoted.empty()) text += ": " + quoted;
  return make_error(rate_limited ? ErrorKind::kRateLimited : ErrorKind::kUpstream, std::move(text));
}

// A status code as text: CLOVA sends a string; an integer is tolerated.
std::optional<std::string> code_text(const Json* code) {
  if (!code) return std::nullopt;
  if (code->is_string()) return code->get<std::string>();
  if (code->is_number_integer()) return std::to_string(code->get<int64_t>());
  return std::nullopt;
}

// The error a body's envelope reports: {"status":{"code","message"}} with a failing code, or the
// OpenAI-compatible {"error":{"message","code"}}. nullopt when it reports none.
std::optional<Error> envelope_error(const Json& j, int status, std::string_view where) {
  if (const Json* s = wire::member(j, "status"); s && s->is_object()) {
    const std::optional<std::string> code = code_text(wire::member(*s, "code"));
    if (code && (*code == "20000" || *code == "20400")) return std::nullopt;
    const Json* m = wire::member(*s, "message");
    return failure(status, where, code.value_or(""),
                   m && m->is_string() ? m->get<std::string>() : "");
  }
  if (const Json* e = wire::member(j, "error")) {
    if (e->is_string()) return failure(status, where, "", e->get<std::string>());
    const Json* m = wire::member(*e, "message");
    return failure(status, where, code_text(wire::member(*e, "code")).value_or(""),
                   m && m->is_string() ? m->get<std::string>() : "");
  }
  return std::nullopt;
}

// message.content: a string, or a list of parts whose text parts are joined.
std::optional<std::string> content_text(wire::FieldReader& reader, const Json& message) {
  const Json* content = wire::member(message, "content");
  if (!content) return std::nullopt;
  if (content->is_string()) return content->get<std::string>();
  if (!content->is_array()) {
    reader.fail("field 'content' is neither a string nor a list of parts");
    return std::nullopt;
  }
  std::string text;
  for (const Json& part : *content) {
    if (!part.is_object()) {
      reader.fail("a content part is not an object");
      return std::nullopt;
    }
    if (reader.string(part, "type") != "text") continue;
    text += reader.string(part, "text").value_or("");
  }
  return text;
}

// Finish reason and usage of a result object (v3 or v1 field names).
void read_result(wire::FieldReader& reader, const Json& result, std::string& finish, Usage& usage) {
  std::optional<std::string> reason = reader.string(result, "finishReason");
  if (!reason) reason = reader.string(result, "stopReason");
  if (reason) finish = clova_finish_reason(*reason);
  if (const Json* u = reader.object(result, "usage")) {
    usage.input_tokens = reader.count(*u, "promptTokens");
    usage.output_tokens = reader.count(*u, "completionTokens");
  } else {
    usage.input_tokens = reader.count(result, "inputLength");
    usage.output_tokens = reader.count(result, "outputLength");
  }
}

// maxCompletionTokens a reasoning model defaults to, by thinking effort.
size_t thinking_default_budget(std::string_view effort) {
  if (effort == "none") return 0;
  if (effort == "medium") return 10240;
  if (effort == "high") return 20480;
  return 5120;  // "low", the server's default effort
}

}  // namespace

std::string clova_finish_reason(std::string_view reason) {
  std::string r(reason);
  for (char& c : r) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (r == "stop" || r == "stop_before" || r == "end_token") return "stop";
  return r;  // "length", "tool_calls", or CLOVA's own
}

bool ClovaCodec::is_reasoning_model(std::string_view model) {
  return model.substr(0, 7) == "HCX-007";
}

std::string ClovaCodec::path(const std::string& model, bool /*stream*/) const {
  return "/v3/chat-completions/" + url_path_segment(model);
}

void ClovaCodec::add_headers(HttpHeaders& headers, const std::string& api_key) const {
  if (!api_key.empty()) headers.set("Authorization", "Bearer " + api_key);
  headers.set(kRequestIdHeader, random_uuid());
  headers.set("Content-Type", "application/json");
}

std::string ClovaCodec::body(const ChatRequest& request, const std::string& model,
                             bool /*stream*/) const {
  Json messages = Json::array();
  if (!request.system.empty())
    messages.push_back({{"role", "system"}, {"content", request.system}});
  for (const ChatMessage& m : request.messages) {
    messages.push_back(
        {{"role", m.role == ChatRole::kAssistant ? "assistant" : "user"}, {"content", m.content}});
  }
  Json j = Json::object();
  j["messages"] = std::move(messages);
  if (options_.top_p) j["topP"] = *options_.top_p;
  if (options_.top_k) j["topK"] = *options_.top_k;
  const bool reasoning_model = is_reasoning_model(model);
  const bool thinking = reasoning_model && options_.thinking_effort != "none";
  if (reasoning_model) {
    const size_t budget =
        std::max(request.max_tokens, thinking_default_budget(options_.thinking_effort));
    if (budget > 0) j["maxCompletionTokens"] = budget;
  } else if (request.max_tokens > 0) {
    j["maxTokens"] = request.max_tokens;
  }
  if (request.temperature && std::isfinite(*request.temperature))
    j["temperature"] = std::clamp(*request.temperature, 0.0, 1.0);
  if (options_.repetition_penalty) j["repetitionPenalty"] = *options_.repetition_penalty;
  if (!thinking) {
    Json stop = Json::array();
    for (const std::string& s : request.stop)
      if (!s.empty()) stop.push_back(s);
    j["stop"] = std::move(stop);
  }
  if (options_.include_ai_filters) j["includeAiFilters"] = *options_.include_ai_filters;
  if (!options_.thinking_effort.empty()) j["thinking"] = {{"effort", options_.thinking_effort}};
  return wire::dump(j);
}

Result<ChatResult> ClovaCodec::parse_response(std::string_view body) const {
  const std::optional<Json> parsed = wire::parse(body);
  if (!parsed || !parsed->is_object())
    return wire::malformed("clova: malformed response", "not a JSON object");
  if (std::optional<Error> e = envelope_error(*parsed, 0, "in a 2xx response")) return *e;
  wire::FieldReader reader("clova: malformed response");
  const Json* result = reader.object(*parsed, "result");
  const Json* message = result ? reader.object(*result, "message") : nullptr;
  if (!message && reader.ok()) reader.fail(result ? "no result.message" : "no result");
  ChatResult out;
  if (message) out.text = content_text(reader, *message).value_or("");
  if (result) read_result(reader, *result, out.finish_reason, out.stats.usage);
  if (!reader.ok()) return reader.error();
  return out;
}

Status ClovaCodec::parse_stream(std::string_view type, std::string_view data,
                                std::vector<ChatEvent>& out, bool& done) const {
  if (type == "signal" && data == "[DONE]") {  // tolerated bare form
    done = true;
    return {};
  }
  const std::optional<Json> parsed = wire::parse(data);
  if (!parsed || !parsed->is_object())
    return wire::malformed("clova: malformed stream event", "data is not a JSON object");
  const Json& j = *parsed;
  wire::FieldReader reader("clova: malformed stream event");
  std::vector<ChatEvent> events;
  if (type == "error") {
    if (std::optional<Error> e = envelope_error(j, 0, "in the stream")) return *e;
    return failure(0, "in the stream", "", data);  // an error event without a failing code
  } else if (type == "token") {
    if (const Json* message = reader.object(j, "message")) {
      const std::optional<std::string> text = content_text(reader, *message);
      if (text && !text->empty()) events.push_back({ChatEvent::Kind::kText, *text, "", {}});
    }
  } else if (type == "result") {
    ChatEvent finish;
    finish.kind = ChatEvent::Kind::kFinish;
    ChatEvent usage;
    usage.kind = ChatEvent::Kind::kUsage;
    read_result(reader, j, finish.finish_reason, usage.usage);
    if (!finish.finish_reason.empty()) events.push_back(std::move(finish));
    if (usage.usage.input_tokens >= 0 || usage.usage.output_tokens >= 0)
      events.push_back(std::move(usage));
  } else if (type == "signal") {
    if (reader.string(j, "data") == "[DONE]") done = true;
  }
  if (!reader.ok()) return reader.error();
  if (type == "result") done = true;
  out.insert(out.end(), std::make_move_iterator(events.begin()),
             std::make_move_iterator(events.end()));
  return {};
}

Error ClovaCodec::parse_error(int status, std::string_view body) const {
  if (const std::optional<Json> parsed = wire::parse(body); parsed && parsed->is_object()) {
    if (std::optional<Error> e = envelope_error(*parsed, status, "")) return *e;
  }
  return failure(status, "", "", body);
}

std::string clova_embedding_body(const std::string& text) {
  return wire::dump(Json{{"text", text}});
}

Result<ClovaEmbedding> clova_parse_embedding(std::string_view body) {
  constexpr const char* kContext = "clova: malformed embedding";
  const std::optional<Json> parsed = wire::parse(body);
  if (!parsed || !parsed->is_object()) return wire::malformed(kContext, "not a JSON object");
  if (std::optional<Error> e = envelope_error(*parsed, 0, "in a 2xx response")) return *e;
  wire::FieldReader reader(kContext);
  const Json* result = reader.object(*parsed, "result");
  const Json* values = result ? reader.array(*result, "embedding") : nullptr;
  ClovaEmbedding out;
  if (result) out.input_tokens = reader.count(*result, "inputTokens");
  if (!reader.ok()) return reader.error();
  if (!values || values->empty()) return wire::malformed(kContext, "no embedding");
  out.vector.reserve(values->size());
  for (const Json& x : *values) {
    if (!x.is_number()) return wire::malformed(kContext, "a value is not a number");
    const double d = x.get<double>();
    if (!std::isfinite(d) || std::fabs(d) > std::numeric_limits<float>::max())
      return wire::malformed(kContext, "a value is out of float range");
    out.vector.push_back(static_cast<float>(d));
  }
  return out;
}

}  // namespace chaja
