// bench_load: the real `chaja serve` under load, with wrk (Debian's /usr/bin/wrk): throughput and
// latency of POST /v1/search and POST /v1/ask (the extractive model, plain JSON) at 1, 16 and 64
// connections, against GET /healthz at the same connections measured in the same run (the HTTP
// stack's own floor: routing, logging, metrics, keep-alive, and wrk itself).
//
//   bench_load [--chaja PATH] [--duration S] [--connections 1,16,64] [--chunks N] [--full]
//              [--wrk PATH] [--json]
//
// The server runs on a fresh data folder holding docs/sample and a synthetic set of about
// --chunks chunks (3,000; --full: 100,000), made of the sample documents' and the test corpus's
// real Korean and English sentences shuffled into new documents, so that the questions' words
// have long posting lists and the dense scan covers every chunk. Indexed with `chaja index`
// beforehand. The server is open (no keys: no rate limit) with a thread pool larger than the
// most connections (server.threads), so every connection is served at once.
//
// wrk runs with 2 threads (1 for one connection) and bench/wrk/chaja.lua, which POSTs the 48
// questions of tests/fixtures/queries_ko_en.tsv in rotation and prints its results as JSON.
// wrk and the server share the machine's cores: on 2 cores, the figures are the pair's.
// Every response that is not 2xx is counted and shown, by status, and so are socket errors
// and timeouts (--timeout 10 s).
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "bench/bench_util.h"
#include "bench/chaja_serve.h"

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using namespace chaja::bench;

struct Args {
  std::string chaja;
  std::string wrk = "/usr/bin/wrk";
  std::string script = CHAJA_SOURCE_DIR "/bench/wrk/chaja.lua";
  int duration_s = 5;
  std::vector<int> connections = {1, 16, 64};
  size_t chunks = 3000;
  bool json = false;
};

[[noreturn]] void usage() {
  std::fprintf(stderr,
               "usage: bench_load [--chaja PATH] [--duration S] [--connections 1,16,64] "
               "[--chunks N] [--full] [--wrk PATH] [--json]\n");
  std::exit(2);
}

int positive(const std::string& s, int limit) {
  const auto v = chaja::bench::int_in(s, 1, limit);
  if (!v) usage();
  return *v;
}

Args parse_args(int argc, char** argv) {
  Args a;
  a.chaja = default_chaja(argv[0]);
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    if (k == "--json") {
      a.json = true;
    } else if (k == "--full") {
      a.chunks = 100'000;
      a.duration_s = std::max(a.duration_s, 10);
    } else if (i + 1 >= argc) {
      usage();
    } else if (k == "--chaja") {
      a.chaja = argv[++i];
    } else if (k == "--wrk") {
      a.wrk = argv[++i];
    } else if (k == "--duration") {
      a.duration_s = positive(argv[++i], 3600);
    } else if (k == "--chunks") {
      a.chunks = static_cast<size_t>(positive(argv[++i], 10'000'000));
    } else if (k == "--connections") {
      a.connections.clear();
      std::stringstream list(argv[++i]);
      for (std::string item; std::getline(list, item, ',');)
        a.connections.push_back(positive(item, 1000));
      if (a.connections.empty()) usage();
    } else {
      usage();
    }
  }
  return a;
}

// Sentences of a text: split after . ? ! and at line ends; headings and short bits dropped.
std::vector<std::string> sentences_of(const std::string& text) {
  std::vector<std::string> out;
  std::string cur;
  auto flush = [&] {
    while (!cur.empty() && (cur.front() == ' ' || cur.front() == '#' || cur.front() == '-'))
      cur.erase(cur.begin());
    if (cur.size() >= 24 && cur.find('<') == std::string::npos) out.push_back(cur);
    cur.clear();
  };
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\n' || c == '\r') {
      flush();
      continue;
    }
    cur += c;
    if ((c == '.' || c == '?' || c == '!') && (i + 1 == text.size() || text[i + 1] == ' ')) flush();
  }
  flush();
  return out;
}

