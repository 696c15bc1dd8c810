#include "agent/json_api.h"

#include <nlohmann/json.hpp>

#include <cmath>

#include "agent/audit.h"
#include "agent/json_detail.h"
#include "agent/pipeline.h"
#include "index/utf8.h"

namespace chaja {
using json = nlohmann::json;

// Shared with openai_api.cpp through agent/json_detail.h.
namespace json_detail {

std::string dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

// nlohmann parses nesting of any depth but serialises and destroys it recursively: a body
// nested 100k deep would overflow the stack later. Bodies deeper than this are refused up front.
constexpr int kMaxJsonDepth = 64;

bool within_depth(std::string_view text) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (++depth > kMaxJsonDepth) return false;
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return true;
}

Result<json> parse_json(std::string_view text) {
  if (!within_depth(text))
    return make_error(ErrorKind::kInvalidInput, "the JSON is nested deeper than " +
                                                    std::to_string(kMaxJsonDepth) + " levels");
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded())
    return make_error(ErrorKind::kInvalidInput, "the body is not valid JSON (UTF-8)");
  return j;
}

Result<json> parse_object(std::string_view body) {
  auto j = parse_json(body);
  if (!j) return j.error();
  if (!j->is_object())
    return make_error(ErrorKind::kInvalidInput, "the body must be a JSON object");
  return j;
}

Error field_error(const char* field, const char* want) {
  return make_error(ErrorKind::kInvalidInput, std::string("\"") + field + "\" must be " + want);
}

// Reads an optional string field; absent or null leaves out untouched.
Status get_string(const json& j, const char* field, std::string& out, bool required) {
  auto it = j.find(field);
  if (it == j.end() || it->is_null()) {
    if (required)
      return make_error(ErrorKind::kInvalidInput, std::string("\"") + field + "\" is required");
    return {};
  }
  if (!it->is_string()) return field_error(field, "a string");
  out = it->get<std::string>();
  return {};
}

Status get_bool(const json& j, const char* field, bool& out) {
  auto it = j.find(field);
  if (it == j.end() || it->is_null()) return {};
  if (!it->is_boolean()) return field_error(field, "true or false");
  out = it->get<bool>();
  return {};
}

Status get_k(const json& j, size_t& out) {
  auto it = j.find("k");
  if (it == j.end() || it->is_null()) return {};
  if (!it->is_number_integer()) return field_error("k", "an integer");
  const auto v = it->get<int64_t>();
  if (v < 1 || v > static_cast<int64_t>(kMaxK)) return field_error("k", "between 1 and 100");
  out = static_cast<size_t>(v);
  return {};
}

// Perplexity's filters: "search_domain_filter": ["example.com", "-spam.example"] (a leading '-'
// denies), "search_recency_filter": "day" | "week" | "month" | "year".
Status get_sources(const json& j, AskRequest& r) {
  if (Status s = get_bool(j, "web", r.web); !s) return s;
  std::string sources;
  if (Status s = get_string(j, "sources", sources); !s) return s;
  if (sources.empty()) return {};
  if (sources != "local" && sources != "web" && sources != "both")
    return field_error("sources", "\"local\", \"web\" or \"both\"");
  r.local = sources != "web";
  r.web = sources != "local";
  return {};
}

Status get_web_filters(const json& j, AskRequest& r) {
  if (auto it = j.find("search_domain_filter"); it != j.end() && !it->is_null()) {
    if (!it->is_array()) return field_error("search_domain_filter", "an array of host names");
    for (const json& d : *it) {
      if (!d.is_string()) return field_error("search_domain_filter", "an array of host names");
      std::string host = d.get<std::string>();
      if (host.starts_with('-'))
        r.exclude_domains.push_back(host.substr(1));
      else
        r.include_domains.push_back(std::move(host));
    }
  }
  if (auto it = j.find("search_recency_filter"); it != j.end() && !it->is_null()) {
    std::string recency;
    if (Status s = get_string(j, "search_recency_filter", recency); !s) return s;
    auto parsed = parse_recency(recency);
    if (!parsed) return parsed.error();
    r.recency = *parsed;
  }
  return {};
}

