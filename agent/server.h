// `chaja serve`: the HTTP API (CONTRACT §3) over cpp-httplib. Routes are thin: parse into domain
// structs (json_api), call the Answerer or the Store, map errors through one status table.
// The only agent module that includes httplib.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "agent/audit.h"
#include "agent/jobs.h"
#include "agent/metrics.h"
#include "agent/pipeline.h"
#include "index/ingest.h"
#include "index/key_store.h"
#include "index/store.h"
#include "index/thread_store.h"

namespace chaja {

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 8080;                    // 0: any free port
  size_t threads = 32;                // each open keep-alive or SSE connection holds one
  size_t max_body_bytes = 16u << 20;  // larger bodies get 413
  int read_timeout_seconds = 15;      // a slow client cannot hold a thread for longer
  int write_timeout_seconds = 10;
  int keep_alive_seconds = 5;
  int drain_seconds = 20;    // after stop(), how long streams may still run (CHAJA_DRAIN_SECONDS)
  bool any_host = false;     // --open: answer to any Host name, not only local ones
  bool log_requests = true;  // one line per request on stderr (no bodies, no headers)
  // The Answerer's default model, as GET /v1/models and streamed chat completions name it.
  std::string default_model = "extractive";
  ChunkOptions chunking;
  // Where conversations are kept (GET/DELETE /v1/threads/{id}); null: those routes answer 503.
  ThreadStore* thread_store = nullptr;
  // Browser origins ("https://intranet.example.com") whose pages may call the API (CORS), besides
  // each key's own origins.
  std::vector<std::string> cors_origins;
  // API keys (agent/access.h); null, or no active key: the server is open.
  KeyStore* keys = nullptr;
  // Refuse every request while no key is active (a server reachable beyond loopback without
  // --open: revoking the last key must not open it).
  bool require_keys = false;
  // Answers a key may stream at once; more get 429 with Retry-After.
  int max_streams_per_key = 8;
  // GET /metrics; null: the server keeps its own. Share it with metered() to count model calls.
  std::shared_ptr<Metrics> metrics;
  // Who asked what and which sources came back, document and thread changes; null: none kept.
  AuditLog* audit = nullptr;
  // Background ingest (POST /v1/documents answers 202 for a document over job_threshold_bytes
  // of text, or with ?async=true; GET /v1/jobs/{id}); null: every upload is stored at once.
  IngestJobs* jobs = nullptr;
  size_t job_threshold_bytes = 1u << 20;
};

// HTTP status for an error kind: the one table the API uses.
int http_status(ErrorKind kind);

class HttpServer {
 public:
  HttpServer(Store& store, Answerer& answerer, ServerOptions options);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds the port (with a listen backlog of 1024); returns the bound port.
  Result<int> bind();
  // Serves until stop(); call after bind().
  Status run();
  // Thread-safe. Stops accepting connections; answers streaming now may finish within
  // drain_seconds, after which they end with an error event. run() returns once every request
  // in flight has ended.
  void stop();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace chaja
