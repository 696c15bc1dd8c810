#include "agent/cli.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <iostream>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "agent/backup_cli.h"
#include "agent/cli_args.h"
#include "agent/config.h"
#include "agent/config_cli.h"
#include "agent/json_api.h"
#include "agent/keys_cli.h"
#include "agent/pipeline.h"
#include "agent/server.h"
#include "connectors/model_name.h"
#include "connectors/provider.h"
#include "index/ingest.h"
#include "index/simd/simd.h"
#include "index/store.h"
#include "index/utf8.h"

namespace chaja {
namespace fs = std::filesystem;

namespace {

using namespace cli;

constexpr const char* kUsage = R"(chaja: answers questions from your documents, with citations

usage: chaja COMMAND [ARGS] [OPTIONS]

commands:
  index PATH... [--collection C] [--embedder E] ingest files and folders
                 (.txt .md .html .pdf .docx); E: builtin (default) or e.g.
                 ollama:nomic-embed-text, kept by the collection
  search "QUERY" [--k N] [--collection C] [--filter KEY=VALUE]... [--json] [--explain]
  ask "QUESTION" [--collection C] [--filter KEY=VALUE]... [--model M] [--web] [--json]
                 --filter keeps documents whose metadata KEY equals VALUE (2024, true and
                 "2024" are JSON; legal is a string); a key given twice means any of its values
                 M: extractive (default), provider:model, or a fallback chain
                 such as clova:HCX-005,openai:gpt-4o-mini,extractive
                 --web also searches the web (SEARXNG_URL, BRAVE_API_KEY or TAVILY_API_KEY),
                 filtered by --domains a.com,-b.com (- denies) and --recency day|week|month|year;
                 --thread ID continues a conversation (its id is in --json's thread_id)
  serve [--host H] [--port P] [--open]         HTTP API and web UI (default 127.0.0.1:8080)
  models [--timeout-ms MS]                     model providers and whether each answers
  keys create --role reader|writer|admin [--collections A,B] [--origins O1,O2] [--rate N]
              [--name L] [--json]              an API key for serve; the secret is shown once
                 (--collections: required but for admin, * for all; --rate: requests a minute)
  keys list [--json]                           keys without secrets; keys revoke ID
  backup DIR                                   a consistent copy of the data folder, also while
                 serving, into DIR (new or empty); use it with --data DIR
  config check [--config FILE]                 validate the configuration file and show what it
                 sets and what the environment overrides (secrets only as set/from file/env)

options:
  --data DIR     where the index lives (env CHAJA_DATA; default ~/.local/share/chaja)
  --config FILE  providers, keys, limits and web settings (env CHAJA_CONFIG; see
                 docs/models.md and docs/web.md); the CONTRACT's environment variables
                 override it
  --version      print the version
)";

// Options that take a value, and flags that don't. Everything else starting with -- is an error.
const std::set<std::string> kValueOptions = {
    "--data",    "--collection", "--k",           "--model",    "--host",    "--port",
    "--threads", "--config",     "--timeout-ms",  "--embedder", "--domains", "--recency",
    "--thread",  "--role",       "--collections", "--origins",  "--rate",    "--name"};
const std::set<std::string> kFlagOptions = {"--json", "--web", "--open", "--quiet", "--explain"};
// Options that may be given more than once, each value kept in order.
const std::set<std::string> kRepeatedOptions = {"--filter"};

Result<Args> parse_args(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg.rfind("--", 0) == 0 && arg.size() > 2) {
      std::string value;
      const size_t eq = arg.find('=');
      const bool inline_value = eq != std::string::npos;
      if (inline_value) {
        value = arg.substr(eq + 1);
        arg = arg.substr(0, eq);
      }
      if (kValueOptions.count(arg) || kRepeatedOptions.count(arg)) {
        if (!inline_value) {
          if (i + 1 >= argc) return make_error(ErrorKind::kInvalidInput, arg + " needs a value");
          value = argv[++i];
        }
        if (kRepeatedOptions.count(arg))
          a.lists[arg].push_back(value);
        else
          a.values[arg] = value;
      } else if (kFlagOptions.count(arg) && !inline_value) {
        a.flags.insert(arg);
      } else if (arg == "--version" || arg == "--help") {
        a.flags.insert(arg);
      } else {
        return make_error(ErrorKind::kInvalidInput, "unknown option " + arg);
      }
    } else if (arg == "-h") {
      a.flags.insert("--help");
    } else if (a.command.empty()) {
      a.command = arg;
    } else {
      a.positional.push_back(arg);
    }
  }
  return a;
}

