// The three web search backends: each builds its request from a WebQuery, reads its response into
// WebResults and maps its error bodies. Wire formats: tests/fixtures/{searxng,brave,tavily}/.
#include <algorithm>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "connectors/http_call.h"
#include "connectors/web_search.h"
#include "connectors/wire_json.h"

namespace chaja {

namespace {

using wire::Json;

// Percent-encoding of a query parameter value (RFC 3986 unreserved characters stay).
std::string query_value(std::string_view s) {
  return url_path_segment(s);
}

struct Backend {
  std::string name;
  std::string base_url;
  std::string api_key;       // "" for SearXNG
  std::string key_variable;  // named when the key is refused
  std::string url_variable;  // named when nothing listens
};

// Shared transport and error handling; the subclasses own the wire format.
class HttpWebSearch : public WebSearch {
 public:
  HttpWebSearch(Backend backend, const WebSearchSettings& settings) : backend_(std::move(backend)) {
    options_.provider = backend_.name;
    options_.key_variable = backend_.key_variable;
    options_.timeouts = settings.timeouts;
    options_.retry = settings.retry;
    options_.max_response_bytes = settings.max_response_bytes;
  }
  std::string name() const override { return backend_.name; }

  Result<std::vector<WebResult>> search(const WebQuery& query, const CancelFlag* cancel) override {
    if (query.text.find_first_not_of(" \t\r\n") == std::string::npos)
      return make_error(ErrorKind::kInvalidInput, "web search: empty query");
    HttpRequest request = build(query);
    request.timeouts = options_.timeouts;
    request.max_body_bytes = options_.max_response_bytes;
    int attempts = 0;
    auto res = send_with_retries(pool_, request, options_, cancel, attempts);
    if (!res.ok()) {
      Error e = res.error();
      if (e.kind == ErrorKind::kTooLarge) e.kind = ErrorKind::kUpstream;
      if (e.kind == ErrorKind::kUnavailable && !backend_.url_variable.empty())
        e.message += " (check " + backend_.url_variable + ")";
      return fail(std::move(e));
    }
    if (res->cancelled) return make_error(ErrorKind::kCancelled, backend_.name + " call cancelled");
    if (res->status < 200 || res->status > 299) return fail(map_status(res->status, res->body));
    auto parsed = wire::parse(res->body);
    if (!parsed) return fail(wire::malformed(backend_.name, "response is not JSON"));
    auto results = read(*parsed);
    if (!results.ok()) return fail(results.error());
    return normalise_web_results(std::move(*results), query);
  }

 protected:
  virtual HttpRequest build(const WebQuery& query) const = 0;
  virtual Result<std::vector<WebResult>> read(const Json& body) const = 0;
  // The provider's own message from an error body ("" when none).
  virtual std::string error_message(const Json& body) const = 0;
  // The kind for an error status (the common table below covers the rest).
  virtual std::optional<ErrorKind> special_status(int /*status*/) const { return std::nullopt; }

  const Backend& backend() const { return backend_; }

 private:
  Error fail(Error e) const {
    if (!e.message.starts_with(backend_.name)) e.message = backend_.name + ": " + e.message;
    return scrub_key(std::move(e), backend_.api_key);
  }

  Error map_status(int status, const std::string& body) const {
    std::string said;
    if (auto json = wire::parse(body)) said = error_message(*json);
    if (said.empty() && !body.empty()) said = wire::quote(body, 200);
    ErrorKind kind = ErrorKind::kUpstream;
    if (auto special = special_status(status)) {
      kind = *special;
    } else if (status == 429) {
      kind = ErrorKind::kRateLimited;
    }
    std::string message = "HTTP " + std::to_string(status);
    if (!said.empty()) message += ": \"" + said + "\"";
    if ((status == 401 || status == 403 ||
         (status == 422 && kind == ErrorKind::kUpstream &&
          said.find("token") != std::string::npos)) &&
        !backend_.key_variable.empty())
      message += " (check " + backend_.key_variable + ")";
    return make_error(kind, message);
  }

  Backend backend_;
  HttpCallOptions options_;
  HttpClientPool pool_;
};

// Reads a string field; a wrong type fails the reader.
std::string text_of(wire::FieldReader& r, const Json& obj, std::string_view key) {
  return r.string(obj, key).value_or("");
}

// ---- SearXNG: GET /search?q=...&format=json ----

class SearxngSearch : public HttpWebSearch {
 public:
  using HttpWebSearch::HttpWebSearch;

 protected:
  HttpRequest build(const WebQuery& q) const override {
    std::string url = join_url(backend().base_url, "/search") +
                      "?q=" + query_value(web_query_with_sites(q)) +
                      "&format=json&categories=general";
    if (!q.language.empty()) url += "&language=" + query_value(q.language);
    static const char* kRange[] = {"", "day", "week", "month", "year"};
    if (q.recency != WebRecency::kNone)
      url += std::string("&time_range=") + kRange[static_cast<int>(q.recency)];
    HttpRequest r;
    r.url = std::move(url);
    r.headers.add("Accept", "application/json");
    return r;
  }

