#include "index/hybrid.h"

#include <catch2/catch.hpp>

using namespace chaja;

namespace {

RankedCandidate cand(int64_t chunk, int64_t doc, size_t bm25_rank, double dense) {
  RankedCandidate c;
  c.chunk_id = chunk;
  c.doc_id = doc;
  c.bm25_rank = bm25_rank;
  c.dense_score = dense;
  return c;
}

}  // namespace

TEST_CASE("RRF rewards candidates both sides rank well", "[hybrid]") {
  HybridOptions o;
  o.per_document_cap = 0;
  // 1: top of BM25, last dense. 2: top dense, absent from BM25. 3: second on both.
  const auto out =
      fuse({cand(1, 1, 1, 0.1), cand(2, 2, 0, 0.9), cand(3, 3, 2, 0.8), cand(4, 4, 3, 0.5)}, o, 10);
  REQUIRE(out.size() == 4);
  CHECK(out[0].chunk_id == 3);
  CHECK(out[0].bm25_rank == 2);
  CHECK(out[0].dense_rank == 2);
  CHECK(out[0].fused == Approx(1.0 / 62 + 1.0 / 62));
  // Weights shift the balance.
  o.bm25_weight = 0;
  CHECK(fuse({cand(1, 1, 1, 0.1), cand(2, 2, 0, 0.9), cand(3, 3, 2, 0.8)}, o, 1)[0].chunk_id == 2);
  o.bm25_weight = 1;
  o.dense_weight = 0;
  CHECK(fuse({cand(1, 1, 1, 0.1), cand(2, 2, 0, 0.9), cand(3, 3, 2, 0.8)}, o, 1)[0].chunk_id == 1);
}

TEST_CASE("the per-document cap lets other documents in", "[hybrid]") {
  HybridOptions o;
  o.per_document_cap = 2;
  std::vector<RankedCandidate> c;
  for (int i = 0; i < 5; ++i) c.push_back(cand(i, 7, static_cast<size_t>(i + 1), 0.9 - 0.01 * i));
  c.push_back(cand(10, 8, 6, 0.5));
  const auto out = fuse(c, o, 3);
  REQUIRE(out.size() == 3);
  CHECK(out[0].doc_id == 7);
  CHECK(out[1].doc_id == 7);
  CHECK(out[2].doc_id == 8);
  CHECK(fuse({}, o, 3).empty());
  CHECK(fuse(c, o, 0).empty());
}