Result<std::unique_ptr<Store>> open_store(const Args& a) {
  return Store::open(data_dir(a));
}

// The dense side of each collection is cached beside the SQLite file.
// The configuration file, from --config or CHAJA_CONFIG; none is an empty configuration.
Result<FileConfig> config_of(const Args& a) {
  std::string path = a.value("--config", "");
  if (path.empty()) {
    const char* env = std::getenv("CHAJA_CONFIG");
    if (env != nullptr) path = env;
  }
  if (path.empty()) return FileConfig{};
  return load_config(path);
}

// The providers as configured: the file's settings under the environment's. Their embedders
// join the process-wide registry, so a collection bound to one is searched with it.
std::shared_ptr<ProviderRegistry> providers_of(const FileConfig& config) {
  auto providers = make_provider_registry(merged_env(config, from_process_env()), config.settings);
  register_provider_embedders(providers, EmbedderRegistry::global());
  return providers;
}

// The web side, from the environment's search variables and the file's "web" settings, with the
// page cache beside the index. Without a configured backend, web requests get the reason.
void attach_web(Answerer& answerer, const Args& a, const FileConfig& config) {
  auto web = make_web_retriever(merged_env(config, from_process_env()), config.web,
                                data_dir(a) / "web_cache.db");
  if (web)
    answerer.set_web(std::move(*web));
  else
    answerer.set_web_unavailable(web.error());
}

// --domains "a.com,-b.com" and --recency into the request.
Status read_web_filters(const Args& a, AskRequest& req) {
  const std::string domains = a.value("--domains", "");
  for (size_t start = 0; start <= domains.size();) {
    size_t comma = domains.find(',', start);
    if (comma == std::string::npos) comma = domains.size();
    std::string d = domains.substr(start, comma - start);
    if (d.starts_with('-'))
      req.exclude_domains.push_back(d.substr(1));
    else if (!d.empty())
      req.include_domains.push_back(d);
    start = comma + 1;
  }
  if (a.values.count("--recency")) {
    auto recency = parse_recency(a.value("--recency"));
    if (!recency) return recency.error();
    req.recency = *recency;
  }
  return {};
}

// The agent's view of the providers: a model name in, a chat model out.
ChatModelFactory model_factory(std::shared_ptr<ProviderRegistry> providers) {
  return [providers](const ModelName& name) { return providers->chat_model(name); };
}

// A server keeps postings in memory (built once, caught up after writes); a one-shot command
// would rebuild them for a single query, so it asks FTS5 instead.
RetrieverOptions retriever_options(const Args& a, bool serving, const FileConfig& config) {
  RetrieverOptions o;
  o.cache_dir = data_dir(a) / "vectors";
  o.lexical_in_memory = serving;
  o.embedder = a.value("--embedder", config.embedder);  // "": the collection's own
  return o;
}

Result<size_t> parse_size(const std::string& text, const char* what, size_t lo, size_t hi) {
  try {
    size_t used = 0;
    const long long v = std::stoll(text, &used);
    if (used == text.size() && v >= static_cast<long long>(lo) && v <= static_cast<long long>(hi))
      return static_cast<size_t>(v);
  } catch (...) {
  }
  return make_error(ErrorKind::kInvalidInput, std::string(what) + " must be a number from " +
                                                  std::to_string(lo) + " to " + std::to_string(hi));
}

std::string collection_of(const Args& a) {
  return a.value("--collection", kDefaultCollection);
}

// --- index --------------------------------------------------------------------------------------

