#include "agent/server.h"

#include <httplib.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <map>
#include <mutex>
#include <string_view>

#include "agent/access.h"
#include "agent/audit.h"
#include "agent/json_api.h"
#include "agent/metrics.h"
#include "agent/openai_api.h"
#include "agent/rate_limit.h"
#include "index/fs_util.h"
#include "index/simd/simd.h"
#include "web/assets.h"

namespace chaja {
namespace {

constexpr const char* kJson = "application/json; charset=utf-8";

// httplib keeps its listening socket protected; reaching it lets us raise the backlog from 5.
class Listener : public httplib::Server {
 public:
  int socket() const { return static_cast<int>(svr_sock_); }
};

// The request this thread is serving: set by the pre-routing hook, read by the handlers and the
// logger (httplib runs all three, and a stream's writes, on the request's own thread).
struct RequestContext {
  std::chrono::steady_clock::time_point start;
  std::string id;      // X-Request-Id: the client's when it is sane, else 16 random hex
  std::string key_id;  // the caller's key id, "" when open or unknown
};
thread_local RequestContext t_request;

// A client's X-Request-Id is kept only when short and plain (it goes into logs).
bool sane_request_id(const std::string& id) {
  if (id.empty() || id.size() > 64) return false;
  for (const char c : id)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.')
      return false;
  return true;
}

// An error body: the contract's (error_json) or OpenAI's (openai_error_json).
using ErrorRenderer = std::string (*)(const Error&);

// Storage and internal failures are logged in full and answered in general terms: their detail
// (SQLite messages, paths) is for the operator, not the caller.
Error public_error(const Error& error) {
  if (error.kind != ErrorKind::kIo && error.kind != ErrorKind::kInternal) return error;
  std::fprintf(stderr, "error: %s: %s\n", error_kind_name(error.kind), error.message.c_str());
  return make_error(error.kind, "internal error; see the server log");
}

void send_error(httplib::Response& res, const Error& error, ErrorRenderer render = error_json) {
  res.status = http_status(error.kind);
  res.set_content(render(public_error(error)), kJson);
}

// Drains an answer into its response (the non-streamed routes).
Result<AskResponse> collect(AnswerStream& events) {
  while (auto e = events.next()) {
    if (auto* done = std::get_if<DoneEvent>(&*e)) return std::move(done->response);
    if (auto* err = std::get_if<ErrorEvent>(&*e)) return err->error;
  }
  return make_error(ErrorKind::kInternal, "the answer ended without a result");
}

// Streams an answer as Server-Sent Events, `render` giving each event's frames ("" sends
// nothing; it is called on httplib's thread, one event at a time, in order).
// While the model is quiet, a comment line every second keeps proxies from timing out and finds
// a client that went away: its write fails, the stream is dropped, and dropping it cancels the
// model call.
// `observe` sees each event first (time to first token, the audit entry at the end).
// `cut_at`: once the server is stopping, the steady-clock time (ns) when streams still running
// are ended with an error event (0 while serving).
int64_t steady_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void stream_events(httplib::Response& res, std::shared_ptr<AnswerStream> events,
                   std::function<std::string(const AnswerEvent&)> render,
                   std::shared_ptr<void> slot, std::function<void(const AnswerEvent&)> observe,
                   const std::atomic<int64_t>* cut_at) {
  res.set_header("Cache-Control", "no-cache");
  res.set_header("X-Accel-Buffering", "no");
  res.set_chunked_content_provider("text/event-stream", [events, render, slot, observe, cut_at](
                                                            size_t, httplib::DataSink& sink) {
    static constexpr std::string_view kKeepAlive = ": keep-alive\n\n";
    for (;;) {
      if (const int64_t cut = cut_at->load(); cut != 0 && steady_ns() >= cut) {
        ErrorEvent stop{make_error(ErrorKind::kUnavailable,
                                   "the server is shutting down; ask again in a moment")};
        observe(stop);
        const std::string frame = render(stop);
        sink.write(frame.data(), frame.size());
        sink.done();
        return true;  // dropping `events` cancels the model call
      }
      if (!events->wait_for(std::chrono::seconds(1))) {
        if (!sink.write(kKeepAlive.data(), kKeepAlive.size())) return false;
        continue;
      }
      auto e = events->next();
      if (!e) break;
      if (auto* err = std::get_if<ErrorEvent>(&*e)) err->error = public_error(err->error);
      observe(*e);
      const std::string frame = render(*e);
      if (!frame.empty() && !sink.write(frame.data(), frame.size())) return false;  // client gone
    }
    sink.done();
    return true;
  });
}

int64_t unix_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The host part of a Host header or of an origin's authority: "[::1]:8080" -> "::1".
std::string host_of(std::string_view authority) {
  if (authority.starts_with("[")) {
    const size_t end = authority.find(']');
    return std::string(
        authority.substr(1, end == std::string_view::npos ? std::string_view::npos : end - 1));
  }
  return std::string(authority.substr(0, authority.find(':')));
}

bool is_loopback_name(const std::string& host) {
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

// A request body, read by Chaja rather than by httplib, whose form decoding caps
// application/x-www-form-urlencoded bodies (what `curl -d` sends) at 8 KiB.
struct Body {
  std::string text;                                         // a non-multipart body
  std::map<std::string, httplib::MultipartFormData> parts;  // multipart, by part name
};

constexpr size_t kMaxParts = 16;

Result<Body> read_body(const httplib::Request& req, const httplib::ContentReader& reader,
                       size_t max) {
  Body body;
  size_t total = 0;
  bool too_large = false, too_many = false;
  auto count = [&](size_t n) {
    total += n;
    too_large = too_large || total > max;
    return !too_large;
  };
  bool ok;
  if (req.is_multipart_form_data()) {
    httplib::MultipartFormData* current = nullptr;
    ok = reader(
        [&](const httplib::MultipartFormData& header) {
          if (body.parts.size() >= kMaxParts && !body.parts.count(header.name)) {
            too_many = true;
            return false;
          }
          current = &body.parts[header.name];
          *current = header;
          current->content.clear();
          return true;
        },
        [&](const char* data, size_t n) {
          if (!count(n) || current == nullptr) return false;
          current->content.append(data, n);
          return true;
        });
  } else {
    ok = reader([&](const char* data, size_t n) {
      if (!count(n)) return false;
      body.text.append(data, n);
      return true;
    });
  }
  // httplib refuses a declared Content-Length over the limit before any byte reaches us.
  const std::string declared = req.get_header_value("Content-Length");
  unsigned long long length = 0;
  const auto parsed = std::from_chars(declared.data(), declared.data() + declared.size(), length);
  if (!ok && parsed.ec == std::errc() && length > max) too_large = true;
  if (too_large)
    return make_error(ErrorKind::kTooLarge,
                      "the request body is larger than " + std::to_string(max) + " bytes");
  if (too_many)
    return make_error(ErrorKind::kInvalidInput,
                      "more than " + std::to_string(kMaxParts) + " form parts");
  if (!ok) return make_error(ErrorKind::kInvalidInput, "the request body could not be read");
  return body;
}

const std::string* part(const Body& body, const std::string& name) {
  auto it = body.parts.find(name);
  return it == body.parts.end() ? nullptr : &it->second.content;
}

Result<int64_t> parse_id(const std::string& s) {
  if (s.empty() || s.size() > 18)
    return make_error(ErrorKind::kInvalidInput, "a document id is a positive integer");
  int64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9')
      return make_error(ErrorKind::kInvalidInput, "a document id is a positive integer");
    v = v * 10 + (c - '0');
  }
  return v;
}

Result<size_t> parse_count(const httplib::Request& req, const char* name, size_t fallback,
                           size_t max) {
  if (!req.has_param(name)) return fallback;
  auto v = parse_id(req.get_param_value(name));
  if (!v || static_cast<size_t>(*v) > max)
    return make_error(ErrorKind::kInvalidInput,
                      std::string(name) + " must be an integer from 0 to " + std::to_string(max));
  return static_cast<size_t>(*v);
}

// Debian's httplib is built with brotli, prefers it whenever a client accepts it, and compresses
// at brotli's slowest quality: 150 ms for the page's 114 KB script, against 5 ms with gzip, and
// the same on every JSON answer a browser gets. So "br" is taken out of the request's
// Accept-Encoding before httplib picks. (The request is httplib's own non-const object; the
// pre-routing hook is handed it as const.)
void prefer_gzip(httplib::Request& req) {
  auto it = req.headers.find("Accept-Encoding");
  if (it == req.headers.end() || it->second.find("br") == std::string::npos) return;
  std::string kept;
  size_t start = 0;
  const std::string& value = it->second;
  while (start <= value.size()) {
    size_t end = value.find(',', start);
    if (end == std::string::npos) end = value.size();
    std::string item = value.substr(start, end - start);
    item.erase(0, item.find_first_not_of(' '));
    if (item.rfind("br", 0) != 0 && !item.empty()) kept += (kept.empty() ? "" : ", ") + item;
    start = end + 1;
  }
  req.headers.erase(it);
  if (!kept.empty()) req.headers.emplace("Accept-Encoding", kept);
}

}  // namespace

int http_status(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kInvalidInput:
      return 400;
    case ErrorKind::kUnsupported:
      return 400;
    case ErrorKind::kNotFound:
      return 404;
    case ErrorKind::kConflict:
      return 409;
    case ErrorKind::kForbidden:
      return 403;
    case ErrorKind::kUnauthorized:
      return 401;
    case ErrorKind::kTooLarge:
      return 413;
    case ErrorKind::kUpstream:
      return 502;
    case ErrorKind::kUnavailable:
      return 503;
    case ErrorKind::kTimeout:
      return 504;
    case ErrorKind::kIo:
      return 500;
    case ErrorKind::kInternal:
      return 500;
    case ErrorKind::kRateLimited:
      return 429;
    case ErrorKind::kCancelled:
      return 500;  // never sent: the client is gone
  }
  return 500;
}

