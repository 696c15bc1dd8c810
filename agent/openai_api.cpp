#include "agent/openai_api.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <random>

#include "agent/json_detail.h"

namespace chaja {
using json = nlohmann::json;
using namespace json_detail;

namespace {

Error invalid(std::string message) {
  return make_error(ErrorKind::kInvalidInput, std::move(message));
}

std::string quoted(const std::string& field) {
  return "\"" + field + "\"";
}

// A message's content: a string, or an array of {"type":"text","text"} parts (joined by
// newlines). Null is "" (an assistant turn that only called tools has none).
Result<std::string> content_text(const json& message, const std::string& field) {
  auto it = message.find("content");
  if (it == message.end() || it->is_null()) return std::string();
  if (it->is_string()) return it->get<std::string>();
  const std::string where = field + ".content";
  if (!it->is_array())
    return invalid(quoted(where) + " must be a string or an array of text parts");
  std::string text;
  for (size_t i = 0; i < it->size(); ++i) {
    const json& part = (*it)[i];
    const std::string at = where + "[" + std::to_string(i) + "]";
    if (!part.is_object()) return invalid(quoted(at) + " must be an object {\"type\",\"text\"}");
    auto type = part.find("type");
    if (type == part.end() || !type->is_string())
      return invalid(quoted(at + ".type") + " must be a string");
    if (*type != "text")
      return invalid(quoted(at + ".type") + " \"" + type->get<std::string>() +
                     "\" is not supported: only text parts are");
    auto value = part.find("text");
    if (value == part.end() || !value->is_string())
      return invalid(quoted(at + ".text") + " must be a string");
    if (!text.empty()) text += '\n';
    text += value->get<std::string>();
  }
  return text;
}

enum class Role { kSystem, kUser, kAssistant };

Result<Role> role_of(const json& message, const std::string& field) {
  const std::string where = field + ".role";
  auto it = message.find("role");
  if (it == message.end() || !it->is_string()) return invalid(quoted(where) + " must be a string");
  const std::string role = it->get<std::string>();
  if (role == "system" || role == "developer") return Role::kSystem;
  if (role == "user") return Role::kUser;
  if (role == "assistant") return Role::kAssistant;
  if (role == "tool" || role == "function")
    return invalid(quoted(where) + " \"" + role + "\" is not supported: Chaja calls no tools");
  return invalid(quoted(where) + " must be one of system, developer, user, assistant");
}

// messages → history and query, as parse_chat_completion_request describes.
Status read_messages(const json& body, AskRequest& r) {
  auto it = body.find("messages");
  if (it == body.end() || it->is_null()) return invalid("\"messages\" is required");
  if (!it->is_array()) return field_error("messages", "an array of messages");
  if (it->empty()) return field_error("messages", "a non-empty array");
  if (it->size() > kMaxChatMessages)
    return invalid("\"messages\" may hold at most " + std::to_string(kMaxChatMessages) +
                   " messages");
  struct Turn {
    Role role;
    std::string text;
  };
  std::vector<Turn> turns;  // user and assistant messages, in order
  Role last_role = Role::kSystem;
  for (size_t i = 0; i < it->size(); ++i) {
    const json& m = (*it)[i];
    const std::string field = "messages[" + std::to_string(i) + "]";
    if (!m.is_object()) return invalid(quoted(field) + " must be an object {\"role\",\"content\"}");
    auto role = role_of(m, field);
    if (!role) return role.error();
    auto text = content_text(m, field);
    if (!text) return text.error();
    last_role = *role;
    if (*role != Role::kSystem) turns.push_back({*role, std::move(*text)});
  }
  if (last_role != Role::kUser)
    return invalid("the last of \"messages\" must be a user message (the question)");
  r.query = std::move(turns.back().text);
  turns.pop_back();
  std::optional<HistoryTurn> current;
  bool answered = false;
  for (Turn& t : turns) {
    if (t.role == Role::kUser) {
      if (current && answered) {
        r.history.push_back(std::move(*current));
        current.reset();
      }
      if (current) {
        current->question += "\n" + t.text;  // consecutive questions are one
      } else {
        current = HistoryTurn{std::move(t.text), ""};
        answered = false;
      }
    } else if (current) {  // an assistant reply before any question is dropped
      if (answered) current->answer += "\n";
      current->answer += t.text;
      answered = true;
    }
  }
  if (current) r.history.push_back(std::move(*current));
  return {};
}

json usage_json(const AnswerUsage& u) {
  return {{"prompt_tokens", u.prompt_tokens},
          {"completion_tokens", u.completion_tokens},
          {"total_tokens", u.prompt_tokens + u.completion_tokens}};
}

json sources_json(const std::vector<Citation>& cs) {
  json a = json::array();
  for (const Citation& c : cs) a.push_back(c.source);
  return a;
}

json search_results_json(const std::vector<Citation>& cs) {
  json a = json::array();
  for (const Citation& c : cs)
    a.push_back({{"title", c.title},
                 {"url", c.source},
                 {"snippet", c.snippet},
                 {"date", c.published.empty() ? json(nullptr) : json(c.published)}});
  return a;
}

json chaja_json(const AskResponse& r) {
  return {{"citations", citations_json(r.citations)},
          {"claims", claims_json(r.claims)},
          {"related_questions", r.related_questions},
          {"thread_id", r.thread_id ? json(*r.thread_id) : json(nullptr)},
          {"warnings", r.warnings}};
}

const char* openai_error_type(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kInvalidInput:
    case ErrorKind::kUnsupported:
    case ErrorKind::kConflict:
    case ErrorKind::kTooLarge:
      return "invalid_request_error";
    case ErrorKind::kNotFound:
      return "not_found_error";
    case ErrorKind::kForbidden:
      return "permission_error";
    case ErrorKind::kUnauthorized:
      return "authentication_error";
    case ErrorKind::kRateLimited:
      return "rate_limit_error";
    case ErrorKind::kUpstream:
    case ErrorKind::kTimeout:
    case ErrorKind::kUnavailable:
    case ErrorKind::kIo:
    case ErrorKind::kInternal:
    case ErrorKind::kCancelled:
      return "api_error";
  }
  return "api_error";
}

}  // namespace