int cmd_index(const Args& a) {
  if (a.positional.empty()) return usage_error("index needs at least one file or folder");
  const std::string collection = collection_of(a);
  if (Status s = check_collection_name(collection); !s) return fail(s.error());
  auto store = open_store(a);
  if (!store) return fail(store.error());
  if (a.values.count("--embedder")) {
    // The collection's dense side will be built with this embedder: bound now, checked first.
    auto config = config_of(a);
    if (!config) return fail(config.error());
    providers_of(*config);
    const std::string name = a.value("--embedder");
    size_t dimension = 384;  // the builtin embedder's
    if (name != "builtin") {
      auto embedder = EmbedderRegistry::global().create(name);
      if (!embedder) return fail(embedder.error());
      // One probe call: it learns the dimension and shows at once whether the provider answers.
      auto probe = (*embedder)->embed({"dimension probe"}, EmbedKind::kQuery);
      if (!probe) return fail(probe.error());
      dimension = probe->size();
      if (dimension == 0)
        return fail(make_error(ErrorKind::kUpstream, name + " returned an empty vector"));
    }
    // Bound before anything is stored: a conflict stops the run, and a server searching the
    // new collection meanwhile already builds with this embedder.
    if (Status s = (*store)->bind_embedder(collection, name, dimension); !s) return fail(s.error());
  }
  std::vector<fs::path> paths(a.positional.begin(), a.positional.end());
  IngestOptions options;
  options.collection = collection;
  const bool tty = isatty(STDERR_FILENO) && !a.flag("--quiet");
  auto report = [&](const FileReport& r, size_t done, size_t total) {
    if (tty) std::fprintf(stderr, "\r\033[K");
    if (r.kind == FileReport::Kind::kSkipped) {
      std::fprintf(stderr, "warning: skipped %s: %s\n", r.path.c_str(), r.message.c_str());
    } else if (r.kind == FileReport::Kind::kFailed) {
      std::fprintf(stderr, "warning: could not index %s: %s\n", r.path.c_str(), r.message.c_str());
    } else if (!r.message.empty()) {
      std::fprintf(stderr, "warning: %s: %s\n", r.path.c_str(), r.message.c_str());
    }
    if (tty) {
      std::fprintf(stderr, "[%zu/%zu] %3zu%% %s", done, total, total ? done * 100 / total : 100,
                   r.path.filename().c_str());
      std::fflush(stderr);
    }
  };
  auto stats = ingest_paths(**store, paths, options, report);
  if (tty) std::fprintf(stderr, "\r\033[K");
  if (!stats) return fail(stats.error());
  const IngestStats& s = *stats;
  const double mb = static_cast<double>(s.bytes) / 1e6;
  const double secs = s.seconds > 0 ? s.seconds : 1e-9;
  std::printf(
      "indexed %zu documents (%zu added, %zu replaced, %zu unchanged, %zu duplicate), %zu skipped, "
      "%zu failed: "
      "%zu chunks, %llu bytes in %.3f s (%.2f MB/s)\n",
      s.added + s.replaced + s.unchanged + s.duplicates, s.added, s.replaced, s.unchanged,
      s.duplicates, s.skipped, s.failed, s.chunks, static_cast<unsigned long long>(s.bytes),
      s.seconds, mb / secs);
  const bool nothing_stored = s.added + s.replaced + s.unchanged + s.duplicates == 0;
  return (s.failed > 0 && nothing_stored) ? kExitError : kExitOk;
}

// --- search -------------------------------------------------------------------------------------

// --filter KEY=VALUE, repeated.
Status read_filter(const Args& a, MetadataFilter& filter) {
  auto it = a.lists.find("--filter");
  if (it == a.lists.end()) return {};
  for (const std::string& f : it->second)
    if (Status s = add_filter_argument(filter, f); !s) return s;
  return {};
}

int cmd_search(const Args& a) {
  if (a.positional.size() != 1) return usage_error("search takes one quoted query");
  SearchRequest req;
  req.query = a.positional[0];
  req.collection = collection_of(a);
  if (a.values.count("--k")) {
    auto k = parse_size(a.value("--k"), "--k", 1, kMaxK);
    if (!k) return fail(k.error());
    req.k = *k;
  }
  req.explain = a.flag("--explain");
  if (Status s = check_collection_name(req.collection); !s) return fail(s.error());
  if (Status s = read_filter(a, req.filter); !s) return usage_error(s.error().message);
  auto store = open_store(a);
  if (!store) return fail(store.error());
  auto config = config_of(a);
  if (!config) return fail(config.error());
  providers_of(*config);
  Retriever retriever(**store, retriever_options(a, false, *config));
  Answerer answerer(retriever);
  const auto t0 = std::chrono::steady_clock::now();
  auto hits = answerer.search(req);
  if (!hits) return fail(hits.error());
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  if (a.flag("--json")) {
    std::printf("%s\n", search_response_json(*hits, ms, req.explain).c_str());
    return kExitOk;
  }
  if (hits->empty()) std::printf("no results\n");
  for (size_t i = 0; i < hits->size(); ++i) {
    const RetrievedHit& r = (*hits)[i];
    const SearchHit& h = r.hit;
    std::string snippet = h.text.substr(0, utf8::floor_boundary(h.text, 240));
    for (char& c : snippet)
      if (c == '\n') c = ' ';
    std::printf("%zu. %s  (doc %lld, score %.3f)\n   %s\n   %s%s\n", i + 1, h.title.c_str(),
                static_cast<long long>(h.doc_id), h.score, h.source.c_str(), snippet.c_str(),
                snippet.size() < h.text.size() ? "…" : "");
    if (req.explain) {
      const std::string bm25 = r.bm25_rank ? "#" + std::to_string(r.bm25_rank) + " (" +
                                                 std::to_string(r.bm25_score).substr(0, 6) + ")"
                                           : "-";
      const std::string dense = r.dense_rank ? "#" + std::to_string(r.dense_rank) + " (" +
                                                   std::to_string(r.dense_score).substr(0, 6) + ")"
                                             : "-";
      std::printf("   explain: bm25 %s, dense %s, fused %.5f\n", bm25.c_str(), dense.c_str(),
                  h.score);
    }
  }
  return kExitOk;
}

