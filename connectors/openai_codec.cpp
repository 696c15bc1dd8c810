#include "connectors/openai_codec.h"

#include <nlohmann/json.hpp>

#include "connectors/http_call.h"

namespace chaja {
namespace {

using nlohmann::json;
using nlohmann::ordered_json;

json parse_json(std::string_view text) {
  return json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
}

std::string dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

// A string field, or "" (also for numbers: llama.cpp and vLLM send integer codes).
std::string field_text(const json& j, const char* key) {
  if (!j.is_object()) return "";
  auto it = j.find(key);
  if (it == j.end()) return "";
  if (it->is_string()) return it->get<std::string>();
  if (it->is_number_integer()) return std::to_string(it->get<int64_t>());
  return "";
}

// Pydantic / FastAPI `detail` lists: "msg (loc.a.b)" joined by "; ".
std::string describe_detail(const json& detail) {
  if (detail.is_string()) return detail.get<std::string>();
  if (!detail.is_array()) return dump(detail);
  std::string out;
  for (const json& d : detail) {
    if (!out.empty()) out += "; ";
    std::string item = field_text(d, "msg");
    if (item.empty()) item = dump(d);
    if (d.is_object() && d.contains("loc") && d["loc"].is_array()) {
      std::string loc;
      for (const json& part : d["loc"]) {
        if (!loc.empty()) loc += ".";
        loc += part.is_string() ? part.get<std::string>() : dump(part);
      }
      item += " (" + loc + ")";
    }
    out += item;
  }
  return out;
}

struct ErrorInfo {
  std::string message;
  std::string type;
  std::string code;
};

// Reads every error shape of the family from a parsed body.
ErrorInfo error_info(const json& j) {
  ErrorInfo info;
  if (!j.is_object()) return info;
  if (j.contains("error")) {
    const json& e = j["error"];
    if (e.is_string()) {
      info.message = e.get<std::string>();
    } else if (e.is_object()) {
      info.message = field_text(e, "message");
      if (info.message.empty() && e.contains("message")) info.message = dump(e["message"]);
      info.type = field_text(e, "type");
      info.code = field_text(e, "code");
    }
    return info;
  }
  if (j.contains("message")) {
    const json& m = j["message"];
    if (m.is_string())
      info.message = m.get<std::string>();
    else if (m.is_object() && m.contains("detail"))
      info.message = describe_detail(m["detail"]);
    else
      info.message = dump(m);
    info.type = field_text(j, "type");
    info.code = field_text(j, "code");
    return info;
  }
  if (j.contains("detail")) info.message = describe_detail(j["detail"]);
  return info;
}

bool contains(std::string_view hay, std::string_view needle) {
  return hay.find(needle) != std::string_view::npos;
}

std::string status_meaning(int status, const ErrorInfo& info) {
  switch (status) {
    case 400:
      return "bad request";
    case 401:
      return "the API key was refused";
    case 403:
      return "forbidden (the key may not use this model or endpoint)";
    case 404:
      return "model or endpoint not found (check the model name and the base URL)";
    case 408:
      return "the provider timed out";
    case 413:
      return "request too large";
    case 422:
      return "request rejected";
    case 429:
      return info.type == "insufficient_quota" || info.code == "insufficient_quota"
                 ? "quota exhausted (check the plan and billing; not retried)"
                 : "rate limited";
    case 500:
      return "provider error";
    case 502:
    case 504:
      return "gateway error";
    case 503:
      return contains(info.message, "oading model") ? "the model is still loading"
                                                    : "service unavailable";
    case 529:
      return "overloaded";
    default:
      return status >= 500 ? "provider error" : "request failed";
  }
}

Usage usage_from(const json& u) {
  Usage out;
  if (!u.is_object()) return out;
  auto read = [&](const char* key, int64_t& into) {
    auto it = u.find(key);
    if (it != u.end() && it->is_number_integer() && it->get<int64_t>() >= 0)
      into = it->get<int64_t>();
  };
  read("prompt_tokens", out.input_tokens);
  read("completion_tokens", out.output_tokens);
  return out;
}

// Message or delta content: a string, null, or a list of parts ({"type":"text","text":...}).
std::string content_text(const json& c) {
  if (c.is_string()) return c.get<std::string>();
  std::string out;
  if (c.is_array())
    for (const json& part : c)
      if (part.is_object() && field_text(part, "type") == "text") out += field_text(part, "text");
  return out;
}

// Choice 0 of a chunk or response (choices without an index count as 0).
const json* first_choice(const json& j) {
  auto it = j.find("choices");
  if (it == j.end() || !it->is_array()) return nullptr;
  for (const json& c : *it) {
    if (!c.is_object()) continue;
    auto idx = c.find("index");
    if (idx == c.end() || (idx->is_number_integer() && idx->get<int64_t>() == 0)) return &c;
  }
  return nullptr;
}

}  // namespace

std::string normalise_openai_finish(std::string_view reason) {
  if (reason == "function_call") return "tool_calls";
  if (reason == "model_length") return "length";
  return std::string(reason);
}

OpenAiCodec::OpenAiCodec(Dialect dialect)
    : OpenAiCodec(dialect, dialect == Dialect::kOpenAi ? Options{true, true} : Options{}) {}

OpenAiCodec::OpenAiCodec(Dialect dialect, Options options) : dialect_(dialect), options_(options) {
  if (dialect_ == Dialect::kMistral) options_.stream_usage = false;  // Mistral 422s on it
  switch (dialect_) {
    case Dialect::kOpenAi:
      label_ = "openai";
      break;
    case Dialect::kCompat:
      label_ = "openai-compat";
      break;
    case Dialect::kMistral:
      label_ = "mistral";
      break;
  }
}

bool OpenAiCodec::retryable_error(int status, std::string_view body) {
  if (status != 429) return true;
  const ErrorInfo info = error_info(parse_json(body));
  return info.type != "insufficient_quota" && info.code != "insufficient_quota";
}

std::string OpenAiCodec::path(const std::string&, bool) const {
  return "/chat/completions";
}

void OpenAiCodec::add_headers(HttpHeaders& headers, const std::string& api_key) const {
  if (!api_key.empty()) headers.set("Authorization", "Bearer " + api_key);
}

std::string OpenAiCodec::body(const ChatRequest& request, const std::string& model,
                              bool stream) const {
  ordered_json j;
  j["model"] = model;
  ordered_json messages = ordered_json::array();
  if (!request.system.empty())
    messages.push_back(ordered_json{{"role", "system"}, {"content", request.system}});
  for (const ChatMessage& m : request.messages)
    messages.push_back(ordered_json{{"role", m.role == ChatRole::kUser ? "user" : "assistant"},
                                    {"content", m.content}});
  j["messages"] = std::move(messages);
  if (request.max_tokens > 0)
    j[options_.max_completion_tokens ? "max_completion_tokens" : "max_tokens"] = request.max_tokens;
  if (request.temperature) j["temperature"] = *request.temperature;
  if (!request.stop.empty()) j["stop"] = request.stop;
  j["stream"] = stream;
  if (stream && options_.stream_usage) j["stream_options"] = {{"include_usage", true}};
  return j.dump(-1, ' ', false, ordered_json::error_handler_t::replace);
}

Result<ChatResult> OpenAiCodec::parse_response(std::string_view body) const {
  const json j = parse_json(body);
  if (!j.is_object())
    return make_error(ErrorKind::kUpstream,
                      label_ + ": malformed response (not a JSON object): " + excerpt(body, 200));
  const json* choice = first_choice(j);
  if (choice == nullptr) {
    const ErrorInfo info = error_info(j);
    if (!info.message.empty())
      return make_error(ErrorKind::kUpstream,
                        label_ + ": error in a successful response: " + excerpt(info.message));
    return make_error(ErrorKind::kUpstream, label_ + ": malformed response (no choices)");
  }
  ChatResult out;
  if (choice->contains("message")) {
    const json& message = (*choice)["message"];
    if (message.is_object() && message.contains("content"))
      out.text = content_text(message["content"]);
  }
  out.finish_reason = normalise_openai_finish(field_text(*choice, "finish_reason"));
  if (j.contains("usage")) out.stats.usage = usage_from(j["usage"]);
  return out;
}

Status OpenAiCodec::parse_stream(std::string_view type, std::string_view data,
                                 std::vector<ChatEvent>& out, bool& done) const {
  while (!data.empty() && (data.back() == ' ' || data.back() == '\n' || data.back() == '\r'))
    data.remove_suffix(1);
  if (type != "error" && data == "[DONE]") {
    done = true;
    return Status();
  }
  const json j = parse_json(data);
  if (type == "error" || (j.is_object() && j.contains("error") && !j.contains("choices"))) {
    const ErrorInfo info = j.is_discarded() ? ErrorInfo{std::string(data), "", ""} : error_info(j);
    const bool rate = info.code == "429" || contains(info.type, "rate_limit") ||
                      info.code == "rate_limit_exceeded";
    std::string msg = label_ + ": error in the stream: " + excerpt(info.message);
    if (!info.type.empty()) msg += " [" + excerpt(info.type, 60) + "]";
    return make_error(rate ? ErrorKind::kRateLimited : ErrorKind::kUpstream, msg);
  }
  if (!j.is_object())
    return make_error(ErrorKind::kUpstream,
                      label_ + ": malformed stream message: " + excerpt(data, 200));
  if (const json* choice = first_choice(j)) {
    if (choice->contains("delta") && (*choice)["delta"].is_object()) {
      const json& delta = (*choice)["delta"];
      if (delta.contains("content")) {
        std::string text = content_text(delta["content"]);
        if (!text.empty()) {
          ChatEvent ev;
          ev.kind = ChatEvent::Kind::kText;
          ev.text = std::move(text);
          out.push_back(std::move(ev));
        }
      }
    }
    const std::string finish = field_text(*choice, "finish_reason");
    if (!finish.empty()) {
      ChatEvent ev;
      ev.kind = ChatEvent::Kind::kFinish;
      ev.finish_reason = normalise_openai_finish(finish);
      out.push_back(std::move(ev));
    }
  }
  if (j.contains("usage") && j["usage"].is_object()) {
    ChatEvent ev;
    ev.kind = ChatEvent::Kind::kUsage;
    ev.usage = usage_from(j["usage"]);
    if (ev.usage.input_tokens >= 0 || ev.usage.output_tokens >= 0) out.push_back(std::move(ev));
  }
  return Status();
}

Error OpenAiCodec::parse_error(int status, std::string_view body) const {
  const json j = parse_json(body);
  ErrorInfo info = error_info(j);
  if (info.message.empty() && !body.empty() && j.is_discarded()) info.message = std::string(body);
  std::string msg =
      label_ + ": HTTP " + std::to_string(status) + " " + status_meaning(status, info);
  if (!info.message.empty()) msg += ": " + excerpt(info.message);
  std::string tag = info.code.empty() ? info.type : info.code;
  if (!tag.empty() && tag != std::to_string(status)) msg += " [" + excerpt(tag, 60) + "]";
  return make_error(status == 429 ? ErrorKind::kRateLimited : ErrorKind::kUpstream, msg);
}

}  // namespace chaja