namespace {

// One JSON scalar as a filter value; false for anything else (null, an object, an array).
bool filter_scalar(const json& v, FilterValue& out) {
  if (v.is_string()) {
    out = FilterValue::of_string(v.get<std::string>());
  } else if (v.is_boolean()) {
    out = FilterValue::of_bool(v.get<bool>());
  } else if (v.is_number_integer() &&
             !(v.is_number_unsigned() && v.get<uint64_t>() > uint64_t{INT64_MAX})) {
    out = FilterValue::of_integer(v.get<int64_t>());
  } else if (v.is_number()) {
    out = FilterValue::of_real(v.get<double>());
  } else {
    return false;
  }
  return true;
}

}  // namespace

// "filter": {"department": "legal", "year": [2023, 2024]}: every key must match, an array
// means any of its values.
Status get_metadata_filter(const json& j, MetadataFilter& out) {
  auto it = j.find("filter");
  if (it == j.end() || it->is_null()) return {};
  if (!it->is_object())
    return field_error("filter",
                       "an object of metadata keys and values, like {\"department\": "
                       "\"legal\"}");
  if (it->size() > kMaxFilterKeys)
    return make_error(ErrorKind::kInvalidInput,
                      "\"filter\" has at most " + std::to_string(kMaxFilterKeys) + " keys");
  MetadataFilter filter;
  for (const auto& [key, value] : it->items()) {
    if (Status s = check_filter_key(key); !s)
      return make_error(ErrorKind::kInvalidInput, "\"filter\": " + s.error().message);
    FilterCondition c;
    c.key = key;
    const std::string field = "filter." + key;
    auto bad_value = [&] {
      return field_error(field.c_str(), ("a string, a number, true or false, or an array of 1 to " +
                                         std::to_string(kMaxFilterValues) + " of them")
                                            .c_str());
    };
    if (value.is_array()) {
      if (value.empty() || value.size() > kMaxFilterValues) return bad_value();
      for (const json& v : value) {
        FilterValue fv;
        if (!filter_scalar(v, fv)) return bad_value();
        c.any_of.push_back(std::move(fv));
      }
    } else {
      FilterValue fv;
      if (!filter_scalar(value, fv)) return bad_value();
      c.any_of.push_back(std::move(fv));
    }
    filter.conditions.push_back(std::move(c));
  }
  if (Status s = check_metadata_filter(filter); !s)
    return make_error(ErrorKind::kInvalidInput, "\"filter\": " + s.error().message);
  out = std::move(filter);
  return {};
}

Status get_collection(const json& j, std::string& out) {
  if (Status s = get_string(j, "collection", out); !s) return s;
  return check_collection_name(out);
}

json citation_json(const Citation& c) {
  if (c.kind == SourceKind::kWeb)
    return {{"n", c.n},
            {"kind", "web"},
            {"doc_id", nullptr},
            {"chunk_id", nullptr},
            {"title", c.title},
            {"source", c.source},
            {"url", c.source},
            {"domain", c.domain},
            {"published", c.published.empty() ? json(nullptr) : json(c.published)},
            {"snippet", c.snippet}};
  return {{"n", c.n},         {"kind", "local"},    {"doc_id", c.doc_id},  {"chunk_id", c.chunk_id},
          {"title", c.title}, {"source", c.source}, {"snippet", c.snippet}};
}

json claims_json(const std::vector<Claim>& claims) {
  json a = json::array();
  for (const Claim& c : claims)
    a.push_back({{"text", c.text},
                 {"citations", c.citations},
                 {"support", c.support},
                 {"supported", c.supported}});
  return a;
}

json timings_json(const AnswerTimings& t) {
  json j = {{"retrieval_ms", t.retrieval_ms}};
  if (t.web_search_ms > 0 || t.web_pages > 0 || t.web_failed > 0) {
    j["web_search_ms"] = t.web_search_ms;
    j["web_fetch_ms"] = t.web_fetch_ms;
    j["web_extract_ms"] = t.web_extract_ms;
    j["rank_ms"] = t.rank_ms;
    j["web_pages"] = t.web_pages;
    j["web_cached"] = t.web_cached;
    j["web_failed"] = t.web_failed;
  }
  return j;
}

json citations_json(const std::vector<Citation>& cs) {
  json a = json::array();
  for (const auto& c : cs) a.push_back(citation_json(c));
  return a;
}

json response_object(const AskResponse& r) {
  return {{"answer", r.answer},
          {"citations", citations_json(r.citations)},
          {"related_questions", r.related_questions},
          {"model", r.model},
          {"usage",
           {{"prompt_tokens", r.usage.prompt_tokens},
            {"completion_tokens", r.usage.completion_tokens},
            {"total_tokens", r.usage.prompt_tokens + r.usage.completion_tokens}}},
          {"thread_id", r.thread_id ? json(*r.thread_id) : json(nullptr)},
          {"query", r.query},
          {"claims", claims_json(r.claims)},
          {"timings", timings_json(r.timings)},
          {"warnings", r.warnings}};
}