// --- ask ----------------------------------------------------------------------------------------

int cmd_ask(const Args& a) {
  if (a.positional.size() != 1) return usage_error("ask takes one quoted question");
  AskRequest req;
  req.query = a.positional[0];
  req.collection = collection_of(a);
  auto config = config_of(a);
  if (!config) return fail(config.error());
  req.model =
      a.value("--model", config->default_model.empty() ? "extractive" : config->default_model);
  req.web = a.flag("--web");
  if (Status s = check_collection_name(req.collection); !s) return fail(s.error());
  if (Status s = read_web_filters(a, req); !s) return usage_error(s.error().message);
  if (Status s = read_filter(a, req.filter); !s) return usage_error(s.error().message);
  auto store = open_store(a);
  if (!store) return fail(store.error());
  Retriever retriever(**store, retriever_options(a, false, *config));
  Answerer answerer(retriever, model_factory(providers_of(*config)));
  if (req.web) attach_web(answerer, a, *config);
  if (a.values.count("--thread")) req.thread_id = a.value("--thread");
  auto threads = ThreadStore::open(data_dir(a) / "threads.db");
  if (!threads) return fail(threads.error());
  answerer.set_threads(threads->get());
  auto stream = answerer.start(req);
  if (!stream) return fail(stream.error());
  const bool json = a.flag("--json");
  bool printed = false;  // answer text on stdout already
  while (auto e = (*stream)->next()) {
    if (auto* delta = std::get_if<DeltaEvent>(&*e); delta && !json) {
      printed = true;
      std::fputs(delta->text.c_str(), stdout);
      std::fflush(stdout);
    } else if (auto* err = std::get_if<ErrorEvent>(&*e)) {
      if (!json && printed) std::fputc('\n', stdout);
      return fail(err->error);
    } else if (auto* done = std::get_if<DoneEvent>(&*e)) {
      const AskResponse& r = done->response;
      if (json) {
        std::printf("%s\n", ask_response_json(r).c_str());
        return kExitOk;
      }
      std::printf("\n");
      if (!r.citations.empty()) std::printf("\nSources:\n");
      for (const Citation& c : r.citations)
        std::printf("[%d] %s — %s%s\n", c.n, c.title.c_str(), c.source.c_str(),
                    c.kind == SourceKind::kWeb ? " (web)" : "");
      if (!r.related_questions.empty()) std::printf("\nRelated:\n");
      for (const std::string& q : r.related_questions) std::printf("- %s\n", q.c_str());
      for (const std::string& w : r.warnings) std::fprintf(stderr, "warning: %s\n", w.c_str());
    }
  }
  return kExitOk;
}

// --- serve --------------------------------------------------------------------------------------

int g_stop_pipe[2] = {-1, -1};

// Async-signal-safe: one write to a pipe.
void on_stop_signal(int) {
  const char byte = 1;
  [[maybe_unused]] const ssize_t n = ::write(g_stop_pipe[1], &byte, 1);
}

// True when every address the host name resolves to is a loopback address. A name is resolved
// (not matched as text): "127.evil.example" may point anywhere.
bool is_loopback(const std::string& host) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (getaddrinfo(host.c_str(), nullptr, &hints, &found) != 0 || found == nullptr) return false;
  bool all = true;
  for (addrinfo* a = found; a; a = a->ai_next) {
    if (a->ai_family == AF_INET) {
      const auto* in = reinterpret_cast<const sockaddr_in*>(a->ai_addr);
      all = all && (ntohl(in->sin_addr.s_addr) >> 24) == 127;
    } else if (a->ai_family == AF_INET6) {
      const auto* in6 = reinterpret_cast<const sockaddr_in6*>(a->ai_addr);
      all = all && IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr);
    } else {
      all = false;
    }
  }
  freeaddrinfo(found);
  return all;
}

