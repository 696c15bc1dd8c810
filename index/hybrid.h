// Hybrid ranking: lexical (BM25) and dense candidates fused by weighted reciprocal rank fusion,
// the dense side ranked by exact similarity (the SIMD core's re-scoring, not the ANN's estimate),
// then a per-document cap so one document cannot fill every slot. Pure functions: the retriever
// gathers the candidates, this decides their order, and keeps every component for --explain.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace chaja {

struct HybridOptions {
  double bm25_weight = 1.0;  // 0: dense only (the retriever then gathers no BM25 candidates)
  double dense_weight = 1.0;
  double rrf_k = 60.0;          // the usual RRF constant: ranks 1 and 2 differ, 50 and 51 barely
  size_t per_document_cap = 2;  // at most this many chunks of one document (0: no cap)
};

struct RankedCandidate {
  int64_t chunk_id = 0;
  int64_t doc_id = 0;
  size_t bm25_rank = 0;  // 1-based rank in the BM25 list; 0 when BM25 did not return it
  double bm25_score = 0;
  size_t dense_rank = 0;   // 1-based rank by exact dense similarity among all candidates
  double dense_score = 0;  // exact inner product (cosine for unit vectors)
  double fused = 0;
};

// Fills dense_rank and fused, orders by fused (ties: better dense, then lower chunk id), applies
// the cap and keeps the best k. Candidates must be unique by chunk id with dense_score filled.
std::vector<RankedCandidate> fuse(std::vector<RankedCandidate> candidates,
                                  const HybridOptions& options, size_t k);

}  // namespace chaja
