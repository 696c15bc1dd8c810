#include "connectors/ollama_codec.h"

#include <cmath>
#include <limits>

#include "connectors/wire_json.h"

namespace chaja {

namespace {

using wire::Json;

// Ollama's error text from {"error": "..."} (or {"error": {"message": "..."}}, as OpenAI-style
// proxies send); nullopt when the object has no error member.
std::optional<std::string> error_text(const Json& j) {
  const Json* e = wire::member(j, "error");
  if (!e) return std::nullopt;
  if (e->is_string()) return e->get<std::string>();
  if (const Json* m = wire::member(*e, "message"); m && m->is_string())
    return m->get<std::string>();
  return wire::dump(*e);
}

Error stream_error(std::string_view where, const std::string& text) {
  return make_error(ErrorKind::kUpstream,
                    "ollama: the model failed (" + std::string(where) + "): " + wire::quote(text));
}

std::string finish_reason(const std::optional<std::string>& done_reason) {
  if (!done_reason || done_reason->empty()) return "stop";  // servers before done_reason
  return *done_reason;  // "stop", "length", or Ollama's own ("load", "unload")
}

// One chat (or generate) response object: its events, and whether it is the last one.
void read_chunk(wire::FieldReader& reader, const Json& j, std::vector<ChatEvent>& events,
                bool& done) {
  std::optional<std::string> text;
  if (const Json* message = reader.object(j, "message")) text = reader.string(*message, "content");
  if (!text) text = reader.string(j, "response");  // /api/generate lines
  if (text && !text->empty()) events.push_back({ChatEvent::Kind::kText, *text, "", {}});
  if (reader.boolean(j, "done").value_or(false)) {
    done = true;
    events.push_back(
        {ChatEvent::Kind::kFinish, "", finish_reason(reader.string(j, "done_reason")), {}});
    ChatEvent usage;
    usage.kind = ChatEvent::Kind::kUsage;
    usage.usage.input_tokens = reader.count(j, "prompt_eval_count");
    usage.usage.output_tokens = reader.count(j, "eval_count");
    if (usage.usage.input_tokens >= 0 || usage.usage.output_tokens >= 0)
      events.push_back(std::move(usage));
  }
}

}  // namespace

std::string OllamaCodec::path(const std::string& /*model*/, bool /*stream*/) const {
  return "/api/chat";
}

void OllamaCodec::add_headers(HttpHeaders& headers, const std::string& api_key) const {
  if (!api_key.empty()) headers.set("Authorization", "Bearer " + api_key);
  headers.set("Content-Type", "application/json");
}

std::string OllamaCodec::body(const ChatRequest& request, const std::string& model,
                              bool stream) const {
  Json messages = Json::array();
  if (!request.system.empty())
    messages.push_back({{"role", "system"}, {"content", request.system}});
  for (const ChatMessage& m : request.messages) {
    messages.push_back(
        {{"role", m.role == ChatRole::kAssistant ? "assistant" : "user"}, {"content", m.content}});
  }
  Json options = Json::object();
  if (request.temperature && std::isfinite(*request.temperature))
    options["temperature"] = *request.temperature;
  if (request.max_tokens > 0) options["num_predict"] = request.max_tokens;
  Json stop = Json::array();
  for (const std::string& s : request.stop)
    if (!s.empty()) stop.push_back(s);
  if (!stop.empty()) options["stop"] = std::move(stop);
  if (options_.num_ctx) options["num_ctx"] = *options_.num_ctx;

  Json j = Json::object();
  j["model"] = model;
  j["messages"] = std::move(messages);
  j["stream"] = stream;
  if (!options.empty()) j["options"] = std::move(options);
  return wire::dump(j);
}

Result<ChatResult> OllamaCodec::parse_response(std::string_view body) const {
  const std::optional<Json> parsed = wire::parse(body);
  if (!parsed || !parsed->is_object())
    return wire::malformed("ollama: malformed response", "not a JSON object");
  if (const std::optional<std::string> e = error_text(*parsed))
    return stream_error("in a 2xx response", *e);
  wire::FieldReader reader("ollama: malformed response");
  std::vector<ChatEvent> events;
  bool done = false;
  read_chunk(reader, *parsed, events, done);
  if (!reader.ok()) return reader.error();
  ChatResult result;
  for (const ChatEvent& e : events) {
    if (e.kind == ChatEvent::Kind::kText) result.text += e.text;
    if (e.kind == ChatEvent::Kind::kFinish) result.finish_reason = e.finish_reason;
    if (e.kind == ChatEvent::Kind::kUsage) result.stats.usage = e.usage;
  }
  return result;
}

Status OllamaCodec::parse_stream(std::string_view /*type*/, std::string_view data,
                                 std::vector<ChatEvent>& out, bool& done) const {
  const std::optional<Json> parsed = wire::parse(data);
  if (!parsed || !parsed->is_object())
    return wire::malformed("ollama: malformed stream line", "not a JSON object");
  if (const std::optional<std::string> e = error_text(*parsed))
    return stream_error("in the stream", *e);
  wire::FieldReader reader("ollama: malformed stream line");
  std::vector<ChatEvent> events;
  bool last = false;
  read_chunk(reader, *parsed, events, last);
  if (!reader.ok()) return reader.error();
  out.insert(out.end(), std::make_move_iterator(events.begin()),
             std::make_move_iterator(events.end()));
  if (last) done = true;
  return {};
}

Error OllamaCodec::parse_error(int status, std::string_view body) const {
  std::string message;
  if (const std::optional<Json> parsed = wire::parse(body); parsed && parsed->is_object())
    message = error_text(*parsed).value_or("");
  if (message.empty()) message = std::string(body);
  std::string what;
  if (status == 404)
    what = "model not found (pull it first: ollama pull MODEL)";
  else if (status == 401 || status == 403)
    what = "the server refused the credentials (a proxy in front of Ollama?)";
  else if (status == 429)
    what = "rate limited";
  else if (status == 503)
    what = "the server is busy or loading";
  else if (status >= 500)
    what = "server error";
  else if (status == 400)
    what = "the request was refused";
  else
    what = "HTTP " + std::to_string(status);
  std::string text = "ollama: " + what + " (HTTP " + std::to_string(status) + ")";
  const std::string quoted = wire::quote(message);
  if (!quoted.empty()) text += ": " + quoted;
  return make_error(status == 429 ? ErrorKind::kRateLimited : ErrorKind::kUpstream,
                    std::move(text));
}

std::string ollama_embed_body(const std::string& model, const std::vector<std::string>& texts) {
  Json input = Json::array();
  for (const std::string& t : texts) input.push_back(t);
  return wire::dump(Json{{"model", model}, {"input", std::move(input)}});
}

Result<std::vector<std::vector<float>>> ollama_parse_embed(std::string_view body,
                                                           size_t expected_rows) {
  constexpr const char* kContext = "ollama: malformed embeddings";
  const std::optional<Json> parsed = wire::parse(body);
  if (!parsed || !parsed->is_object()) return wire::malformed(kContext, "not a JSON object");
  if (const std::optional<std::string> e = error_text(*parsed))
    return make_error(ErrorKind::kUpstream, "ollama: embedding failed: " + wire::quote(*e));
  wire::FieldReader reader(kContext);
  std::vector<const Json*> rows;
  if (const Json* many = reader.array(*parsed, "embeddings")) {
    for (const Json& row : *many) rows.push_back(&row);
  } else if (const Json* one = reader.array(*parsed, "embedding")) {
    rows.push_back(one);  // the older /api/embeddings shape
  } else if (reader.ok()) {
    reader.fail("no embeddings");
  }
  if (!reader.ok()) return reader.error();
  if (rows.size() != expected_rows)
    return wire::malformed(kContext, std::to_string(rows.size()) + " rows for " +
                                         std::to_string(expected_rows) + " inputs");
  std::vector<std::vector<float>> out;
  out.reserve(rows.size());
  for (const Json* row : rows) {
    if (!row->is_array() || row->empty())
      return wire::malformed(kContext, "a row is not a non-empty array");
    if (!out.empty() && row->size() != out.front().size())
      return wire::malformed(kContext, "rows of different lengths");
    std::vector<float> v;
    v.reserve(row->size());
    for (const Json& x : *row) {
      if (!x.is_number()) return wire::malformed(kContext, "a value is not a number");
      const double d = x.get<double>();
      if (!std::isfinite(d) || std::fabs(d) > std::numeric_limits<float>::max())
        return wire::malformed(kContext, "a value is out of float range");
      v.push_back(static_cast<float>(d));
    }
    out.push_back(std::move(v));
  }
  return out;
}

Result<std::vector<std::string>> ollama_parse_tags(std::string_view body) {
  constexpr const char* kContext = "ollama: malformed model list";
  const std::optional<Json> parsed = wire::parse(body);
  if (!parsed || !parsed->is_object()) return wire::malformed(kContext, "not a JSON object");
  if (const std::optional<std::string> e = error_text(*parsed))
    return make_error(ErrorKind::kUpstream, "ollama: listing models failed: " + wire::quote(*e));
  wire::FieldReader reader(kContext);
  std::vector<std::string> names;
  const Json* models = reader.array(*parsed, "models");
  if (!models && reader.ok()) reader.fail("no models list");
  if (models) {
    for (const Json& m : *models) {
      if (!m.is_object()) {
        reader.fail("a model entry is not an object");
        break;
      }
      std::optional<std::string> name = reader.string(m, "name");
      if (!name) name = reader.string(m, "model");
      if (!name && reader.ok()) reader.fail("a model entry has no name");
      if (name) names.push_back(std::move(*name));
    }
  }
  if (!reader.ok()) return reader.error();
  return names;
}

}  // namespace chaja