  Result<std::vector<WebResult>> read(const Json& body) const override {
    wire::FieldReader r("searxng: malformed response");
    std::vector<WebResult> out;
    if (!body.is_object()) return wire::malformed("searxng", "response is not a JSON object");
    const Json* results = r.array(body, "results");
    if (!r.ok()) return r.error();
    if (!results) return wire::malformed("searxng", "no results list");
    for (const Json& item : *results) {
      if (!item.is_object()) continue;
      WebResult w;
      w.url = text_of(r, item, "url");
      w.title = text_of(r, item, "title");
      w.snippet = text_of(r, item, "content");
      w.published = text_of(r, item, "publishedDate");
      std::string engines;
      if (const Json* list = r.array(item, "engines"))
        for (const Json& e : *list)
          if (e.is_string()) engines += (engines.empty() ? "" : ",") + e.get<std::string>();
      if (engines.empty()) engines = text_of(r, item, "engine");
      if (!r.ok()) return r.error();
      w.engine = engines.empty() ? "searxng" : "searxng:" + engines;
      out.push_back(std::move(w));
    }
    if (out.empty()) {
      // Say why when the upstream engines did not answer (nothing fails silently).
      std::string why;
      if (const Json* bad = wire::member(body, "unresponsive_engines"); bad && bad->is_array())
        for (const Json& pair : *bad)
          if (pair.is_array() && pair.size() == 2 && pair[0].is_string() && pair[1].is_string())
            why += (why.empty() ? "" : ", ") + pair[0].get<std::string>() + " (" +
                   pair[1].get<std::string>() + ")";
      if (!why.empty())
        return make_error(ErrorKind::kUpstream,
                          "searxng: no results; unresponsive engines: " + wire::quote(why, 400));
    }
    return out;
  }

  std::string error_message(const Json& body) const override {
    if (const Json* e = wire::member(body, "error"); e && e->is_string())
      return wire::quote(e->get<std::string>(), 300);
    return "";
  }

  std::optional<ErrorKind> special_status(int status) const override {
    // 403: format=json is not enabled in the instance's settings.yml (search.formats).
    if (status == 403) return ErrorKind::kUpstream;
    return std::nullopt;
  }
};

// ---- Brave: GET /res/v1/web/search with X-Subscription-Token ----

class BraveSearch : public HttpWebSearch {
 public:
  using HttpWebSearch::HttpWebSearch;

 protected:
  HttpRequest build(const WebQuery& q) const override {
    const int count = std::clamp(q.count, 1, 20);
    std::string url = join_url(backend().base_url, "/res/v1/web/search") +
                      "?q=" + query_value(web_query_with_sites(q)) +
                      "&count=" + std::to_string(count);
    static const char* kFreshness[] = {"", "pd", "pw", "pm", "py"};
    if (q.recency != WebRecency::kNone)
      url += std::string("&freshness=") + kFreshness[static_cast<int>(q.recency)];
    if (!q.language.empty()) url += "&search_lang=" + query_value(q.language);
    HttpRequest r;
    r.url = std::move(url);
    r.headers.add("Accept", "application/json");
    r.headers.add("X-Subscription-Token", backend().api_key);
    return r;
  }

  Result<std::vector<WebResult>> read(const Json& body) const override {
    wire::FieldReader r("brave: malformed response");
    std::vector<WebResult> out;
    if (!body.is_object()) return wire::malformed("brave", "response is not a JSON object");
    const Json* web = r.object(body, "web");
    const Json* results = web ? r.array(*web, "results") : nullptr;  // absent: no web results
    if (!r.ok()) return r.error();
    if (!results) return out;
    for (const Json& item : *results) {
      if (!item.is_object()) continue;
      WebResult w;
      w.url = text_of(r, item, "url");
      w.title = text_of(r, item, "title");
      w.snippet = text_of(r, item, "description");
      w.published = text_of(r, item, "page_age");
      if (w.published.empty()) w.published = text_of(r, item, "age");
      if (!r.ok()) return r.error();
      w.engine = "brave";
      out.push_back(std::move(w));
    }
    return out;
  }

  // Live bodies: {"error":{"code","detail"}}; the docs' example: {"errors":[{...}]}.
  std::string error_message(const Json& body) const override {
    const Json* e = wire::member(body, "error");
    if (!e || !e->is_object()) {
      const Json* list = wire::member(body, "errors");
      if (list && list->is_array() && !list->empty()) e = &(*list)[0];
    }
    if (!e || !e->is_object()) return "";
    std::string out;
    if (const Json* code = wire::member(*e, "code"); code && code->is_string())
      out = code->get<std::string>();
    if (const Json* detail = wire::member(*e, "detail"); detail && detail->is_string())
      out += (out.empty() ? "" : ": ") + detail->get<std::string>();
    return wire::quote(out, 300);
  }

