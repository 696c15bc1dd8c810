// bench_ingest: ingest throughput in MB/s of text, stage by stage, against a plain SQLite insert
// of the same bytes measured in the same run.
//
//   bench_ingest [--mb 16] [--runs 3] [--json] [--keep]
//
// A synthetic corpus (.txt, .md with headings, .html with navigation boilerplate; half of the
// words Hangul) of about --mb megabytes is written to a temporary folder, then each run, on a
// fresh data folder on disk:
//   read files        the bytes read back (page cache): the floor of any ingest
//   sqlite insert     baseline: each file's bytes as one row of a plain table, 256 rows per
//                     transaction, WAL and synchronous=FULL as the store uses
//   chunk only        chunk_text over the texts in memory, nothing stored
//   store             ingest_paths, as `chaja index` does: read, extract, chunk, store (chunks
//                     and FTS5), committed in batches
//   embed + index     the first search builds the collection's dense side (builtin embedder,
//                     FAISS) and the BM25 postings, and saves the vectors as the server does
//   end to end        store + embed + index: from files to searchable
// MB are 10^6 bytes of the files as read. Medians over the runs.
#include <sqlite3.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "bench/bench_util.h"
#include "index/chunker.h"
#include "index/ingest.h"
#include "index/retriever.h"
#include "index/store.h"

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using chaja::bench::percentile;
using chaja::bench::Rng;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// A paragraph of sentences of 6-18 words from the Zipf vocabulary.
std::string paragraph(const std::vector<std::string>& vocab, const chaja::bench::Zipf& zipf,
                      Rng& rng) {
  std::string p;
  const size_t sentences = 3 + rng.next() % 5;
  for (size_t s = 0; s < sentences; ++s) {
    const size_t words = 6 + rng.next() % 13;
    for (size_t w = 0; w < words; ++w) {
      if (w) p += ' ';
      p += vocab[zipf.sample(rng)];
    }
    p += s + 1 == sentences ? "." : ". ";
  }
  return p;
}

struct Corpus {
  fs::path dir;
  std::vector<fs::path> files;
  uint64_t bytes = 0;
};

// Writes about `target` bytes of files: 70% .txt, 20% .md, 10% .html, 4-24 KB of text each.
Corpus write_corpus(const fs::path& dir, uint64_t target) {
  Rng rng{42};
  auto vocab = chaja::bench::make_vocabulary(30'000, rng);
  const chaja::bench::Zipf zipf(vocab.size());
  Corpus c;
  c.dir = dir;
  fs::create_directories(dir);
  for (size_t i = 0; c.bytes < target; ++i) {
    const size_t roll = rng.next() % 10;
    const char* ext = roll < 7 ? ".txt" : roll < 9 ? ".md" : ".html";
    const size_t want = 4'000 + rng.next() % 20'000;
    std::string body;
    std::string title = "Report " + std::to_string(i) + " " + vocab[zipf.sample(rng)];
    if (roll == 9)
      body = "<!doctype html><html><head><meta charset=utf-8><title>" + title +
             "</title></head><body><nav><a href=/>Home</a> <a href=/news>News</a> <a "
             "href=/about>About</a></nav><main><article><h1>" +
             title + "</h1>";
    else if (roll >= 7)
      body = "# " + title + "\n\n";
    size_t section = 0;
    while (body.size() < want) {
      const std::string p = paragraph(vocab, zipf, rng);
      if (roll == 9) {
        body += "<p>" + p + "</p>\n";
      } else {
        if (roll >= 7 && rng.next() % 4 == 0)
          body += "## Section " + std::to_string(++section) + "\n\n";
        body += p + "\n\n";
      }
    }
    if (roll == 9)
      body +=
          "</article></main><footer>Copyright. All rights reserved. Contact us.</footer>"
          "</body></html>\n";
    const fs::path path = dir / ("doc-" + std::to_string(i) + ext);
    std::ofstream(path, std::ios::binary) << body;
    c.files.push_back(path);
    c.bytes += body.size();
  }
  return c;
}

// The baseline: every file's bytes as one row, with the store's durability settings.
bool sqlite_insert(const fs::path& db_path, const std::vector<std::string>& texts) {
  sqlite3* db = nullptr;
  if (sqlite3_open(db_path.c_str(), &db) != SQLITE_OK) return false;
  bool ok = sqlite3_exec(db,
                         "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                         "CREATE TABLE docs(id INTEGER PRIMARY KEY, source TEXT, text TEXT);",
                         nullptr, nullptr, nullptr) == SQLITE_OK;
  sqlite3_stmt* insert = nullptr;
  ok = ok && sqlite3_prepare_v2(db, "INSERT INTO docs(source, text) VALUES(?, ?)", -1, &insert,
                                nullptr) == SQLITE_OK;
  for (size_t i = 0; ok && i < texts.size(); ++i) {
    if (i % 256 == 0) ok = sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr) == SQLITE_OK;
    const std::string source = "file-" + std::to_string(i);
    sqlite3_bind_text(insert, 1, source.data(), static_cast<int>(source.size()), SQLITE_STATIC);
    sqlite3_bind_text(insert, 2, texts[i].data(), static_cast<int>(texts[i].size()), SQLITE_STATIC);
    ok = sqlite3_step(insert) == SQLITE_DONE && sqlite3_reset(insert) == SQLITE_OK;
    if (ok && (i % 256 == 255 || i + 1 == texts.size()))
      ok = sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr) == SQLITE_OK;
  }
  sqlite3_finalize(insert);
  sqlite3_close(db);
  return ok;
}

}  // namespace