json document_object(const DocumentInfo& d) {
  json meta = json::parse(d.metadata_json, nullptr, false);
  if (meta.is_discarded()) meta = json::object();
  return {{"id", d.id},
          {"collection", d.collection},
          {"title", d.title},
          {"source", d.source},
          {"content_hash", d.content_hash},
          {"metadata", meta},
          {"bytes", d.bytes},
          {"chunks", d.chunks},
          {"created_at", d.created_at},
          {"updated_at", d.updated_at}};
}

}  // namespace json_detail
using namespace json_detail;

Result<std::string> normalise_metadata(std::string_view json_text) {
  auto j = parse_json(json_text);
  if (!j) return j.error();
  if (!j->is_object()) return field_error("metadata", "a JSON object");
  return dump(*j);
}

Result<AskRequest> parse_ask_request(std::string_view body) {
  auto j = parse_object(body);
  if (!j) return j.error();
  AskRequest r;
  if (Status s = get_string(*j, "query", r.query, true); !s) return s.error();
  if (Status s = get_collection(*j, r.collection); !s) return s.error();
  if (Status s = get_sources(*j, r); !s) return s.error();
  if (Status s = get_bool(*j, "stream", r.stream); !s) return s.error();
  if (Status s = get_string(*j, "model", r.model); !s) return s.error();
  if (r.model == kDefaultModelAlias) r.model.clear();  // "chaja", as GET /v1/models lists it
  std::string thread;
  if (Status s = get_string(*j, "thread_id", thread); !s) return s.error();
  if (!thread.empty()) r.thread_id = thread;
  if (Status s = get_k(*j, r.k); !s) return s.error();
  if (Status s = get_web_filters(*j, r); !s) return s.error();
  if (Status s = get_metadata_filter(*j, r.filter); !s) return s.error();
  return r;
}

Result<SearchRequest> parse_search_request(std::string_view body) {
  auto j = parse_object(body);
  if (!j) return j.error();
  SearchRequest r;
  if (Status s = get_string(*j, "query", r.query, true); !s) return s.error();
  if (Status s = get_collection(*j, r.collection); !s) return s.error();
  if (Status s = get_k(*j, r.k); !s) return s.error();
  if (Status s = get_bool(*j, "explain", r.explain); !s) return s.error();
  if (Status s = get_metadata_filter(*j, r.filter); !s) return s.error();
  return r;
}

Status add_filter_argument(MetadataFilter& filter, std::string_view argument) {
  const size_t eq = argument.find('=');
  if (eq == std::string_view::npos)
    return make_error(ErrorKind::kInvalidInput, "--filter takes KEY=VALUE, not '" +
                                                    std::string(argument.substr(0, 80)) + "'");
  const std::string key(argument.substr(0, eq));
  const std::string_view text = argument.substr(eq + 1);
  if (Status s = check_filter_key(key); !s) return s;
  // A JSON scalar when the value reads as one (2024, true, "2024"), else the text as a string.
  FilterValue value = FilterValue::of_string(std::string(text));
  if (utf8::is_valid(text)) {
    json parsed = json::parse(text, nullptr, /*allow_exceptions=*/false);
    FilterValue scalar;
    if (!parsed.is_discarded() && filter_scalar(parsed, scalar)) value = std::move(scalar);
  }
  // The same key again: any of its values.
  for (FilterCondition& c : filter.conditions)
    if (c.key == key) {
      c.any_of.push_back(std::move(value));
      return check_metadata_filter(filter);
    }
  filter.conditions.push_back({key, {std::move(value)}});
  return check_metadata_filter(filter);
}

Result<DocumentInput> parse_document_request(std::string_view body) {
  auto j = parse_object(body);
  if (!j) return j.error();
  DocumentInput d;
  if (Status s = get_string(*j, "text", d.text, true); !s) return s.error();
  if (Status s = get_string(*j, "title", d.title); !s) return s.error();
  if (Status s = get_string(*j, "source", d.source); !s) return s.error();
  if (Status s = get_collection(*j, d.collection); !s) return s.error();
  if (auto it = j->find("metadata"); it != j->end() && !it->is_null()) {
    if (!it->is_object()) return field_error("metadata", "a JSON object");
    d.metadata_json = dump(*it);
  }
  if (Status s = check_document_input(d); !s) return s.error();
  return d;
}