int cmd_serve(const Args& a) {
  if (!a.positional.empty()) return usage_error("serve takes no arguments");
  auto config = config_of(a);
  if (!config) return fail(config.error());
  ServerOptions options;
  options.host = a.value("--host", "127.0.0.1");
  if (a.values.count("--port")) {
    auto port = parse_size(a.value("--port"), "--port", 0, 65535);
    if (!port) return fail(port.error());
    options.port = static_cast<int>(*port);
  }
  if (a.values.count("--threads")) {
    auto threads = parse_size(a.value("--threads"), "--threads", 2, 1024);
    if (!threads) return fail(threads.error());
    options.threads = *threads;
  }
  options.any_host = a.flag("--open");
  auto keys = KeyStore::open(data_dir(a) / "keys.db");
  if (!keys) return fail(keys.error());
  options.keys = keys->get();
  if (!is_loopback(options.host) && !a.flag("--open")) {
    auto keyed = (*keys)->any_active();
    if (!keyed) return fail(keyed.error());
    if (!*keyed)
      return usage_error("refusing to serve on " + options.host +
                         " without API keys: anyone who can reach it could read the index; "
                         "create one with `chaja keys create`, or add --open to do it anyway");
    options.require_keys = true;  // revoking every key must not open it
  }
  // The file's limits, then the command line's --threads, then CHAJA_DRAIN_SECONDS.
  const ServerLimits& limits = config->limits;
  if (limits.max_body_bytes) options.max_body_bytes = static_cast<size_t>(limits.max_body_bytes);
  if (limits.job_threshold_bytes)
    options.job_threshold_bytes = static_cast<size_t>(limits.job_threshold_bytes);
  if (limits.max_streams_per_key)
    options.max_streams_per_key = static_cast<int>(limits.max_streams_per_key);
  if (limits.threads && !a.values.count("--threads"))
    options.threads = static_cast<size_t>(limits.threads);
  if (limits.read_timeout_s) options.read_timeout_seconds = static_cast<int>(limits.read_timeout_s);
  if (limits.write_timeout_s)
    options.write_timeout_seconds = static_cast<int>(limits.write_timeout_s);
  if (limits.drain_seconds) options.drain_seconds = static_cast<int>(limits.drain_seconds);
  if (const char* env = std::getenv("CHAJA_DRAIN_SECONDS"); env && *env) {
    auto drain = parse_size(env, "CHAJA_DRAIN_SECONDS", 0, 3600);
    if (!drain) return fail(drain.error());
    options.drain_seconds = static_cast<int>(*drain);
  }
  options.cors_origins = config->cors_origins;
  if (const char* env = std::getenv("CHAJA_CORS_ORIGINS"); env && *env) {
    auto origins = parse_origins(env);
    if (!origins)
      return fail(
          make_error(ErrorKind::kInvalidInput, "CHAJA_CORS_ORIGINS: " + origins.error().message));
    options.cors_origins = std::move(*origins);
  }
  auto store = open_store(a);
  if (!store) return fail(store.error());
  Retriever retriever(**store, retriever_options(a, true, *config));
  options.default_model = config->default_model.empty() ? "extractive" : config->default_model;
  options.metrics = std::make_shared<Metrics>();
  Answerer answerer(retriever, metered(model_factory(providers_of(*config)), options.metrics),
                    options.default_model);
  attach_web(answerer, a, *config);
  auto audit = AuditLog::open(data_dir(a) / "audit.log");
  if (!audit) return fail(audit.error());
  options.audit = audit->get();
  auto jobs = IngestJobs::open(data_dir(a) / "jobs", **store, options.chunking);
  if (!jobs) return fail(jobs.error());
  options.jobs = jobs->get();
  auto threads = ThreadStore::open(data_dir(a) / "threads.db");
  if (!threads) return fail(threads.error());
  answerer.set_threads(threads->get());
  options.thread_store = threads->get();
  HttpServer server(**store, answerer, options);

  // SIGINT/SIGTERM stop the server cleanly. Libraries start threads of their own before main
  // (OpenBLAS's pool), so a signal may land on any thread: the handler only writes a byte to a
  // pipe, and a waiter thread turns that into server.stop().
  if (::pipe(g_stop_pipe) != 0) return fail(make_error(ErrorKind::kIo, "cannot create a pipe"));
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);

  auto port = server.bind();
  if (!port) return fail(port.error());
  // httplib's stop() is a no-op until run() is listening, so a signal that arrives in between
  // would be lost: the waiter keeps stopping until run() has returned.
  std::atomic<bool> finished{false};
  std::thread waiter([&] {
    char byte = 0;
    while (::read(g_stop_pipe[0], &byte, 1) < 0 && errno == EINTR) {
    }
    while (!finished) {
      server.stop();
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  });
  const std::string shown_host =
      options.host.find(':') != std::string::npos ? "[" + options.host + "]" : options.host;
  std::printf("Chaja is serving http://%s:%d/  (data: %s)\n", shown_host.c_str(), *port,
              data_dir(a).c_str());
  std::fflush(stdout);
  Status s = server.run();
  finished = true;
  on_stop_signal(0);  // wakes the waiter if no signal came
  waiter.join();
  if (!s) return fail(s.error());
  return kExitOk;
}