int main(int argc, char** argv) {
  double mb = 16;
  int runs = 3;
  bool json = false, keep = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--mb" && i + 1 < argc) {
      mb = std::strtod(argv[++i], nullptr);
    } else if (a == "--runs" && i + 1 < argc) {
      runs = std::max(1, std::atoi(argv[++i]));
    } else if (a == "--json") {
      json = true;
    } else if (a == "--keep") {
      keep = true;
    } else {
      std::fprintf(stderr, "usage: bench_ingest [--mb N] [--runs N] [--json] [--keep]\n");
      return 2;
    }
  }
  const fs::path root =
      fs::temp_directory_path() / ("chaja-bench-ingest-" + std::to_string(getpid()));
  const Corpus corpus = write_corpus(root / "corpus", static_cast<uint64_t>(mb * 1e6));
  const double corpus_mb = static_cast<double>(corpus.bytes) / 1e6;
  if (!json)
    std::printf(
        "bench_ingest: %zu files, %.1f MB (70%% .txt, 20%% .md, 10%% .html; half Hangul), "
        "%d runs, medians\n",
        corpus.files.size(), corpus_mb, runs);

  std::map<std::string, std::vector<double>> secs;  // stage → seconds per run
  size_t chunks = 0;
  for (int run = 0; run < runs; ++run) {
    const fs::path dir = root / ("run-" + std::to_string(run));
    fs::create_directories(dir / "data");

    auto t0 = Clock::now();
    std::vector<std::string> texts;
    for (const auto& f : corpus.files) {
      std::ifstream in(f, std::ios::binary);
      std::string bytes(fs::file_size(f), '\0');
      in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
      texts.push_back(std::move(bytes));
    }
    secs["read files"].push_back(seconds_since(t0));

    t0 = Clock::now();
    if (!sqlite_insert(dir / "plain.db", texts)) {
      std::fprintf(stderr, "bench_ingest: the plain SQLite insert failed\n");
      return 1;
    }
    secs["sqlite insert"].push_back(seconds_since(t0));

    t0 = Clock::now();
    size_t chunked = 0;
    for (const auto& t : texts) chunked += chaja::chunk_text(t).size();
    if (chunked == 0) return 1;  // keeps the chunking from being optimised away
    secs["chunk only"].push_back(seconds_since(t0));
    texts.clear();

    auto store = chaja::Store::open(dir / "data");
    if (!store) {
      std::fprintf(stderr, "bench_ingest: %s\n", store.error().message.c_str());
      return 1;
    }
    t0 = Clock::now();
    auto stats = chaja::ingest_paths(**store, {corpus.dir}, {}, nullptr);
    if (!stats || stats->failed > 0) {
      std::fprintf(stderr, "bench_ingest: ingest failed\n");
      return 1;
    }
    secs["store"].push_back(seconds_since(t0));
    chunks = stats->chunks;

    chaja::RetrieverOptions options;
    options.cache_dir = dir / "data" / "vectors";
    chaja::Retriever retriever(**store, options);
    t0 = Clock::now();
    chaja::SearchRequest req;
    req.query = "report section";
    auto hits = retriever.search(req);
    if (!hits) {
      std::fprintf(stderr, "bench_ingest: %s\n", hits.error().message.c_str());
      return 1;
    }
    secs["embed + index"].push_back(seconds_since(t0));
    secs["end to end"].push_back(secs["store"].back() + secs["embed + index"].back());
  }

  const double base = percentile(secs["sqlite insert"], 0.5);
  const char* order[] = {"read files", "sqlite insert", "chunk only",
                         "store",      "embed + index", "end to end"};
  const char* notes[] = {
      "page cache",
      "baseline: plain table, WAL, synchronous=FULL",
      "chunk_text in memory",
      "extract + chunk + store + FTS5 (as chaja index)",
      "builtin embedder + FAISS + BM25 postings, saved",
      "from files to searchable",
  };
  if (!json)
    std::printf("%-15s %9s %9s %11s %10s  %s\n", "stage", "median s", "MB/s", "chunks/s",
                "vs sqlite", "what");
  for (size_t i = 0; i < 6; ++i) {
    const double s = percentile(secs[order[i]], 0.5);
    const double rate = corpus_mb / s;
    const double chunk_rate = static_cast<double>(chunks) / s;
    if (json)
      std::printf(
          "{\"stage\":\"%s\",\"mb\":%.2f,\"chunks\":%zu,\"median_s\":%.4f,\"mb_per_s\":%.2f,"
          "\"vs_sqlite\":%.3f}\n",
          order[i], corpus_mb, chunks, s, rate, base / s);
    else if (i < 2)  // the baselines store no chunks
      std::printf("%-15s %9.3f %9.2f %11s %9.2fx  %s\n", order[i], s, rate, "", base / s, notes[i]);
    else
      std::printf("%-15s %9.3f %9.2f %11.0f %9.2fx  %s\n", order[i], s, rate, chunk_rate, base / s,
                  notes[i]);
  }
  if (!json) std::printf("%zu chunks stored per run\n", chunks);
  if (!keep) fs::remove_all(root);
  return 0;
}