Status check_document_input(const DocumentInput& d) {
  if (d.text.find_first_not_of(" \t\r\n") == std::string::npos)
    return make_error(ErrorKind::kInvalidInput, "the document has no text");
  if (!utf8::is_valid(d.title) || !utf8::is_valid(d.source))
    return make_error(ErrorKind::kInvalidInput, "\"title\" and \"source\" must be UTF-8 text");
  if (d.title.size() > 1000) return field_error("title", "at most 1000 bytes");
  if (d.source.size() > 4096) return field_error("source", "at most 4096 bytes");
  return check_collection_name(d.collection);
}

std::string citations_json_text(const std::vector<Citation>& citations) {
  return dump(citations_json(citations));
}

std::string strings_json_text(const std::vector<std::string>& strings) {
  return dump(json(strings));
}

std::string thread_json(const ThreadInfo& t) {
  json turns = json::array();
  for (const ThreadTurn& turn : t.turns) {
    // Stored by the pipeline as JSON arrays; a damaged one reads as empty, never as an error.
    json citations = json::parse(turn.citations_json, nullptr, false);
    json related = json::parse(turn.related_json, nullptr, false);
    turns.push_back({{"id", turn.id},
                     {"question", turn.question},
                     {"query", turn.query},
                     {"answer", turn.answer},
                     {"citations", citations.is_array() ? citations : json::array()},
                     {"related_questions", related.is_array() ? related : json::array()},
                     {"model", turn.model},
                     {"created_at", turn.created_at}});
  }
  return dump({{"id", t.id},
               {"collection", t.collection},
               {"created_at", t.created_at},
               {"updated_at", t.updated_at},
               {"turn_count", t.turn_count},
               {"turns", turns}});
}

std::string ask_response_json(const AskResponse& response) {
  return dump(response_object(response));
}

std::string search_response_json(const std::vector<RetrievedHit>& hits, double took_ms,
                                 bool explain) {
  json results = json::array();
  for (const auto& r : hits) {
    const SearchHit& h = r.hit;
    json item = {{"id", h.chunk_id},   {"doc_id", h.doc_id},   {"title", h.title},
                 {"source", h.source}, {"section", h.section}, {"text", h.text},
                 {"score", h.score}};
    if (explain) {
      json bm25 =
          r.bm25_rank ? json{{"rank", r.bm25_rank}, {"score", r.bm25_score}} : json(nullptr);
      json dense =
          r.dense_rank ? json{{"rank", r.dense_rank}, {"score", r.dense_score}} : json(nullptr);
      item["explain"] = {{"bm25", bm25}, {"dense", dense}, {"fused", h.score}};
    }
    results.push_back(std::move(item));
  }
  // Whole milliseconds, as search engines report "took": a float's long tail of digits is noise.
  return dump({{"results", results}, {"took_ms", static_cast<int64_t>(std::llround(took_ms))}});
}

std::string document_json(const DocumentInfo& doc, const std::string* text) {
  json j = document_object(doc);
  if (text) j["text"] = *text;
  return dump(j);
}

std::string collections_json(const std::vector<CollectionInfo>& collections) {
  json list = json::array();
  for (const CollectionInfo& c : collections)
    list.push_back(
        {{"name", c.name}, {"documents", c.documents}, {"chunks", c.chunks}, {"bytes", c.bytes}});
  return dump(json{{"collections", std::move(list)}});
}

std::string documents_json(const std::vector<DocumentInfo>& docs) {
  json a = json::array();
  for (const auto& d : docs) a.push_back(document_object(d));
  return dump({{"documents", a}});
}

std::string put_result_json(const PutResult& put) {
  return dump(
      {{"id", put.doc_id}, {"chunks", put.chunks}, {"status", put_outcome_name(put.outcome)}});
}

std::string error_json(const Error& error) {
  return dump({{"error", {{"type", error_kind_name(error.kind)}, {"message", error.message}}}});
}