struct HttpServer::Impl {
  Store& store;
  Answerer& answerer;
  ServerOptions options;
  Listener http;
  const int64_t started_at = unix_seconds();  // the models' "created"
  RateLimiter limits;
  std::shared_ptr<Metrics> metrics;
  std::atomic<int64_t> open_streams{0};
  std::atomic<int64_t> cut_streams_at{0};  // steady ns; set by stop() (see stream_events)

  Impl(Store& s, Answerer& a, ServerOptions o)
      : store(s),
        answerer(a),
        options(std::move(o)),
        metrics(options.metrics ? options.metrics : std::make_shared<Metrics>()) {}

  void audit(const std::string& entry) {
    if (options.audit) options.audit->write(entry);
  }
  void audit_answer(const AskRequest& request, const AskResponse* response, const Error* error) {
    audit(audit_answer_json(t_request.id, t_request.key_id, request, response, error));
  }
  void audit_event(const std::string& event,
                   const std::vector<std::pair<std::string, std::string>>& fields) {
    audit(audit_event_json(t_request.id, t_request.key_id, event, fields));
  }

  // What a streamed answer's events tell the metrics and the audit log: the time to its first
  // text, and at the end what was asked and which sources came back. Runs on the request's thread.
  std::function<void(const AnswerEvent&)> answer_observer(const AskRequest& request) {
    struct State {
      AskRequest request;
      std::chrono::steady_clock::time_point start;
      std::string request_id, key_id;
      bool first = true;
    };
    auto state = std::make_shared<State>(
        State{request, t_request.start, t_request.id, t_request.key_id, true});
    ++open_streams;
    std::shared_ptr<void> counted(this, [this](void*) { --open_streams; });
    return [this, state, counted](const AnswerEvent& e) {
      if (std::holds_alternative<DeltaEvent>(e) && state->first) {
        state->first = false;
        metrics->first_token(
            std::chrono::duration<double>(std::chrono::steady_clock::now() - state->start).count());
      }
      if (const auto* done = std::get_if<DoneEvent>(&e))
        audit(audit_answer_json(state->request_id, state->key_id, state->request, &done->response,
                                nullptr));
      if (const auto* err = std::get_if<ErrorEvent>(&e))
        audit(audit_answer_json(state->request_id, state->key_id, state->request, nullptr,
                                &err->error));
    };
  }