// Writes synthetic documents of about 18 KB each, which the chunker (~600 characters, 150 of
// overlap) cuts into about 29 chunks (measured), until about `chunks` chunks; returns the number
// of documents.
size_t write_corpus(const fs::path& dir, size_t chunks) {
  std::vector<std::string> pool;
  const fs::path root(CHAJA_SOURCE_DIR);
  for (const fs::path& d : {root / "docs/sample", root / "tests/fixtures/corpus_ko_en"})
    for (const auto& e : fs::directory_iterator(d))
      if (e.path().extension() == ".md" || e.path().extension() == ".txt")
        for (std::string& s : sentences_of(slurp(e.path()))) pool.push_back(std::move(s));
  if (pool.empty()) {
    std::fprintf(stderr, "bench_load: no sentences under %s\n", root.c_str());
    std::exit(1);
  }
  fs::create_directories(dir);
  Rng rng{7};
  constexpr size_t kDocBytes = 18'000;
  constexpr size_t kChunksPerDoc = 29;
  const size_t docs = std::max<size_t>(1, (chunks + kChunksPerDoc - 1) / kChunksPerDoc);
  for (size_t d = 0; d < docs; ++d) {
    std::string text = "# Synthetic document " + std::to_string(d) + "\n\n";
    while (text.size() < kDocBytes) {
      for (int s = 0; s < 4; ++s) text += pool[rng.next() % pool.size()] + " ";
      text += "(ref " + std::to_string(rng.next() % 100000) + ")\n\n";
    }
    std::ofstream(dir / ("doc-" + std::to_string(d) + ".md"), std::ios::binary) << text;
  }
  return docs;
}

std::vector<std::string> questions() {
  std::ifstream in(CHAJA_SOURCE_DIR "/tests/fixtures/queries_ko_en.tsv");
  std::vector<std::string> q;
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line))
    if (const size_t tab = line.find('\t'); tab != std::string::npos && tab > 0)
      q.push_back(line.substr(0, tab));
  return q;
}

struct Cell {
  std::string endpoint;
  int connections = 0;
  double rps = 0, p50 = 0, p90 = 0, p99 = 0;
  long long requests = 0, non2xx = 0, socket_errors = 0;
  std::string statuses;  // "429:12 503:3", "" when every response was 2xx
  double ratio = 0;      // req/s over /healthz's at the same connections
};

// Runs wrk and reads the line its script prints; exits on a wrk failure.
json run_wrk(const Args& a, const std::string& url, const std::string& bodies, int connections,
             int seconds, const fs::path& out) {
  std::vector<std::string> args = {a.wrk,
                                   "-t" + std::to_string(std::min(2, connections)),
                                   "-c" + std::to_string(connections),
                                   "-d" + std::to_string(seconds) + "s",
                                   "--timeout",
                                   "10s",
                                   "--latency",
                                   "-s",
                                   a.script,
                                   url};
  if (!bodies.empty()) {
    args.push_back("--");
    args.push_back(bodies);
  }
  const int code = run_to_end(args, {"PATH=/usr/bin:/bin"}, out);
  const std::string text = slurp(out);
  const size_t at = text.find("CHAJA_WRK ");
  if (code != 0 || at == std::string::npos) {
    std::fprintf(stderr, "bench_load: wrk failed (exit %d):\n%s\n", code, tail(text).c_str());
    std::exit(1);
  }
  const size_t end = text.find('\n', at);
  json j = json::parse(text.substr(at + 10, end - at - 10), nullptr, false);
  if (!j.is_object()) {
    std::fprintf(stderr, "bench_load: unreadable wrk output:\n%s\n", tail(text).c_str());
    std::exit(1);
  }
  return j;
}

