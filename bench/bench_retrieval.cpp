// bench_retrieval: hybrid search latency (BM25 + builtin dense + exact re-scoring + RRF) at 10k
// and 100k chunks, against BM25 alone measured in the same run, and the IVF index's recall@10
// against exact search over the same vectors.
//
//   bench_retrieval [--n 10000,100000] [--queries 200] [--modes flat,ivf] [--no-recall] [--json]
//
// --modes picks the dense sides timed (at 1M chunks the server uses IVF: `--n 1000000 --modes ivf`
// skips the exact side's build); --no-recall skips the IVF recall rows (two more builds).
//
// The corpus is synthetic and deterministic: chunks of 40-80 words drawn from a Zipf-distributed
// vocabulary of English-like and Korean-like words, so that BM25 sees realistic posting lists.
// Queries are 3-6 words taken from random chunks. Latency is per query, single thread, after the
// dense side is built (the build time is reported separately).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "bench/bench_util.h"
#include "index/builtin_embedder.h"
#include "index/retriever.h"
#include "index/simd/simd.h"
#include "index/store.h"
#include "index/vector_index.h"

namespace {

using Clock = std::chrono::steady_clock;

using chaja::bench::make_vocabulary;
using chaja::bench::percentile;
using chaja::bench::Rng;
using chaja::bench::Zipf;

// Appends text to the document as its next chunk.
void append_chunk(chaja::NewDocument& d, const std::string& text) {
  chaja::Chunk chunk;
  chunk.start = d.input.text.size();
  d.input.text += text;
  chunk.end = d.input.text.size();
  chunk.text = text;
  d.chunks.push_back(std::move(chunk));
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<size_t> sizes = {10'000, 100'000};
  size_t nq = 200;
  bool json = false, flat_mode = true, ivf_mode = true, with_recall = true;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--json") {
      json = true;
    } else if (a == "--queries" && i + 1 < argc) {
      nq = std::strtoull(argv[++i], nullptr, 10);
    } else if (a == "--modes" && i + 1 < argc) {
      const std::string m = argv[++i];
      flat_mode = m.find("flat") != std::string::npos;
      ivf_mode = m.find("ivf") != std::string::npos;
    } else if (a == "--no-recall") {
      with_recall = false;
    } else if (a == "--n" && i + 1 < argc) {
      sizes.clear();
      for (const char* p = argv[++i]; *p;) {
        char* end = nullptr;
        sizes.push_back(std::strtoull(p, &end, 10));
        p = *end == ',' ? end + 1 : end;
      }
    } else {
      std::fprintf(
          stderr,
          "usage: bench_retrieval [--n LIST] [--queries N] [--modes flat,ivf] [--no-recall] "
          "[--json]\n");
      return 2;
    }
  }
  if (!json)
    std::printf("%-22s %8s %10s %10s %10s %s\n", "what", "chunks", "p50 ms", "p99 ms", "mean ms",
                "note");
  for (const size_t n : sizes) {
    Rng rng{n};
    const auto vocab = make_vocabulary(50'000, rng);
    const Zipf zipf(vocab.size());
    auto opened = chaja::Store::open("");
    if (!opened) return 1;
    chaja::Store& store = **opened;
    // Documents of 10 chunks each, written in batches.
    std::vector<std::string> chunk_texts;
    std::vector<chaja::NewDocument> batch;
    for (size_t c = 0; c < n; c += 10) {
      chaja::NewDocument d;
      d.input.title = "doc " + std::to_string(c / 10);
      d.input.source = "synthetic/" + std::to_string(c / 10);
      for (size_t k = 0; k < 10 && c + k < n; ++k) {
        std::string text;
        const size_t words = 40 + rng.next() % 41;
        for (size_t w = 0; w < words; ++w)
          text += vocab[zipf.sample(rng)] + (w % 12 == 11 ? ". " : " ");
        append_chunk(d, text);
        chunk_texts.push_back(text);
      }
      batch.push_back(std::move(d));
      if (batch.size() == 256) {
        if (!store.put_batch(batch)) return 1;
        batch.clear();
      }
    }
    if (!batch.empty() && !store.put_batch(batch)) return 1;

    std::vector<std::string> queries;
    for (size_t q = 0; q < nq; ++q) {
      const std::string& src = chunk_texts[rng.next() % chunk_texts.size()];
      std::vector<std::string> words;
      size_t start = 0;
      for (size_t i = 0; i <= src.size(); ++i)
        if (i == src.size() || src[i] == ' ' || src[i] == '.') {
          if (i > start) words.push_back(src.substr(start, i - start));
          start = i + 1;
        }
      std::string query;
      const size_t len = 3 + rng.next() % 4;
      for (size_t w = 0; w < len; ++w) query += words[rng.next() % words.size()] + " ";
      queries.push_back(query);
    }

    auto time_queries = [&](chaja::Retriever& r, std::vector<double>& ms) {
      for (const auto& q : queries) {
        chaja::SearchRequest req;
        req.query = q;
        req.k = 10;
        const auto t0 = Clock::now();
        auto hits = r.search(req);
        ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
        if (!hits) std::fprintf(stderr, "search failed: %s\n", hits.error().message.c_str());
      }
    };
    auto report = [&](const char* what, const std::vector<double>& ms, const std::string& note) {
      double mean = 0;
      for (double m : ms) mean += m;
      mean /= static_cast<double>(ms.size());
      if (json)
        std::printf(
            "{\"what\":\"%s\",\"chunks\":%zu,\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"mean_ms\":%.3f}\n",
            what, n, percentile(ms, 0.5), percentile(ms, 0.99), mean);
      else
        std::printf("%-22s %8zu %10.3f %10.3f %10.3f %s\n", what, n, percentile(ms, 0.5),
                    percentile(ms, 0.99), mean, note.c_str());
      std::fflush(stdout);
    };

    // The baseline: FTS5 ranking every match. Then the in-memory postings alone.
    std::vector<double> fts_ms;
    {
      chaja::RetrieverOptions fts;
      fts.dense = false;
      fts.lexical_in_memory = false;
      chaja::Retriever bm25(store, fts);
      time_queries(bm25, fts_ms);
      report("bm25 (fts5)", fts_ms, "baseline: FTS5 bm25(), 50 candidates");
    }
    {
      chaja::RetrieverOptions memory;
      memory.dense = false;
      chaja::Retriever bm25(store, memory);
      std::vector<double> ms, warm;
      time_queries(bm25, warm);  // the first query builds the postings
      time_queries(bm25, ms);
      char note[96];
      std::snprintf(note, sizeof note, "in-memory postings, %.1fx faster than fts5 (p50)",
                    percentile(fts_ms, 0.5) / percentile(ms, 0.5));
      report("bm25 (memory)", ms, note);
    }

    for (const bool ivf : {false, true}) {
      if (ivf ? !ivf_mode : !flat_mode) continue;
      chaja::RetrieverOptions options;
      options.vectors.ivf_threshold = ivf ? n / 2 : n * 2;
      chaja::Retriever hybrid(store, options);
      const auto b0 = Clock::now();
      {
        chaja::SearchRequest req;
        req.query = queries[0];
        (void)hybrid.search(req);  // builds the dense side
      }
      const double build_s = std::chrono::duration<double>(Clock::now() - b0).count();
      std::vector<double> ms;
      time_queries(hybrid, ms);
      char note[128];
      std::snprintf(note, sizeof note, "sides built in %.1f s; %.1fx fts5 bm25 alone (p50)",
                    build_s, percentile(ms, 0.5) / percentile(fts_ms, 0.5));
      report(ivf ? "hybrid (ivf)" : "hybrid (flat)", ms, note);
      if (ivf) continue;
      // A write, then the next search: it catches up instead of rebuilding. An added document
      // (10 chunks embedded and added) costs only its rows; a deletion also costs a pass over
      // the collection's chunk ids, to find what went.
      int round = 0;
      for (const bool remove : {false, true}) {
        std::vector<double> catch_ms;
        for (int i = 0; i < 5; ++i, ++round) {
          chaja::NewDocument d;
          d.input.title = "late " + std::to_string(round);
          d.input.source = "late/" + std::to_string(round);
          for (size_t k = 0; k < 10; ++k) {
            std::string text;
            for (size_t w = 0; w < 60; ++w) text += vocab[zipf.sample(rng)] + " ";
            append_chunk(d, text);
          }
          auto put = store.put_batch({d});
          if (!put) return 1;
          if (remove && !store.remove((*put)[0].doc_id - 1)) return 1;
          chaja::SearchRequest req;
          req.query = queries[static_cast<size_t>(round)];
          const auto t0 = Clock::now();
          (void)hybrid.search(req);
          catch_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
        }
        char note2[128];
        std::snprintf(note2, sizeof note2, "first search after it; %zu rebuilds, %zu catch-ups",
                      hybrid.rebuilds(), hybrid.catch_ups());
        report(remove ? "hybrid after add+delete" : "hybrid after an add", catch_ms, note2);
      }
    }

    // ANN recall: the IVF index against the exact scan, over the same builtin vectors.
    if (!with_recall) continue;
    auto stats = std::make_shared<chaja::FeatureStats>();
    for (const auto& t : chunk_texts) stats->add_document(t);
    const chaja::BuiltinEmbedder embedder(chaja::BuiltinEmbedder::kDefaultDimension, stats);
    const size_t d = embedder.dimension();
    std::vector<float> matrix(chunk_texts.size() * d);
    std::vector<int64_t> ids(chunk_texts.size());
    for (size_t i = 0; i < chunk_texts.size(); ++i) {
      embedder.embed_one(chunk_texts[i], matrix.data() + i * d);
      ids[i] = static_cast<int64_t>(i);
    }
    chaja::VectorIndexOptions vo;
    vo.ivf_threshold = 1;  // an inverted file from the first vector on
    for (const size_t nprobe : {8ul, 32ul}) {
      vo.ivf_nprobe = nprobe;
      auto probe = chaja::VectorIndex::create(d, vo);
      if (!probe || !(*probe)->add(ids.data(), matrix.data(), ids.size())) return 1;
      size_t found = 0;
      std::vector<float> q(d);
      for (const auto& text : queries) {
        embedder.embed_one(text, q.data());
        const auto exact = chaja::simd::top_k_ip(q.data(), matrix.data(), ids.size(), d, 10);
        const auto approx = (*probe)->search(q.data(), 10);
        for (const auto& e : exact)
          for (const auto& a : approx) found += a.id == e.id;
      }
      const double recall =
          static_cast<double>(found) / (10.0 * static_cast<double>(queries.size()));
      if (json)
        std::printf(
            "{\"what\":\"ivf_recall\",\"chunks\":%zu,\"nprobe\":%zu,\"recall_at_10\":%.4f}\n", n,
            nprobe, recall);
      else
        std::printf("%-22s %8zu %10s %10s %10s recall@10 %.3f against exact search\n",
                    ("ivf nprobe " + std::to_string(nprobe)).c_str(), n, "", "", "", recall);
    }
  }
  return 0;
}