Result<AskRequest> parse_chat_completion_request(std::string_view body) {
  auto j = parse_object(body);
  if (!j) return j.error();
  AskRequest r;
  if (Status s = get_string(*j, "model", r.model); !s) return s.error();
  if (r.model == kDefaultModelAlias) r.model.clear();
  if (Status s = read_messages(*j, r); !s) return s.error();
  if (Status s = get_bool(*j, "stream", r.stream); !s) return s.error();
  if (auto n = j->find("n"); n != j->end() && !n->is_null() && *n != 1)
    return field_error("n", "1 (Chaja gives one answer)");
  if (Status s = get_collection(*j, r.collection); !s) return s.error();
  if (Status s = get_sources(*j, r); !s) return s.error();
  if (Status s = get_web_filters(*j, r); !s) return s.error();
  if (Status s = get_metadata_filter(*j, r.filter); !s) return s.error();
  std::string thread;
  if (Status s = get_string(*j, "thread_id", thread); !s) return s.error();
  if (!thread.empty()) r.thread_id = thread;
  return r;
}

std::string new_completion_id() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  char buf[32];
  std::snprintf(buf, sizeof buf, "%016llx%08llx", static_cast<unsigned long long>(rng()),
                static_cast<unsigned long long>(rng() & 0xffffffffULL));
  return std::string("chatcmpl-") + buf;
}

std::string chat_completion_json(const AskResponse& r, const std::string& id, int64_t created) {
  return dump(
      {{"id", id},
       {"object", "chat.completion"},
       {"created", created},
       {"model", r.model},
       {"choices", json::array({{{"index", 0},
                                 {"message", {{"role", "assistant"}, {"content", r.answer}}},
                                 {"finish_reason", "stop"}}})},
       {"usage", usage_json(r.usage)},
       {"citations", sources_json(r.citations)},
       {"search_results", search_results_json(r.citations)},
       {"chaja", chaja_json(r)}});
}

ChatChunkWriter::ChatChunkWriter(std::string id, int64_t created, std::string model)
    : id_(std::move(id)), created_(created), model_(std::move(model)) {}

std::string ChatChunkWriter::frame(const AnswerEvent& event) {
  auto chunk = [&](json delta, const std::string& model, const char* finish) {
    if (!role_sent_) {
      delta["role"] = "assistant";
      role_sent_ = true;
    }
    return json{
        {"id", id_},
        {"object", "chat.completion.chunk"},
        {"created", created_},
        {"model", model},
        {"choices", json::array({{{"index", 0},
                                  {"delta", std::move(delta)},
                                  {"finish_reason", finish ? json(finish) : json(nullptr)}}})}};
  };
  auto data = [](const json& j) { return "data: " + dump(j) + "\n\n"; };
  if (const auto* d = std::get_if<DeltaEvent>(&event)) {
    if (d->text.empty()) return "";
    return data(chunk({{"content", d->text}}, model_, nullptr));
  }
  if (const auto* done = std::get_if<DoneEvent>(&event)) {
    const AskResponse& r = done->response;
    json last = chunk(json::object(), r.model, "stop");
    last["usage"] = usage_json(r.usage);
    last["citations"] = sources_json(r.citations);
    last["search_results"] = search_results_json(r.citations);
    last["chaja"] = chaja_json(r);
    return data(last) + "data: [DONE]\n\n";
  }
  if (const auto* err = std::get_if<ErrorEvent>(&event))
    return "data: " + openai_error_json(err->error) + "\n\n";
  return "";
}

std::string openai_error_json(const Error& error) {
  json param = nullptr;
  if (error.kind == ErrorKind::kInvalidInput && error.message.starts_with('"')) {
    const size_t end = error.message.find('"', 1);
    if (end != std::string::npos) param = error.message.substr(1, end - 1);
  }
  return dump({{"error",
                {{"message", error.message},
                 {"type", openai_error_type(error.kind)},
                 {"param", param},
                 {"code", error_kind_name(error.kind)}}}});
}

std::string models_json(const std::string& default_model, int64_t created) {
  json data = json::array();
  auto add = [&](const std::string& id) {
    data.push_back({{"id", id}, {"object", "model"}, {"created", created}, {"owned_by", "chaja"}});
  };
  add(std::string(kDefaultModelAlias));
  add("extractive");
  if (!default_model.empty() && default_model != "extractive" &&
      default_model != kDefaultModelAlias)
    add(default_model);
  return dump({{"object", "list"}, {"data", data}});
}

}  // namespace chaja