Cell cell_of(const std::string& endpoint, int connections, const json& j) {
  Cell c;
  c.endpoint = endpoint;
  c.connections = connections;
  c.requests = j.at("requests").get<long long>();
  c.rps = static_cast<double>(c.requests) / std::max(1e-9, j.at("duration_us").get<double>() / 1e6);
  c.p50 = j.at("latency_ms").at("p50").get<double>();
  c.p90 = j.at("latency_ms").at("p90").get<double>();
  c.p99 = j.at("latency_ms").at("p99").get<double>();
  const json& e = j.at("errors");
  c.socket_errors = e.at("connect").get<long long>() + e.at("read").get<long long>() +
                    e.at("write").get<long long>() + e.at("timeout").get<long long>();
  std::map<int, long long> by_status;
  for (const auto& [status, n] : j.at("non2xx").items()) by_status[std::stoi(status)] = n;
  for (const auto& [status, n] : by_status) {
    c.non2xx += n;
    c.statuses +=
        (c.statuses.empty() ? "" : " ") + std::to_string(status) + ":" + std::to_string(n);
  }
  return c;
}

// One request through httplib, to check the route works before loading it (and to warm it).
void check_route(int port, const std::string& path, const std::string& body) {
  httplib::Client c("127.0.0.1", port);
  c.set_read_timeout(300, 0);
  auto r = c.Post(path, body, "application/json");
  if (!r || r->status != 200) {
    std::fprintf(stderr, "bench_load: POST %s answered %s: %s\n", path.c_str(),
                 r ? std::to_string(r->status).c_str() : "nothing",
                 r ? tail(r->body, 500).c_str() : "");
    std::exit(1);
  }
}

}  // namespace