// --- models -------------------------------------------------------------------------------------

// Every provider, and whether it answers: the configured ones are asked for their model list,
// all at once, each bounded by the timeout, so the command takes about one timeout at worst.
int cmd_models(const Args& a) {
  auto timeout = parse_size(a.value("--timeout-ms", "3000"), "--timeout-ms", 100, 60000);
  if (!timeout) return fail(timeout.error());
  auto config = config_of(a);
  if (!config) return fail(config.error());
  auto providers = providers_of(*config);
  struct Row {
    const ProviderInfo* info;
    std::future<std::string> state;
  };
  std::vector<Row> rows;
  for (const ProviderInfo& p : known_providers()) {
    Row row{&p, {}};
    if (p.built_in) {
      std::promise<std::string> ready;
      ready.set_value("ready (built in, no LLM)");
      row.state = ready.get_future();
    } else {
      row.state = std::async(std::launch::async, [&providers, &p, ms = *timeout]() -> std::string {
        auto provider = providers->provider(p.name);
        if (!provider) return provider.error().message;
        const auto t0 = std::chrono::steady_clock::now();
        auto models = (*provider)->list_models(std::chrono::milliseconds(ms));
        if (!models && models.error().kind == ErrorKind::kUnsupported)
          return "configured, not checked (" + models.error().message + ")";
        const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
                              std::chrono::steady_clock::now() - t0)
                              .count();
        if (!models)
          return "not answering (" + std::to_string(took) + " ms): " + models.error().message;
        std::string names;
        for (size_t i = 0; i < models->size() && i < 5; ++i)
          names += (i ? ", " : "") + (*models)[i];
        if (models->size() > 5) names += ", ...";
        return "answers (" + std::to_string(took) + " ms), " + std::to_string(models->size()) +
               " models" + (names.empty() ? "" : ": " + names);
      });
    }
    rows.push_back(std::move(row));
  }
  for (Row& row : rows)
    std::printf("%-14s %-30s %s\n", row.info->name.c_str(), row.info->example.c_str(),
                row.state.get().c_str());
  return kExitOk;
}

}  // namespace

int run_cli(int argc, char** argv) {
  auto args = parse_args(argc, argv);
  if (!args) return usage_error(args.error().message);
  const Args& a = *args;
  if (a.flag("--version")) {
    std::printf("chaja %s (simd: %s)\n", CHAJA_VERSION, simd::level_name(simd::active_level()));
    return kExitOk;
  }
  if (a.flag("--help") || a.command == "help") {
    std::fputs(kUsage, stdout);
    return kExitOk;
  }
  if (a.command.empty()) {
    std::fputs(kUsage, stderr);
    return kExitUsage;
  }
  try {
    if (a.command == "index") return cmd_index(a);
    if (a.command == "search") return cmd_search(a);
    if (a.command == "ask") return cmd_ask(a);
    if (a.command == "serve") return cmd_serve(a);
    if (a.command == "models") return cmd_models(a);
    if (a.command == "keys") return cmd_keys(a);
    if (a.command == "backup") return cmd_backup(a);
    if (a.command == "config") return cmd_config(a);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "chaja: internal error: %s\n", e.what());
    return kExitError;
  }
  return usage_error("unknown command '" + a.command + "'");
}

}  // namespace chaja