std::string sse_frame(const AnswerEvent& event) {
  struct Visitor {
    std::pair<const char*, json> operator()(const StepEvent& e) const {
      return {"step", {{"kind", e.kind}, {"text", e.text}}};
    }
    std::pair<const char*, json> operator()(const CitationEvent& e) const {
      return {"citation", citation_json(e.citation)};
    }
    std::pair<const char*, json> operator()(const SourcesEvent& e) const {
      return {"sources", {{"citations", citations_json(e.citations)}}};
    }
    std::pair<const char*, json> operator()(const DeltaEvent& e) const {
      return {"delta", {{"text", e.text}}};
    }
    std::pair<const char*, json> operator()(const RelatedEvent& e) const {
      return {"related", {{"related_questions", e.questions}}};
    }
    std::pair<const char*, json> operator()(const DoneEvent& e) const {
      return {"done", response_object(e.response)};
    }
    std::pair<const char*, json> operator()(const ErrorEvent& e) const {
      return {"error", json::parse(error_json(e.error))};
    }
  };
  auto [name, data] = std::visit(Visitor{}, event);
  return std::string("event: ") + name + "\ndata: " + dump(data) + "\n\n";
}

std::string job_file_json(const JobFile& job) {
  const DocumentInput& d = job.document;
  return dump({{"collection", d.collection},
               {"title", d.title},
               {"source", d.source},
               {"metadata", json::parse(d.metadata_json, nullptr, false)},
               {"text", d.text},
               {"owner", job.owner},
               {"created_at", job.created_at}});
}

Result<JobFile> parse_job_file(std::string_view text) {
  auto j = parse_object(text);
  if (!j) return j.error();
  JobFile job;
  DocumentInput& d = job.document;
  for (const auto& [field, out] :
       {std::pair<const char*, std::string*>{"collection", &d.collection},
        {"title", &d.title},
        {"source", &d.source},
        {"text", &d.text},
        {"owner", &job.owner}})
    if (Status s = get_string(*j, field, *out); !s) return s.error();
  if (auto m = j->find("metadata"); m != j->end() && m->is_object()) d.metadata_json = dump(*m);
  if (auto t = j->find("created_at"); t != j->end() && t->is_number_integer())
    job.created_at = t->get<int64_t>();
  return job;
}

std::string job_status_json(const JobStatus& job) {
  json j = {{"id", job.id},
            {"state", job.state},
            {"progress", job.progress},
            {"collection", job.collection},
            {"source", job.source},
            {"bytes", job.bytes},
            {"created_at", job.created_at},
            {"finished_at", job.finished_at == 0 ? json(nullptr) : json(job.finished_at)}};
  if (job.result)
    j["result"] = {{"id", job.result->doc_id},
                   {"chunks", job.result->chunks},
                   {"status", put_outcome_name(job.result->outcome)}};
  if (job.error)
    j["error"] = {{"type", error_kind_name(job.error->kind)}, {"message", job.error->message}};
  return dump(j);
}

std::string request_log_json(const RequestLogEntry& e) {
  return dump({{"ts", iso_now()},
               {"level", e.status >= 500 ? "error" : "info"},
               {"msg", "request"},
               {"request_id", e.request_id},
               {"method", e.method},
               {"path", e.path},
               {"route", e.route},
               {"status", e.status},
               {"ms", std::round(e.ms * 100) / 100},
               {"key", e.key_id.empty() ? json(nullptr) : json(e.key_id)}});
}

namespace {
json audit_base(const std::string& request_id, const std::string& key_id, const char* event) {
  return {{"ts", iso_now()},
          {"event", event},
          {"request_id", request_id},
          {"key", key_id.empty() ? json(nullptr) : json(key_id)}};
}
}  // namespace

std::string audit_answer_json(const std::string& request_id, const std::string& key_id,
                              const AskRequest& request, const AskResponse* response,
                              const Error* error) {
  json j = audit_base(request_id, key_id, "ask");
  j["query"] = request.query;
  j["collection"] = request.collection;
  j["web"] = request.web;
  j["model"] = request.model;
  if (response) {
    j["thread_id"] = response->thread_id ? json(*response->thread_id) : json(nullptr);
    j["answer_model"] = response->model;
    json sources = json::array();
    for (const Citation& c : response->citations) sources.push_back(c.source);
    j["sources"] = std::move(sources);
  }
  if (error) j["error"] = error_kind_name(error->kind);
  return dump(j);
}

std::string audit_event_json(const std::string& request_id, const std::string& key_id,
                             const std::string& event,
                             const std::vector<std::pair<std::string, std::string>>& fields) {
  json j = audit_base(request_id, key_id, event.c_str());
  for (const auto& [k, v] : fields) j[k] = v;
  return dump(j);
}

}  // namespace chaja