int main(int argc, char** argv) {
  const Args args = parse_args(argc, argv);
  if (!fs::exists(args.chaja) || !fs::exists(args.wrk) || !fs::exists(args.script)) {
    std::fprintf(stderr, "bench_load: need %s, %s and %s (--chaja, --wrk)\n", args.chaja.c_str(),
                 args.wrk.c_str(), args.script.c_str());
    return 1;
  }
  TempDir tmp;
  const fs::path data = tmp.path() / "data", corpus = tmp.path() / "synthetic";
  const size_t docs = write_corpus(corpus, args.chunks);
  const fs::path index_log = tmp.path() / "index.log";
  const auto t0 = std::chrono::steady_clock::now();
  if (run_to_end({args.chaja, "index", CHAJA_SOURCE_DIR "/docs/sample", corpus.string(), "--data",
                  data.string()},
                 {"PATH=/usr/bin:/bin"}, index_log) != 0) {
    std::fprintf(stderr, "bench_load: chaja index failed:\n%s\n", tail(slurp(index_log)).c_str());
    return 1;
  }
  const double index_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  // Open (no keys, so no rate limit), one pool thread per connection and room to spare.
  const int most = *std::max_element(args.connections.begin(), args.connections.end());
  const fs::path config = tmp.path() / "chaja.json";
  std::ofstream(config) << json{{"server", {{"threads", std::min(1024, most + 32)}}}}.dump();
  ChajaServer server;
  if (auto err = server.start(args.chaja, data, {"--config", config.string()}, {},
                              tmp.path() / "serve.log")) {
    std::fprintf(stderr, "bench_load: %s\n", err->c_str());
    return 1;
  }
  long long chunks = 0;
  {
    httplib::Client c("127.0.0.1", server.port());
    if (auto r = c.Get("/v1/collections"); r && r->status == 200)
      for (const json& col : json::parse(r->body, nullptr, false).value("collections", json()))
        chunks += col.value("chunks", 0LL);
  }

  const auto qs = questions();
  const fs::path search_bodies = tmp.path() / "search.jsonl", ask_bodies = tmp.path() / "ask.jsonl";
  {
    std::ofstream s(search_bodies), a(ask_bodies);
    for (const std::string& q : qs) {
      s << json{{"query", q}, {"k", 8}}.dump() << "\n";
      a << json{{"query", q}, {"model", "extractive"}, {"stream", false}}.dump() << "\n";
    }
  }
  check_route(server.port(), "/v1/search", json{{"query", qs.front()}, {"k", 8}}.dump());
  check_route(server.port(), "/v1/ask",
              json{{"query", qs.front()}, {"model", "extractive"}}.dump());

  if (!args.json)
    std::printf(
        "bench_load: chaja serve, %lld chunks (docs/sample + %zu synthetic documents, indexed in "
        "%.1f s), %zu questions (ko+en), wrk %d s per cell, %u cores shared by wrk and the "
        "server\n",
        chunks, docs, index_s, qs.size(), args.duration_s, std::thread::hardware_concurrency());
  const std::string base = server.base_url();
  struct Endpoint {
    const char* name;
    std::string path, bodies;
  };
  const std::vector<Endpoint> endpoints = {{"GET /healthz (baseline)", "/healthz", ""},
                                           {"POST /v1/search", "/v1/search", search_bodies},
                                           {"POST /v1/ask extractive", "/v1/ask", ask_bodies}};
  // A short warm-up at the middle connection count: first-use costs stay out of the first cell.
  for (const Endpoint& e : endpoints)
    run_wrk(args, base + e.path, e.bodies, 4, 1, tmp.path() / "wrk.out");

  if (!args.json)
    std::printf("%-26s %5s %10s %9s %9s %9s %8s %8s %s\n", "endpoint", "conns", "req/s", "p50 ms",
                "p90 ms", "p99 ms", "sockerr", "x health", "non-2xx");
  std::vector<Cell> cells;
  for (const int c : args.connections) {
    double health_rps = 0;
    for (const Endpoint& e : endpoints) {
      Cell cell = cell_of(
          e.name, c,
          run_wrk(args, base + e.path, e.bodies, c, args.duration_s, tmp.path() / "wrk.out"));
      if (e.bodies.empty()) health_rps = cell.rps;
      cell.ratio = health_rps > 0 ? cell.rps / health_rps : 0;
      if (args.json) {
        std::printf("%s\n", json{{"bench", "load"},
                                 {"endpoint", cell.endpoint},
                                 {"connections", c},
                                 {"chunks", chunks},
                                 {"duration_s", args.duration_s},
                                 {"requests", cell.requests},
                                 {"rps", cell.rps},
                                 {"p50_ms", cell.p50},
                                 {"p90_ms", cell.p90},
                                 {"p99_ms", cell.p99},
                                 {"non2xx", cell.non2xx},
                                 {"statuses", cell.statuses},
                                 {"socket_errors", cell.socket_errors},
                                 {"ratio_to_healthz", cell.ratio}}
                                .dump()
                                .c_str());
      } else {
        std::printf("%-26s %5d %10.0f %9.2f %9.2f %9.2f %8lld %8.3f %lld%s%s%s\n",
                    cell.endpoint.c_str(), c, cell.rps, cell.p50, cell.p90, cell.p99,
                    cell.socket_errors, cell.ratio, cell.non2xx, cell.statuses.empty() ? "" : " (",
                    cell.statuses.c_str(), cell.statuses.empty() ? "" : ")");
      }
      std::fflush(stdout);
      cells.push_back(cell);
    }
  }
  if (!args.json)
    std::printf(
        "x health: req/s over GET /healthz's at the same connections; non-2xx: responses that "
        "were not 2xx, by status; sockerr: wrk's connect, read, write errors and timeouts\n");
  for (const Cell& c : cells)
    if (c.non2xx || c.socket_errors)
      std::fprintf(stderr, "bench_load: %s at %d connections: %lld non-2xx, %lld socket errors\n",
                   c.endpoint.c_str(), c.connections, c.non2xx, c.socket_errors);
  return 0;
}
