// Retrieval by meaning as well as by words: the labelled set tests/fixtures/paraphrase_queries.tsv
// (lexical, paraphrase and cross-lingual queries) over tests/fixtures/corpus_ko_en, ranked by BM25
// alone, by the builtin embedder alone (exact SIMD scan) and by both fused (RRF). Prints recall@5
// and MRR@10 per kind of query; fails if the hybrid loses to the better of the two.
#include <catch2/catch.hpp>
#include <cstdio>
#include <map>
#include <unordered_map>

#include "index/builtin_embedder.h"
#include "index/hybrid.h"
#include "index/ingest.h"
#include "index/simd/simd.h"
#include "index/test_util.h"

using namespace chaja;

namespace {

constexpr size_t kCandidates = 50;

struct Query {
  std::string text, expected, kind;
};

std::vector<Query> load_queries() {
  std::vector<Query> out;
  for (auto& f : test::read_tsv(std::string(CHAJA_FIXTURES) + "/paraphrase_queries.tsv")) {
    f.resize(3);
    out.push_back({f[0], f[1], f[2]});
  }
  return out;
}

struct Metrics {
  size_t n = 0, hit5 = 0;
  double mrr = 0;
  void add(size_t rank) {  // 1-based document rank, 0 = not found
    ++n;
    hit5 += rank >= 1 && rank <= 5;
    if (rank >= 1 && rank <= 10) mrr += 1.0 / static_cast<double>(rank);
  }
  double recall5() const { return n ? static_cast<double>(hit5) / static_cast<double>(n) : 0; }
  double mrr10() const { return n ? mrr / static_cast<double>(n) : 0; }
};

}  // namespace

TEST_CASE("hybrid retrieval does not lose to BM25 or dense alone", "[quality][hybrid]") {
  test::TempDir dir;
  auto opened = Store::open(dir.path());
  REQUIRE(opened.ok());
  Store& store = **opened;
  auto stats =
      ingest_paths(store, {std::filesystem::path(CHAJA_FIXTURES) / "corpus_ko_en"}, {}, nullptr);
  REQUIRE(stats.ok());
  REQUIRE(stats->added >= 20);

  // The dense side: builtin embeddings of title + text, with statistics learned from the chunks.
  std::vector<Store::ChunkRow> chunks;
  REQUIRE(store
              .for_each_chunk(kDefaultCollection,
                              [&](const Store::ChunkRow& r) { chunks.push_back(r); })
              .ok());
  auto feature_stats = std::make_shared<FeatureStats>();
  for (const auto& c : chunks) feature_stats->add_document(c.title + "\n" + c.text);
  const BuiltinEmbedder embedder(BuiltinEmbedder::kDefaultDimension, feature_stats);
  const size_t d = embedder.dimension();
  std::vector<float> matrix(chunks.size() * d);
  std::unordered_map<int64_t, size_t> row_of;
  std::map<int64_t, std::string> file_of_doc;
  for (size_t i = 0; i < chunks.size(); ++i) {
    embedder.embed_one(chunks[i].title + "\n" + chunks[i].text, matrix.data() + i * d);
    row_of[chunks[i].chunk_id] = i;
  }
  auto docs = store.list(kDefaultCollection, 1000, 0);
  REQUIRE(docs.ok());
  for (const auto& doc : *docs)
    file_of_doc[doc.id] = std::filesystem::path(doc.source).filename().string();

  auto doc_rank = [&](const std::vector<int64_t>& doc_ids, const std::string& expected) {
    std::vector<int64_t> seen;
    for (int64_t id : doc_ids) {
      if (std::find(seen.begin(), seen.end(), id) != seen.end()) continue;
      seen.push_back(id);
      if (file_of_doc[id] == expected) return seen.size();
    }
    return size_t{0};
  };

  const auto queries = load_queries();
  REQUIRE(queries.size() >= 60);
  std::map<std::string, std::map<std::string, Metrics>> table;  // kind -> method -> metrics
  std::vector<float> qv(d);
  for (const Query& q : queries) {
    auto bm25 = store.search({q.text, kCandidates, kDefaultCollection});
    REQUIRE(bm25.ok());
    embedder.embed_one(q.text, qv.data());
    const auto dense = simd::top_k_ip(qv.data(), matrix.data(), chunks.size(), d, kCandidates);

    std::vector<int64_t> bm25_docs, dense_docs, hybrid_docs;
    std::unordered_map<int64_t, RankedCandidate> cands;
    for (size_t i = 0; i < bm25->size(); ++i) {
      const SearchHit& h = (*bm25)[i];
      bm25_docs.push_back(h.doc_id);
      RankedCandidate& c = cands[h.chunk_id];
      c.chunk_id = h.chunk_id;
      c.doc_id = h.doc_id;
      c.bm25_rank = i + 1;
      c.bm25_score = h.score;
    }
    for (const simd::Hit& h : dense) {
      const Store::ChunkRow& row = chunks[static_cast<size_t>(h.id)];
      dense_docs.push_back(row.doc_id);
      RankedCandidate& c = cands[row.chunk_id];
      c.chunk_id = row.chunk_id;
      c.doc_id = row.doc_id;
    }
    std::vector<RankedCandidate> list;
    for (auto& [id, c] : cands) {
      c.dense_score = simd::dot(qv.data(), matrix.data() + row_of[id] * d, d);  // exact re-score
      list.push_back(c);
    }
    HybridOptions options;
    options.per_document_cap = 0;
    for (const auto& c : fuse(list, options, kCandidates)) hybrid_docs.push_back(c.doc_id);

    for (const std::string& kind : {q.kind, std::string("all")}) {
      table[kind]["bm25"].add(doc_rank(bm25_docs, q.expected));
      table[kind]["dense"].add(doc_rank(dense_docs, q.expected));
      table[kind]["hybrid"].add(doc_rank(hybrid_docs, q.expected));
    }
  }

  std::printf("\nretrieval on %zu labelled queries over %zu chunks (builtin embedder, RRF k=60)\n",
              queries.size(), chunks.size());
  std::printf("%-13s %4s | %-17s | %-17s | %-17s\n", "queries", "n", "BM25 R@5  MRR@10",
              "dense R@5  MRR@10", "hybrid R@5 MRR@10");
  for (const auto& [kind, methods] : table) {
    std::printf("%-13s %4zu |", kind.c_str(), methods.at("bm25").n);
    for (const char* m : {"bm25", "dense", "hybrid"})
      std::printf("  %6.3f   %6.3f  |", methods.at(m).recall5(), methods.at(m).mrr10());
    std::printf("\n");
  }
  const auto& all = table["all"];
  const double best_recall = std::max(all.at("bm25").recall5(), all.at("dense").recall5());
  const double best_mrr = std::max(all.at("bm25").mrr10(), all.at("dense").mrr10());
  CHECK(all.at("hybrid").recall5() >= best_recall);
  CHECK(all.at("hybrid").mrr10() >= best_mrr);
}