  static constexpr size_t kThreadTurnsShown = 50;
  static Error no_threads() {
    return make_error(ErrorKind::kUnavailable, "this server keeps no threads");
  }

  void routes() {
    http.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(std::string(R"({"status":"ok","version":")" CHAJA_VERSION R"(","simd":")") +
                          simd::level_name(simd::active_level()) + "\"}",
                      kJson);
    });
    http.Get("/", [this](const httplib::Request& req, httplib::Response& res) {
      send_asset(req, res, "index.html");
    });
    http.Get(R"(/([a-z]+\.(?:js|css|svg)))",
             [this](const httplib::Request& req, httplib::Response& res) {
               send_asset(req, res, req.matches[1].str());
             });
    get("/v1/models", [this](const httplib::Request&, const Caller&, httplib::Response& res) {
      res.set_content(models_json(options.default_model, started_at), kJson);
    });
    get("/v1/collections",
        [this](const httplib::Request&, const Caller& who, httplib::Response& res) {
          auto collections = store.collections();
          if (!collections) return send_error(res, collections.error());
          std::erase_if(*collections,
                        [&](const CollectionInfo& c) { return !sees_collection(who, c.name); });
          res.set_content(collections_json(*collections), kJson);
        });
    get("/metrics", [this](const httplib::Request&, const Caller& who, httplib::Response& res) {
      if (Status s = permits(who, Action::kAdmin); !s) return send_error(res, s.error());
      MetricGauges g;
      if (auto stats = store.stats()) {
        g.documents = stats->documents;
        g.chunks = stats->chunks;
        g.bytes = stats->bytes;
        g.collections = stats->collections;
      }
      if (options.keys)
        if (auto keys = options.keys->list())
          g.active_keys =
              std::count_if(keys->begin(), keys->end(), [](const ApiKey& k) { return !k.revoked; });
      g.open_streams = open_streams.load();
      res.set_content(metrics->render(g), "text/plain; version=0.0.4; charset=utf-8");
    });
    post("/v1/search", &Impl::search);
    post("/v1/ask", &Impl::ask);
    post("/v1/chat/completions", &Impl::chat_completions, openai_error_json);
    post("/v1/documents", &Impl::post_document);
    get("/v1/documents", [this](const httplib::Request& req, const Caller& who,
                                httplib::Response& res) { list_documents(req, who, res); });
    get(R"(/v1/documents/([^/]+))",
        [this](const httplib::Request& req, const Caller& who, httplib::Response& res) {
          auto doc = visible_document(req.matches[1], who);
          if (!doc) return send_error(res, doc.error());
          auto text = store.text_of(doc->id);
          if (!text) return send_error(res, text.error());
          res.set_content(document_json(*doc, &*text), kJson);
        });
    del(R"(/v1/documents/([^/]+))",
        [this](const httplib::Request& req, const Caller& who, httplib::Response& res) {
          if (Status s = permits(who, Action::kWrite); !s) return send_error(res, s.error());
          auto doc = visible_document(req.matches[1], who);
          if (!doc) return send_error(res, doc.error());
          if (Status s = store.remove(doc->id); !s) return send_error(res, s.error());
          audit_event("document.delete", {{"collection", doc->collection},
                                          {"id", std::to_string(doc->id)},
                                          {"source", doc->source}});
          res.set_content(R"({"deleted":)" + std::to_string(doc->id) + "}", kJson);
        });
    get(R"(/v1/jobs/([^/]+))",
        [this](const httplib::Request& req, const Caller& who, httplib::Response& res) {
          if (!options.jobs)
            return send_error(
                res, make_error(ErrorKind::kUnavailable, "this server runs no ingest jobs"));
          auto job = options.jobs->get(req.matches[1]);
          if (job && job->owner != owner_of(who))
            job = make_error(ErrorKind::kNotFound, "job " + job->id + " not found");
          if (!job) return send_error(res, job.error());
          if (job->error) job->error = public_error(*job->error);
          res.set_content(job_status_json(*job), kJson);
        });
    del("/v1/documents", [this](const httplib::Request& req, const Caller& who,
                                httplib::Response& res) { delete_by_source(req, who, res); });
    get(R"(/v1/threads/([^/]+))",
        [this](const httplib::Request& req, const Caller& who, httplib::Response& res) {
          auto thread = own_thread(req.matches[1], who, kThreadTurnsShown);
          if (!thread) return send_error(res, thread.error());
          res.set_content(thread_json(*thread), kJson);
        });
    del(R"(/v1/threads/([^/]+))",
        [this](const httplib::Request& req, const Caller& who, httplib::Response& res) {
          auto thread = own_thread(req.matches[1], who, 0);
          if (!thread) return send_error(res, thread.error());
          if (Status s = options.thread_store->remove(thread->id); !s)
            return send_error(res, s.error());
          audit_event("thread.delete", {{"thread_id", thread->id}});
          res.set_content(R"({"deleted":")" + thread->id + "\"}", kJson);
        });
  }

  // DELETE /v1/documents?source=S[&collection=C]: the document stored under that source.
  void delete_by_source(const httplib::Request& req, const Caller& who, httplib::Response& res) {
    if (Status s = permits(who, Action::kWrite); !s) return send_error(res, s.error());
    const std::string source = req.get_param_value("source");
    if (source.empty())
      return send_error(res, make_error(ErrorKind::kInvalidInput,
                                        "name the document: DELETE /v1/documents/{id} or "
                                        "/v1/documents?source=S"));
    std::string collection =
        req.has_param("collection") ? req.get_param_value("collection") : kDefaultCollection;
    if (Status s = check_collection_name(collection); !s) return send_error(res, s.error());
    auto scope = scope_collection(who, collection);
    if (!scope) return send_error(res, scope.error());
    auto doc = store.find_source(*scope, source);
    if (!doc) return send_error(res, doc.error());
    if (!*doc)
      return send_error(res, make_error(ErrorKind::kNotFound, "no document with source '" + source +
                                                                  "' in '" + *scope + "'"));
    if (Status s = store.remove((*doc)->id); !s) return send_error(res, s.error());
    audit_event("document.delete",
                {{"collection", *scope}, {"id", std::to_string((*doc)->id)}, {"source", source}});
    res.set_content(R"({"deleted":)" + std::to_string((*doc)->id) + "}", kJson);
  }

  // A document the caller may see; another collection's reads as an unknown id.
  Result<DocumentInfo> visible_document(const std::string& id_text, const Caller& who) {
    auto id = parse_id(id_text);
    if (!id) return id.error();
    auto doc = store.get(*id);
    if (!doc) return doc.error();
    if (!sees_collection(who, doc->collection)) return unknown_document(*id);
    return doc;
  }

  // A thread the caller started; another key's reads as an unknown id.
  Result<ThreadInfo> own_thread(const std::string& id, const Caller& who, size_t turns) {
    if (!options.thread_store) return no_threads();
    auto thread = options.thread_store->get(id, turns);
    if (!thread) return thread.error();
    if (thread->owner != owner_of(who)) return thread_not_found(id);
    return thread;
  }

  // Routes that act for a caller: the pre-routing check has already refused a request without
  // a valid key (when keys exist); the caller is read again here, and a key revoked in between
  // is refused too.
  using CallerHandler =
      std::function<void(const httplib::Request&, const Caller&, httplib::Response&)>;
  httplib::Server::Handler with_caller(CallerHandler handler) {
    return
        [this, handler = std::move(handler)](const httplib::Request& req, httplib::Response& res) {
          auto who = caller(req);
          if (!who) return send_error(res, who.error());
          handler(req, *who, res);
        };
  }
  void get(const char* path, CallerHandler handler) {
    http.Get(path, with_caller(std::move(handler)));
  }
  void del(const char* path, CallerHandler handler) {
    http.Delete(path, with_caller(std::move(handler)));
  }

  // The UI's embedded files (web/), revalidated by ETag: a new build serves new bytes at once.
  struct Asset {
    std::string_view bytes;
    std::string etag;
  };
  std::map<std::string, Asset, std::less<>> assets;

  const Asset* asset(std::string_view name) {
    std::lock_guard lock(assets_mutex);
    if (auto it = assets.find(name); it != assets.end()) return &it->second;
    const std::string_view bytes = web::find(name);
    if (bytes.empty()) return nullptr;
    uint64_t h = 1469598103934665603ull;  // FNV-1a: a cache validator, not a security check
    for (const char c : bytes) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
    char etag[24];
    std::snprintf(etag, sizeof etag, "\"%016llx\"", static_cast<unsigned long long>(h));
    return &assets.emplace(std::string(name), Asset{bytes, etag}).first->second;
  }
  std::mutex assets_mutex;

  void send_asset(const httplib::Request& req, httplib::Response& res, std::string_view name) {
    const Asset* a = asset(name);
    if (!a) return send_error(res, make_error(ErrorKind::kNotFound, "no such file"));
    res.set_header("ETag", a->etag);
    res.set_header("Cache-Control", "no-cache");
    res.set_header("X-Content-Type-Options", "nosniff");
    if (name.ends_with(".html")) {
      // Defence in depth: the UI builds everything from text nodes; if that ever failed, no
      // inline or foreign script could run, and no page could frame it.
      res.set_header("Content-Security-Policy",
                     "default-src 'none'; script-src 'self'; style-src 'self'; "
                     "img-src 'self' data:; connect-src 'self'; base-uri 'none'; "
                     "form-action 'self'; frame-ancestors 'none'");
      res.set_header("Referrer-Policy", "no-referrer");
    }
    if (req.get_header_value("If-None-Match") == a->etag) {
      res.status = 304;
      return;
    }
    const char* type = name.ends_with(".html")  ? "text/html; charset=utf-8"
                       : name.ends_with(".css") ? "text/css; charset=utf-8"
                       : name.ends_with(".svg") ? "image/svg+xml"
                                                : "text/javascript; charset=utf-8";
    res.set_content(std::string(a->bytes), type);
  }

  // POST routes read their own body (see read_body), then get it as a Body.
  using BodyHandler = void (Impl::*)(const httplib::Request&, const Caller&, const Body&,
                                     httplib::Response&);
  void post(const char* path, BodyHandler handler, ErrorRenderer errors = error_json) {
    http.Post(path, [this, handler, errors](const httplib::Request& req, httplib::Response& res,
                                            const httplib::ContentReader& reader) {
      auto who = caller(req);
      if (!who) return send_error(res, who.error(), errors);
      auto body = read_body(req, reader, options.max_body_bytes);
      if (!body) return send_error(res, body.error(), errors);
      (this->*handler)(req, *who, *body, res);
    });
  }

  // DNS rebinding: while the server is local-only, a request must name a local host.
  // Cross-site requests: a browser page from another origin may not write or ask.
  httplib::Server::HandlerResponse check_request(const httplib::Request& req,
                                                 httplib::Response& res) {
    const std::string host_header = req.get_header_value("Host");
    const std::string host = host_of(host_header);
    if (!options.any_host && !keyed() && !is_loopback_name(host) && host != options.host) {
      send_error(res, make_error(ErrorKind::kForbidden,
                                 "this server answers only to local host names (start it with "
                                 "--open to serve others)"));
      return httplib::Server::HandlerResponse::Handled;
    }
    // CORS: pages of a configured origin, or of an origin a key names (an intranet embedding the
    // widget), may call the API; any other origin may not write or ask, and its reads are not
    // shared with it. A preflight carries no key: any active key naming the origin admits it.
    const std::string origin = req.get_header_value("Origin");
    const bool cross =
        !origin.empty() && origin != "http://" + host_header && origin != "https://" + host_header;
    if (cross && req.method == "OPTIONS") {
      if (!cors_allows(origin) && !some_key_allows(origin)) return refuse_origin(res);
      share_with(origin, res);
      res.set_header("Access-Control-Allow-Methods", "GET, POST, DELETE");
      res.set_header("Access-Control-Allow-Headers", "Authorization, Content-Type");
      res.set_header("Access-Control-Max-Age", "600");
      res.status = 204;
      return httplib::Server::HandlerResponse::Handled;
    }
    if (is_public(req)) return httplib::Server::HandlerResponse::Unhandled;
    auto who = caller(req);
    if (who && who->key) t_request.key_id = who->key->id;
    if (cross) {
      const bool allowed =
          cors_allows(origin) || (who && who->key && contains(who->key->origins, origin)) ||
          (!who && some_key_allows(origin));  // so that the page can read why it was refused
      if (allowed)
        share_with(origin, res);
      else if (req.method != "GET" && req.method != "HEAD")
        return refuse_origin(res);
    }
    if (who && who->key) {
      if (const int wait = limits.take(who->key->id, who->key->rate_per_minute)) {
        res.set_header("Retry-After", std::to_string(wait));
        send_error(res,
                   make_error(ErrorKind::kRateLimited,
                              "this key's limit of " + std::to_string(who->key->rate_per_minute) +
                                  " requests a minute is reached; retry in " +
                                  std::to_string(wait) + " s"),
                   req.path.starts_with("/v1/chat/") ? openai_error_json : error_json);
        return httplib::Server::HandlerResponse::Handled;
      }
    }
    if (!who) {
      res.set_header("WWW-Authenticate", "Bearer");
      send_error(res, who.error(),
                 req.path.starts_with("/v1/chat/") ? openai_error_json : error_json);
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  }

  static bool contains(const std::vector<std::string>& list, const std::string& s) {
    return std::find(list.begin(), list.end(), s) != list.end();
  }

  static void share_with(const std::string& origin, httplib::Response& res) {
    res.set_header("Access-Control-Allow-Origin", origin);
    res.set_header("Vary", "Origin");
    res.set_header("Access-Control-Expose-Headers", "Retry-After");
  }

  static httplib::Server::HandlerResponse refuse_origin(httplib::Response& res) {
    send_error(res, make_error(ErrorKind::kForbidden,
                               "cross-origin requests from this origin are not allowed"));
    return httplib::Server::HandlerResponse::Handled;
  }

  // What anyone may fetch without a key: the health check and the UI's files (they hold no data;
  // the page asks for a key when the API wants one).
  static bool is_public(const httplib::Request& req) {
    if (req.method != "GET" && req.method != "HEAD") return false;
    const std::string& p = req.path;
    return p == "/healthz" || p == "/" ||
           (p.find('/', 1) == std::string::npos &&
            (p.ends_with(".js") || p.ends_with(".css") || p.ends_with(".svg")));
  }

  // The request's caller: open while no key is active; otherwise the key of its
  // `Authorization: Bearer` header, or kUnauthorized.
  Result<Caller> caller(const httplib::Request& req) {
    if (!options.keys) return Caller{};
    auto any = options.keys->any_active();
    if (!any) return any.error();
    if (!*any && options.require_keys)
      return make_error(ErrorKind::kUnauthorized, "no API key is active on this server");
    if (!*any) return Caller{};
    const std::string header = req.get_header_value("Authorization");
    constexpr std::string_view kBearer = "Bearer ";
    if (header.size() <= kBearer.size() || !std::string_view(header).starts_with(kBearer))
      return make_error(ErrorKind::kUnauthorized,
                        "this server needs an API key: send \"Authorization: Bearer KEY\"");
    auto key = options.keys->verify(std::string_view(header).substr(kBearer.size()));
    if (!key) return key.error();
    if (!*key) return make_error(ErrorKind::kUnauthorized, "the API key is not valid");
    return Caller{std::move(*key)};
  }

  // Whether keys guard the server (then any Host name may reach it: DNS rebinding gains nothing
  // without a key).
  bool keyed() {
    if (!options.keys) return false;
    auto any = options.keys->any_active();
    return !any || *any || options.require_keys;
  }

  bool some_key_allows(const std::string& origin) {
    if (!options.keys) return false;
    auto keys = options.keys->list();
    if (!keys) return false;
    return std::any_of(keys->begin(), keys->end(),
                       [&](const ApiKey& k) { return !k.revoked && contains(k.origins, origin); });
  }

  bool cors_allows(const std::string& origin) const {
    return std::find(options.cors_origins.begin(), options.cors_origins.end(), origin) !=
           options.cors_origins.end();
  }

  void search(const httplib::Request&, const Caller& who, const Body& body,
              httplib::Response& res) {
    const auto t0 = std::chrono::steady_clock::now();
    auto request = parse_search_request(body.text);
    if (!request) return send_error(res, request.error());
    auto scope = scope_collection(who, request->collection);
    if (!scope) return send_error(res, scope.error());
    request->collection = std::move(*scope);
    auto hits = answerer.search(*request);
    if (!hits) return send_error(res, hits.error());
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    res.set_content(search_response_json(*hits, ms, request->explain), kJson);
  }

  // A slot among the caller's concurrent streams (a key holds at most max_streams_per_key; an
  // open server has no per-caller limit), held until the stream ends; null after sending 429.
  std::shared_ptr<void> stream_slot(const Caller& who, httplib::Response& res,
                                    ErrorRenderer errors = error_json) {
    if (!who.key) return std::shared_ptr<void>(this, [](void*) {});
    auto slot = limits.open_stream(who.key->id, options.max_streams_per_key);
    if (!slot) {
      res.set_header("Retry-After", "1");
      send_error(res,
                 make_error(ErrorKind::kRateLimited,
                            "this key already has " + std::to_string(options.max_streams_per_key) +
                                " answers streaming; wait for one to end"),
                 errors);
    }
    return slot;
  }

  // The collection and the thread owner an answer works under, for this caller.
  static Status scope_ask(const Caller& who, AskRequest& request) {
    auto scope = scope_collection(who, request.collection);
    if (!scope) return scope.error();
    request.collection = std::move(*scope);
    request.owner = owner_of(who);
    return {};
  }

  void ask(const httplib::Request&, const Caller& who, const Body& body, httplib::Response& res) {
    auto request = parse_ask_request(body.text);
    if (!request) return send_error(res, request.error());
    if (Status s = scope_ask(who, *request); !s) return send_error(res, s.error());
    std::shared_ptr<void> slot;
    if (request->stream && !(slot = stream_slot(who, res))) return;
    auto started = answerer.start(*request);  // retrieval done: early errors are plain JSON
    if (!started) {
      audit_answer(*request, nullptr, &started.error());
      return send_error(res, started.error());
    }
    std::shared_ptr<AnswerStream> events(std::move(*started));
    if (!request->stream) {
      auto response = collect(*events);
      audit_answer(*request, response ? &*response : nullptr,
                   response ? nullptr : &response.error());
      if (!response) return send_error(res, response.error());
      return res.set_content(ask_response_json(*response), kJson);
    }
    stream_events(
        res, std::move(events), [](const AnswerEvent& e) { return sse_frame(e); }, std::move(slot),
        answer_observer(*request), &cut_streams_at);
  }

  // The OpenAI-compatible front door to the same answers as ask (openai_api.h).
  void chat_completions(const httplib::Request&, const Caller& who, const Body& body,
                        httplib::Response& res) {
    auto request = parse_chat_completion_request(body.text);
    if (!request) return send_error(res, request.error(), openai_error_json);
    if (Status s = scope_ask(who, *request); !s)
      return send_error(res, s.error(), openai_error_json);
    std::shared_ptr<void> slot;
    if (request->stream && !(slot = stream_slot(who, res, openai_error_json))) return;
    auto started = answerer.start(*request);  // retrieval done: early errors are plain JSON
    if (!started) {
      audit_answer(*request, nullptr, &started.error());
      return send_error(res, started.error(), openai_error_json);
    }
    std::shared_ptr<AnswerStream> events(std::move(*started));
    const std::string id = new_completion_id();
    const int64_t created = unix_seconds();
    if (!request->stream) {
      auto response = collect(*events);
      audit_answer(*request, response ? &*response : nullptr,
                   response ? nullptr : &response.error());
      if (!response) return send_error(res, response.error(), openai_error_json);
      return res.set_content(chat_completion_json(*response, id, created), kJson);
    }
    auto chunks = std::make_shared<ChatChunkWriter>(
        id, created, request->model.empty() ? options.default_model : request->model);
    stream_events(
        res, std::move(events), [chunks](const AnswerEvent& e) { return chunks->frame(e); },
        std::move(slot), answer_observer(*request), &cut_streams_at);
  }

  void post_document(const httplib::Request& req, const Caller& who, const Body& body,
                     httplib::Response& res) {
    if (Status s = permits(who, Action::kWrite); !s) return send_error(res, s.error());
    Result<DocumentInput> input =
        req.is_multipart_form_data() ? document_from_form(body) : parse_document_request(body.text);
    if (!input) return send_error(res, input.error());
    auto scope = scope_collection(who, input->collection);
    if (!scope) return send_error(res, scope.error());
    input->collection = std::move(*scope);
    if (input->title.empty()) input->title = input->source.empty() ? "Untitled" : input->source;
    // A large document (or one asked to be) is stored in the background: 202 and a job to poll.
    const bool async =
        req.get_param_value("async") == "true" || input->text.size() > options.job_threshold_bytes;
    if (async && options.jobs) {
      const std::string collection = input->collection, source = input->source;
      auto job = options.jobs->submit(std::move(*input), owner_of(who));
      if (!job) return send_error(res, job.error());
      audit_event("document.job", {{"collection", collection}, {"source", source}, {"job", *job}});
      res.status = 202;
      res.set_header("Location", "/v1/jobs/" + *job);
      return res.set_content(R"({"job_id":")" + *job + R"(","state":"queued"})", kJson);
    }
    const auto t0 = std::chrono::steady_clock::now();
    const auto chunks = chunk_text(input->text, options.chunking);
    auto put = store.put(*input, chunks);
    if (!put) return send_error(res, put.error());
    metrics->ingest(static_cast<int64_t>(input->text.size()),
                    std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    audit_event("document.add", {{"collection", input->collection},
                                 {"id", std::to_string(put->doc_id)},
                                 {"source", input->source},
                                 {"status", put_outcome_name(put->outcome)}});
    res.status = put->outcome == PutOutcome::kAdded ? 201 : 200;
    res.set_content(put_result_json(*put), kJson);
  }

  static Result<DocumentInput> document_from_form(const Body& body) {
    auto file = body.parts.find("file");
    if (file == body.parts.end())
      return make_error(ErrorKind::kInvalidInput, "multipart upload needs a \"file\" part");
    const std::string& filename = file->second.filename;
    auto format = format_of(filename);
    if (!format) return format.error();
    const std::string stem = std::filesystem::path(filename).stem().string();
    auto prepared =
        prepare_document(file->second.content, *format, stem.empty() ? "Untitled" : stem);
    if (!prepared) return prepared.error();
    DocumentInput d;
    const std::string* title = part(body, "title");
    const std::string* source = part(body, "source");
    const std::string* collection = part(body, "collection");
    const std::string* metadata = part(body, "metadata");
    d.title = title ? *title : prepared->title;
    d.source = source ? *source : filename;
    d.text = std::move(prepared->text);
    if (collection) d.collection = *collection;
    if (metadata) {
      auto meta = normalise_metadata(*metadata);
      if (!meta) return meta.error();
      d.metadata_json = *meta;
    }
    if (Status s = check_document_input(d); !s) return s.error();
    return d;
  }

  void list_documents(const httplib::Request& req, const Caller& who, httplib::Response& res) {
    std::string collection =
        req.has_param("collection") ? req.get_param_value("collection") : kDefaultCollection;
    if (Status s = check_collection_name(collection); !s) return send_error(res, s.error());
    auto scope = scope_collection(who, collection);
    if (!scope) return send_error(res, scope.error());
    collection = std::move(*scope);
    auto limit = parse_count(req, "limit", 100, 1000);
    if (!limit) return send_error(res, limit.error());
    auto offset = parse_count(req, "offset", 0, 1u << 30);
    if (!offset) return send_error(res, offset.error());
    auto docs = store.list(collection, *limit, *offset);
    if (!docs) return send_error(res, docs.error());
    res.set_content(documents_json(*docs), kJson);
  }
};

HttpServer::HttpServer(Store& store, Answerer& answerer, ServerOptions options)
    : impl_(std::make_unique<Impl>(store, answerer, std::move(options))) {
  auto& http = impl_->http;
  const ServerOptions& o = impl_->options;
  const size_t threads = o.threads;
  http.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  http.set_payload_max_length(o.max_body_bytes);
  http.set_read_timeout(o.read_timeout_seconds, 0);
  http.set_write_timeout(o.write_timeout_seconds, 0);
  http.set_keep_alive_timeout(o.keep_alive_seconds);
  // Responses go out in several writes (headers, then body or chunks): with Nagle's algorithm
  // each later write waits for the client's delayed ACK, 40 ms or more apiece (the page's script
  // took 230 ms to arrive from 127.0.0.1, against 5 ms with this).
  http.set_tcp_nodelay(true);
  http.set_socket_options([](socket_t sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  http.set_exception_handler(
      [](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
        send_error(res, make_error(ErrorKind::kInternal, "internal error"));
      });
  http.set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (!res.body.empty()) return;  // a route already wrote its own error
    switch (res.status) {
      case 404:
        send_error(res, make_error(ErrorKind::kNotFound, "no such route"));
        break;
      case 413:
        send_error(res, make_error(ErrorKind::kTooLarge, "the request body is too large"));
        break;
      default: {
        const int status = res.status;
        send_error(res, make_error(ErrorKind::kInvalidInput, "bad request"));
        res.status = status;
      }
    }
  });
  // Every request is counted and timed; with log_requests it is also logged, as one JSON line.
  http.set_logger([this](const httplib::Request& req, const httplib::Response& res) {
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t_request.start).count();
    const std::string route = route_of(req.method, req.path);
    impl_->metrics->request(route, res.status, seconds);
    if (!impl_->options.log_requests) return;
    const std::string line = request_log_json(
        {t_request.id, req.method, req.path, route, t_request.key_id, res.status, seconds * 1000});
    std::fprintf(stderr, "%s\n", line.c_str());
  });
  http.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    t_request.start = std::chrono::steady_clock::now();
    const std::string given = req.get_header_value("X-Request-Id");
    if (sane_request_id(given)) {
      t_request.id = given;
    } else {
      auto id = random_hex(8);
      t_request.id = id ? *id : std::string();
    }
    t_request.key_id.clear();
    res.set_header("X-Request-Id", t_request.id);
    prefer_gzip(const_cast<httplib::Request&>(req));
    return impl_->check_request(req, res);
  });
  impl_->routes();
}

HttpServer::~HttpServer() = default;

Result<int> HttpServer::bind() {
  auto& http = impl_->http;
  int port = impl_->options.port;
  if (port == 0) {
    port = http.bind_to_any_port(impl_->options.host);
    if (port < 0) return make_error(ErrorKind::kIo, "cannot bind " + impl_->options.host);
  } else if (!http.bind_to_port(impl_->options.host, port)) {
    return make_error(ErrorKind::kIo, "cannot listen on " + impl_->options.host + ":" +
                                          std::to_string(port) +
                                          " (in use, or not an address of this machine)");
  }
  ::listen(http.socket(), 1024);  // httplib hard-codes a backlog of 5
  return port;
}

Status HttpServer::run() {
  if (!impl_->http.listen_after_bind())
    return make_error(ErrorKind::kIo, "the server stopped with an error");
  return {};
}

void HttpServer::stop() {
  int64_t expected = 0;
  const auto drain = std::chrono::duration_cast<std::chrono::nanoseconds>(
      std::chrono::seconds(impl_->options.drain_seconds));
  impl_->cut_streams_at.compare_exchange_strong(expected, steady_ns() + drain.count());
  impl_->http.stop();
}

}  // namespace chaja
