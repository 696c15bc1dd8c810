// Fault test: `kill -9` in the middle of a large ingest, then a restart on the same data folder.
//
// Through the API, several client threads post hundreds of documents (each with its own marker
// word, some in Korean, JSON and multipart, a few as background jobs) while another searches;
// the server is killed with SIGKILL at a random moment (or while a large job is being stored),
// restarted, and checked: every document it acknowledged (2xx with an id, or 202 and a job) is
// there, by id and by source, whole, and found by its marker on both sides of the hybrid
// search; every document that is there at all is whole (an unacknowledged one is complete or
// absent, never half); and, the server stopped, SQLite's integrity check passes and the
// full-text index holds exactly the store's chunks. Several rounds on one folder, each with its
// own seed (CHAJA_FAULT_SEED overrides the first).
//
// Through the CLI, `chaja index` of a folder of many files is killed mid-run and run again: the
// folder ends fully indexed, once.
#include <sqlite3.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "../support/chaja_process.h"
#include "../support/fault_support.h"

namespace {

using namespace chaja::test;

// ---- the documents ------------------------------------------------------------------------

const char* const kEnglish[] = {
    "The harbour authority inspects the breakwater after every winter storm.",
    "Ferry timetables change twice a year, in April and in October.",
    "The archive keeps the original survey maps in climate-controlled drawers.",
    "Volunteers repaint the signal mast each spring before the regatta.",
    "Fishing permits are issued by the district office on weekday mornings.",
    "The old customs house now holds the maritime museum and a small library.",
    "Tide tables for the estuary are published a month in advance.",
    "Cargo cranes on the north quay were replaced with electric models in 2019.",
};
const char* const kKorean[] = {
    "항만청은 겨울 폭풍이 지나갈 때마다 방파제를 점검합니다.",
    "여객선 시간표는 일 년에 두 번, 사월과 시월에 바뀝니다.",
    "기록관은 원본 측량 지도를 항온항습 서랍에 보관합니다.",
    "자원봉사자들은 매년 봄 요트 대회 전에 신호 기둥을 다시 칠합니다.",
    "어업 허가는 평일 오전에 지역 사무소에서 발급됩니다.",
    "옛 세관 건물에는 지금 해양 박물관과 작은 도서관이 있습니다.",
    "하구의 조석표는 한 달 전에 공개됩니다.",
    "북쪽 부두의 화물 크레인은 2019년에 전기식으로 교체되었습니다.",
};

// A word no other document holds, letters only (the tokenizer keeps it whole): "zq" + n in
// base 26 + "wk".
std::string marker_word(int n) {
  std::string m = "zq";
  std::string digits;
  do {
    digits += static_cast<char>('a' + n % 26);
    n /= 26;
  } while (n > 0);
  m.append(digits.rbegin(), digits.rend());
  return m + "wk";
}

struct Doc {
  std::string source, title, text, marker;
  bool korean = false;
  bool multipart = false;
  bool async = false;  // ?async=true: a job even when small
};

// Paragraphs of filler around one sentence carrying the marker, `bytes` long or a little more.
std::string doc_text(std::mt19937& rng, bool korean, const std::string& marker, size_t bytes) {
  std::string text;
  const size_t marker_at = std::uniform_int_distribution<size_t>(0, bytes)(rng);
  bool placed = false;
  int sentence = 0;
  while (text.size() < bytes || !placed) {
    if (!placed && text.size() >= marker_at) {
      text += korean ? "이 문서의 등록 번호는 " + marker + " 입니다. "
                     : "This record is filed under the code " + marker + ". ";
      placed = true;
    }
    text += korean ? kKorean[rng() % 8] : kEnglish[rng() % 8];
    text += ++sentence % 5 == 0 ? "\n\n" : " ";
  }
  return text;
}

std::vector<Doc> make_docs(uint32_t seed, int round, int count, int first_marker) {
  std::mt19937 rng(seed);
  std::vector<Doc> docs;
  for (int i = 0; i < count; ++i) {
    Doc d;
    d.korean = i % 3 == 1;
    d.marker = marker_word(first_marker + i);
    d.source = "round" + std::to_string(round) + "/doc" + std::to_string(i) + ".txt";
    d.title = (d.korean ? "문서 " : "Record ") + std::to_string(round) + "-" + std::to_string(i);
    // Mostly one chunk, some several.
    const size_t bytes = i % 7 == 0 ? std::uniform_int_distribution<size_t>(3000, 9000)(rng)
                                    : std::uniform_int_distribution<size_t>(200, 1200)(rng);
    d.text = doc_text(rng, d.korean, d.marker, bytes);
    d.multipart = i % 5 == 2;
    d.async = i % 29 == 3;
    docs.push_back(std::move(d));
  }
  return docs;
}

// White space collapsed: the store gives a document's text back from its chunks, with the
// space between them normalised.
std::string squeeze(const std::string& s) {
  std::string out;
  bool space = false;
  for (const char c : s) {
    if (c == ' ' || c == '\n' || c == '\t' || c == '\r') {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

// ---- what the clients saw -------------------------------------------------------------------

struct Ledger {
  std::mutex mu;
  std::map<std::string, int64_t> acked;         // source -> document id (2xx with an id)
  std::map<std::string, int64_t> acked_chunks;  // source -> chunks in the acknowledgement
  std::map<std::string, std::string> jobs;      // source -> job id (202)
  std::set<std::string> unanswered;             // sent, no response (the kill)
  std::vector<std::string> refused;             // an HTTP error while the server was up
  std::atomic<int> answered{0};
};

httplib::Result post_doc(httplib::Client& c, const Doc& d) {
  const std::string query = d.async ? "?async=true" : "";
  if (d.multipart) {
    httplib::MultipartFormDataItems form = {{"file", d.text, d.source, "text/plain"},
                                            {"source", d.source, "", ""},
                                            {"title", d.title, "", ""}};
    return c.Post("/v1/documents" + query, form);
  }
  return c.Post("/v1/documents" + query,
                json{{"title", d.title}, {"source", d.source}, {"text", d.text}}.dump(),
                "application/json");
}

// Posts docs[next...] until they run out or the server is gone (three failures in a row).
void writer(int port, const std::vector<Doc>& docs, std::atomic<size_t>& next, Ledger& ledger,
            const std::atomic<bool>& killed) {
  httplib::Client c("127.0.0.1", port);
  c.set_connection_timeout(1, 0);
  c.set_read_timeout(20, 0);
  int failures = 0;
  for (size_t i = next++; i < docs.size() && failures < 3; i = next++) {
    const Doc& d = docs[i];
    auto r = post_doc(c, d);
    std::lock_guard lock(ledger.mu);
    if (!r) {
      ledger.unanswered.insert(d.source);
      ++failures;
      continue;
    }
    failures = 0;
    ++ledger.answered;
    const json j = json::parse(r->body, nullptr, false);
    if ((r->status == 200 || r->status == 201) && j.contains("id")) {
      ledger.acked[d.source] = j["id"].get<int64_t>();
      ledger.acked_chunks[d.source] = j["chunks"].get<int64_t>();
    } else if (r->status == 202 && j.contains("job_id")) {
      ledger.jobs[d.source] = j["job_id"].get<std::string>();
    } else if (!killed) {
      ledger.refused.push_back(d.source + ": " + std::to_string(r->status) + " " + r->body);
    }
  }
}

// ---- checks ---------------------------------------------------------------------------------

json get_json(httplib::Client& c, const std::string& path) {
  auto r = c.Get(path);
  REQUIRE(r);
  INFO(path << " -> " << r->status << " " << r->body);
  REQUIRE(r->status == 200);
  json j = json::parse(r->body, nullptr, false);
  REQUIRE(j.is_object());
  return j;
}

// Every document of the default collection, by source.
std::map<std::string, json> list_all(httplib::Client& c) {
  std::map<std::string, json> out;
  for (int offset = 0;; offset += 1000) {
    const json page = get_json(c, "/v1/documents?limit=1000&offset=" + std::to_string(offset));
    for (const json& d : page["documents"]) out[d["source"].get<std::string>()] = d;
    if (page["documents"].size() < 1000) break;
  }
  return out;
}

// Polls a job until it has ended; its last status, or null when the server does not know it:
// a job the killed process finished is forgotten with it (jobs.h), its document stored.
json wait_job(httplib::Client& c, const std::string& id, std::chrono::seconds limit) {
  const auto end = Clock::now() + limit;
  json job;
  while (Clock::now() < end) {
    auto r = c.Get("/v1/jobs/" + id);
    REQUIRE(r);
    if (r->status == 404) return nullptr;
    INFO(r->body);
    REQUIRE(r->status == 200);
    job = json::parse(r->body);
    if (job["state"] == "done" || job["state"] == "failed") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return job;
}

// What SQLite says about the folder's database once no server holds it.
struct DbFacts {
  std::string integrity;
  int64_t documents = 0, chunks = 0, fts_rows = 0;
  int64_t chunks_not_indexed = 0, index_rows_without_chunk = 0;
  int64_t orphan_chunks = 0, documents_without_chunks = 0;
  std::map<std::string, int64_t> chunks_by_source;
  std::set<int64_t> chunk_ids;
};

int64_t scalar(sqlite3* db, const char* sql) {
  sqlite3_stmt* st = nullptr;
  INFO(sql << ": " << sqlite3_errmsg(db));
  REQUIRE(sqlite3_prepare_v2(db, sql, -1, &st, nullptr) == SQLITE_OK);
  REQUIRE(sqlite3_step(st) == SQLITE_ROW);
  const int64_t v = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  return v;
}

DbFacts db_facts(const fs::path& file) {
  DbFacts f;
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open_v2(file.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) == SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, nullptr) == SQLITE_OK);
  while (sqlite3_step(st) == SQLITE_ROW)
    f.integrity += reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
  sqlite3_finalize(st);
  f.documents = scalar(db, "SELECT count(*) FROM documents");
  f.chunks = scalar(db, "SELECT count(*) FROM chunks");
  // The FTS5 index's own rows (its docsize shadow table: one per indexed chunk). Reading the
  // index itself needs Chaja's tokenizer, which plain SQLite lacks.
  f.fts_rows = scalar(db, "SELECT count(*) FROM chunks_fts_docsize");
  f.chunks_not_indexed =
      scalar(db, "SELECT count(*) FROM chunks WHERE id NOT IN (SELECT id FROM chunks_fts_docsize)");
  f.index_rows_without_chunk =
      scalar(db, "SELECT count(*) FROM chunks_fts_docsize WHERE id NOT IN (SELECT id FROM chunks)");
  f.orphan_chunks =
      scalar(db, "SELECT count(*) FROM chunks WHERE doc_id NOT IN (SELECT id FROM documents)");
  f.documents_without_chunks =
      scalar(db, "SELECT count(*) FROM documents WHERE id NOT IN (SELECT doc_id FROM chunks)");
  REQUIRE(sqlite3_prepare_v2(db,
                             "SELECT d.source, count(c.id) FROM documents d "
                             "LEFT JOIN chunks c ON c.doc_id = d.id GROUP BY d.id",
                             -1, &st, nullptr) == SQLITE_OK);
  while (sqlite3_step(st) == SQLITE_ROW)
    f.chunks_by_source[reinterpret_cast<const char*>(sqlite3_column_text(st, 0))] =
        sqlite3_column_int64(st, 1);
  sqlite3_finalize(st);
  REQUIRE(sqlite3_prepare_v2(db, "SELECT id FROM chunks", -1, &st, nullptr) == SQLITE_OK);
  while (sqlite3_step(st) == SQLITE_ROW) f.chunk_ids.insert(sqlite3_column_int64(st, 0));
  sqlite3_finalize(st);
  sqlite3_close(db);
  return f;
}

void check_db(const DbFacts& f) {
  CHECK(f.integrity == "ok");
  CHECK(f.fts_rows == f.chunks);
  CHECK(f.chunks_not_indexed == 0);
  CHECK(f.index_rows_without_chunk == 0);
  CHECK(f.orphan_chunks == 0);
  CHECK(f.documents_without_chunks == 0);
}

// The hits of a search for `marker`, with each side's rank (explain).
json search_marker(httplib::Client& c, const std::string& marker) {
  auto r = c.Post("/v1/search", json{{"query", marker}, {"k", 5}, {"explain", true}}.dump(),
                  "application/json");
  REQUIRE(r);
  INFO(r->body);
  REQUIRE(r->status == 200);
  return json::parse(r->body)["results"];
}

uint32_t first_seed() {
  const char* env = std::getenv("CHAJA_FAULT_SEED");
  return env ? static_cast<uint32_t>(std::stoul(env)) : 20261122u;
}

}  // namespace

TEST_CASE("fault: kill -9 during API ingest loses no acknowledged document", "[fault][crash]") {
  const auto t_start = Clock::now();
  TempDir data;
  const std::string config = data / "config.json";
  {
    // Uploads over 64 KiB become jobs, so a large one is written in the background.
    std::ofstream f(config);
    f << R"({"server": {"job_threshold_bytes": 65536, "threads": 48}})";
  }
  const std::vector<std::string> env = {"CHAJA_CONFIG=" + config};
  const std::string log = data / "serve.log";
  constexpr int kRounds = 4;
  constexpr int kDocs = 240;  // per round
  Ledger ledger;
  std::map<std::string, Doc> all_docs;  // by source, every round
  std::set<int64_t> hit_chunks;         // chunk ids the searches named after each restart
  int killed_during_job = 0;

  for (int round = 0; round < kRounds; ++round) {
    const uint32_t seed = first_seed() + static_cast<uint32_t>(round) * 7919u;
    std::mt19937 rng(seed);
    std::vector<Doc> docs = make_docs(seed, round, kDocs, round * kDocs);
    // Odd rounds: a large document (about 3 MB) that becomes a job, killed while it is stored.
    const bool kill_in_job = round % 2 == 1;
    Doc big;
    big.source = "round" + std::to_string(round) + "/large.txt";
    big.title = "Large " + std::to_string(round);
    big.marker = marker_word(100000 + round);
    big.korean = true;
    big.text = doc_text(rng, true, big.marker, 3u << 20);
    for (const Doc& d : docs) all_docs[d.source] = d;
    all_docs[big.source] = big;
    INFO("round " << round << ", seed " << seed << (kill_in_job ? ", kill in a job" : ""));

    auto server = std::make_unique<KillableServe>(env, data.path().string(), log);
    std::atomic<size_t> next{0};
    std::atomic<bool> killed{false}, stop_search{false};
    std::vector<std::thread> threads;
    std::string big_job;
    if (kill_in_job) {
      auto c = server->client(60);
      auto r = post_doc(c, big);
      REQUIRE(r);
      REQUIRE(r->status == 202);
      big_job = json::parse(r->body)["job_id"].get<std::string>();
      std::lock_guard lock(ledger.mu);
      ledger.jobs[big.source] = big_job;
    }
    for (int t = 0; t < 4; ++t)
      threads.emplace_back(writer, server->port(), std::cref(docs), std::ref(next),
                           std::ref(ledger), std::cref(killed));
    // A reader searching as the writes land (catch-ups, and saves of the vector side).
    threads.emplace_back([&, port = server->port()] {
      httplib::Client c("127.0.0.1", port);
      c.set_connection_timeout(1, 0);
      c.set_read_timeout(10, 0);
      size_t i = 0;
      while (!stop_search && !killed) {
        c.Post("/v1/search", json{{"query", docs[i++ % docs.size()].marker}}.dump(),
               "application/json");
      }
    });

    // The moment: after a random number of answered posts, or once the large job is running.
    const int answered_before = ledger.answered;
    const int wait_for = std::uniform_int_distribution<int>(5, kDocs * 3 / 4)(rng);
    bool job_running = false;
    const auto give_up = Clock::now() + std::chrono::seconds(20);
    if (kill_in_job) {
      auto c = server->client();
      while (Clock::now() < give_up) {
        auto r = c.Get("/v1/jobs/" + big_job);
        if (r && r->body.find("\"running\"") != std::string::npos) {
          job_running = true;
          std::this_thread::sleep_for(
              std::chrono::milliseconds(std::uniform_int_distribution<int>(0, 60)(rng)));
          break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
      }
    } else {
      while (ledger.answered - answered_before < wait_for && Clock::now() < give_up)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    const pid_t old_pid = server->pid();
    killed = true;
    server->process().kill9();
    killed_during_job += job_running;
    for (auto& t : threads) t.join();
    const int acked_now = static_cast<int>(ledger.acked.size());
    std::printf(
        "crash_ingest round %d (seed %u): killed pid %d after %d answered posts%s; %d acked "
        "so far, %zu jobs, %zu unanswered\n",
        round, seed, static_cast<int>(old_pid), ledger.answered - answered_before,
        kill_in_job ? (job_running ? " while the large job ran" : " (job not seen running)") : "",
        acked_now, ledger.jobs.size(), ledger.unanswered.size());
    CHECK(ledger.refused.empty());
    for (const std::string& r : ledger.refused) WARN(r);
    ledger.refused.clear();

    // Restart on the same folder.
    server = std::make_unique<KillableServe>(env, data.path().string(), log);
    auto c = server->client(30);
    // Acknowledged jobs finish.
    for (const auto& [source, id] : ledger.jobs) {
      const json job = wait_job(c, id, std::chrono::seconds(30));
      INFO(source << " job " << id << ": " << job.dump());
      // Unknown after the restart: finished before the kill (its document is checked below).
      if (!job.is_null()) CHECK(job["state"] == "done");
    }
    const std::map<std::string, json> listed = list_all(c);
    // Every acknowledged document: there by source and by id, whole, found by its marker.
    std::map<std::string, int64_t> expected = ledger.acked;
    for (const auto& [source, job] : ledger.jobs) {
      auto it = listed.find(source);
      INFO("job document " << source);
      REQUIRE(it != listed.end());
      expected[source] = (*it).second["id"].get<int64_t>();
    }
    int dense_found = 0;
    for (const auto& [source, id] : expected) {
      INFO("acknowledged " << source << " id " << id);
      auto it = listed.find(source);
      REQUIRE(it != listed.end());
      CHECK(it->second["id"].get<int64_t>() == id);
      const json doc = get_json(c, "/v1/documents/" + std::to_string(id));
      CHECK(doc["source"] == source);
      const Doc& original = all_docs.at(source);
      CHECK(squeeze(doc["text"].get<std::string>()) == squeeze(original.text));
      if (auto n = ledger.acked_chunks.find(source); n != ledger.acked_chunks.end())
        CHECK(doc["chunks"].get<int64_t>() == n->second);
      bool bm25 = false, dense = false;
      for (const json& hit : search_marker(c, original.marker)) {
        hit_chunks.insert(hit["id"].get<int64_t>());
        if (hit["doc_id"] != id) continue;
        bm25 = bm25 || !hit["explain"]["bm25"].is_null();
        dense = dense || !hit["explain"]["dense"].is_null();
      }
      CHECK(bm25);
      dense_found += dense;
    }
    // The dense side holds the acknowledged documents too (a marker is a rare word, so its
    // chunk is near the top of the dense ranking as well).
    CHECK(dense_found == static_cast<int>(expected.size()));
    // Whatever is there is whole: acknowledged or not, a document is complete or absent.
    for (const auto& [source, d] : listed) {
      INFO("stored " << source << (ledger.unanswered.count(source) ? " (unanswered)" : ""));
      const json doc = get_json(c, "/v1/documents/" + std::to_string(d["id"].get<int64_t>()));
      REQUIRE(all_docs.count(source) == 1);
      CHECK(squeeze(doc["text"].get<std::string>()) == squeeze(all_docs.at(source).text));
    }
    size_t unanswered_present = 0;
    for (const std::string& s : ledger.unanswered) unanswered_present += listed.count(s);
    std::printf(
        "crash_ingest round %d: after restart %zu documents, %zu acknowledged all "
        "present, %zu of %zu unanswered present (whole)\n",
        round, listed.size(), expected.size(), unanswered_present, ledger.unanswered.size());
    REQUIRE(server->stop() == 0);
    const DbFacts facts = db_facts(data.path() / "chaja.db");
    INFO("integrity: " << facts.integrity);
    check_db(facts);
    CHECK(facts.documents == static_cast<int64_t>(listed.size()));
    for (const auto& [source, n] : ledger.acked_chunks) {
      INFO(source);
      const auto it = facts.chunks_by_source.find(source);
      REQUIRE(it != facts.chunks_by_source.end());
      CHECK(it->second == n);
    }
    for (const int64_t id : hit_chunks) CHECK(facts.chunk_ids.count(id) == 1);
    // This round's jobs are settled: their documents are checked like the others from now on.
    for (const auto& [source, job] : ledger.jobs) ledger.acked[source] = expected[source];
    ledger.jobs.clear();
  }
  CHECK(killed_during_job >= 1);
  const double took = seconds_since(t_start);
  std::printf("crash_ingest: %d rounds in %.1f s, %zu documents acknowledged\n", kRounds, took,
              ledger.acked.size());
}

TEST_CASE("fault: kill -9 during `chaja index`, then a rerun indexes the folder once",
          "[fault][crash]") {
  TempDir data, folder;
  std::mt19937 rng(first_seed());
  constexpr int kFiles = 3000;
  std::map<std::string, Doc> files;  // by file name
  for (int i = 0; i < kFiles; ++i) {
    Doc d;
    d.korean = i % 3 == 0;
    d.marker = marker_word(200000 + i);
    d.source = "f" + std::to_string(i) + ".txt";
    d.text = doc_text(rng, d.korean, d.marker,
                      std::uniform_int_distribution<size_t>(150, i % 9 == 0 ? 5000 : 700)(rng));
    std::ofstream(folder / d.source) << d.text;
    files[d.source] = d;
  }
  const std::vector<std::string> args = {"index", folder.path().string(), "--data",
                                         data.path().string()};
  const std::string log = data / "index.log";
  // Killed at random moments (a whole run takes about a second here; a rerun skips what is
  // already stored, so it is shorter), then run to the end.
  int killed_mid_run = 0;
  for (int kill = 0; kill < 3; ++kill) {
    ChajaProcess run({}, args, log);
    const int after_ms = std::uniform_int_distribution<int>(20, 300)(rng);
    std::this_thread::sleep_for(std::chrono::milliseconds(after_ms));
    const bool was_running = run.running();
    if (was_running) run.kill9();
    killed_mid_run += was_running;
    std::printf("crash_ingest cli: kill %d after %d ms%s\n", kill, after_ms,
                was_running ? "" : " (the run had already ended)");
  }
  {
    ChajaProcess run({}, args, log);
    INFO(read_file(log));
    REQUIRE(run.wait_exit(std::chrono::seconds(120)) == 0);
  }
  CHECK(killed_mid_run >= 1);
  const DbFacts facts = db_facts(data.path() / "chaja.db");
  INFO("integrity: " << facts.integrity);
  check_db(facts);
  CHECK(facts.documents == kFiles);
  // Each file once, under its own path.
  std::set<std::string> names;
  for (const auto& [source, n] : facts.chunks_by_source)
    names.insert(fs::path(source).filename().string());
  CHECK(names.size() == static_cast<size_t>(kFiles));
  CHECK(facts.chunks_by_source.size() == static_cast<size_t>(kFiles));

  // Whole and findable: every file's text comes back, and a sample of markers finds its file.
  KillableServe server({}, data.path().string(), data / "serve.log");
  auto c = server.client(30);
  const std::map<std::string, json> listed = list_all(c);
  REQUIRE(listed.size() == static_cast<size_t>(kFiles));
  int checked = 0;
  for (const auto& [source, d] : listed) {
    const std::string name = fs::path(source).filename().string();
    INFO(source);
    REQUIRE(files.count(name) == 1);
    const json doc = get_json(c, "/v1/documents/" + std::to_string(d["id"].get<int64_t>()));
    CHECK(squeeze(doc["text"].get<std::string>()) == squeeze(files[name].text));
    if (checked++ % 20 != 0) continue;
    bool found = false;
    for (const json& hit : search_marker(c, files[name].marker))
      found = found || hit["doc_id"] == d["id"];
    CHECK(found);
  }
}