  std::optional<ErrorKind> special_status(int status) const override {
    if (status == 402) return ErrorKind::kRateLimited;  // USAGE_LIMIT_EXCEEDED
    return std::nullopt;
  }
};

// ---- Tavily: POST /search with a Bearer key ----

class TavilySearch : public HttpWebSearch {
 public:
  using HttpWebSearch::HttpWebSearch;

 protected:
  HttpRequest build(const WebQuery& q) const override {
    Json body = Json::object();
    body["query"] = q.text;
    body["max_results"] = std::clamp(q.count, 1, 20);
    body["search_depth"] = "basic";
    static const char* kRange[] = {"", "day", "week", "month", "year"};
    if (q.recency != WebRecency::kNone) body["time_range"] = kRange[static_cast<int>(q.recency)];
    if (!q.include_domains.empty()) body["include_domains"] = q.include_domains;
    if (!q.exclude_domains.empty()) body["exclude_domains"] = q.exclude_domains;
    HttpRequest r;
    r.method = "POST";
    r.url = join_url(backend().base_url, "/search");
    r.headers.add("Content-Type", "application/json");
    r.headers.add("Accept", "application/json");
    r.headers.add("Authorization", "Bearer " + backend().api_key);
    r.body = wire::dump(body);
    return r;
  }

  Result<std::vector<WebResult>> read(const Json& body) const override {
    wire::FieldReader r("tavily: malformed response");
    std::vector<WebResult> out;
    if (!body.is_object()) return wire::malformed("tavily", "response is not a JSON object");
    const Json* results = r.array(body, "results");
    if (!r.ok()) return r.error();
    if (!results) return wire::malformed("tavily", "no results list");
    for (const Json& item : *results) {
      if (!item.is_object()) continue;
      WebResult w;
      w.url = text_of(r, item, "url");
      w.title = text_of(r, item, "title");
      w.snippet = text_of(r, item, "content");
      w.published = text_of(r, item, "published_date");
      if (!r.ok()) return r.error();
      w.engine = "tavily";
      out.push_back(std::move(w));
    }
    return out;
  }

  // {"detail":{"error":"..."}} (also a plain string detail, FastAPI's default).
  std::string error_message(const Json& body) const override {
    const Json* detail = wire::member(body, "detail");
    if (detail && detail->is_string()) return wire::quote(detail->get<std::string>(), 300);
    if (detail && detail->is_object())
      if (const Json* e = wire::member(*detail, "error"); e && e->is_string())
        return wire::quote(e->get<std::string>(), 300);
    return "";
  }

  std::optional<ErrorKind> special_status(int status) const override {
    if (status == 432 || status == 433) return ErrorKind::kRateLimited;  // plan limits
    return std::nullopt;
  }
};

}  // namespace

Result<std::unique_ptr<WebSearch>> make_searxng_search(const Env& env,
                                                       const WebSearchSettings& settings) {
  const std::string url = env_value(env, "SEARXNG_URL");
  if (url.empty()) return make_error(ErrorKind::kUnavailable, "searxng: SEARXNG_URL is not set");
  return std::unique_ptr<WebSearch>(
      std::make_unique<SearxngSearch>(Backend{"searxng", url, "", "", "SEARXNG_URL"}, settings));
}

Result<std::unique_ptr<WebSearch>> make_brave_search(const Env& env,
                                                     const WebSearchSettings& settings) {
  const std::string key = env_value(env, "BRAVE_API_KEY");
  if (key.empty()) return make_error(ErrorKind::kUnavailable, "brave: BRAVE_API_KEY is not set");
  const std::string base = env_value(env, "BRAVE_BASE_URL", "https://api.search.brave.com");
  return std::unique_ptr<WebSearch>(std::make_unique<BraveSearch>(
      Backend{"brave", base, key, "BRAVE_API_KEY", "BRAVE_BASE_URL"}, settings));
}

Result<std::unique_ptr<WebSearch>> make_tavily_search(const Env& env,
                                                      const WebSearchSettings& settings) {
  const std::string key = env_value(env, "TAVILY_API_KEY");
  if (key.empty()) return make_error(ErrorKind::kUnavailable, "tavily: TAVILY_API_KEY is not set");
  const std::string base = env_value(env, "TAVILY_BASE_URL", "https://api.tavily.com");
  return std::unique_ptr<WebSearch>(std::make_unique<TavilySearch>(
      Backend{"tavily", base, key, "TAVILY_API_KEY", "TAVILY_BASE_URL"}, settings));
}

}  // namespace chaja
