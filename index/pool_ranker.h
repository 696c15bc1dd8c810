// Ranking a pool of passages that share no index: a collection's best chunks together with the
// chunks of fetched web pages. Both kinds are measured with one ruler computed over the pool
// itself: BM25 with the pool's own statistics (terms cut by the full-text index's tokenizer,
// Store::term_cutter), and cosine similarity under one embedder (the collection's, so a web
// chunk lands in the same vector space as the local ones). The two lists are fused by weighted
// RRF with a per-group cap, exactly as the retriever fuses its sides (index/hybrid.h).
//
// A passage may bring its similarity already (the retriever computed it exactly for its hits);
// the others are embedded here in one batch. When embedding fails (a provider down), the pool
// is ranked by BM25 alone and the result says so. Thread-safe: no shared state.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "index/embedder.h"
#include "index/hybrid.h"
#include "index/result.h"
#include "index/store.h"

namespace chaja {

struct PoolPassage {
  int64_t group = 0;  // passages of one document or page share a group; the cap counts groups
  std::string title;  // title and section: BM25's title column, and prefixed for embedding
  std::string text;
  std::optional<double> dense_score;  // known cosine with the query, else embedded here
};

struct PoolRankOptions {
  HybridOptions hybrid;
  // A passage only the dense side ranks is kept when its cosine reaches this (as the retriever).
  double min_dense_only_score = 0.1;
};

// Rows of dimension floats for the texts, L2-normalised (an Embedder, or a collection's).
using EmbedFn = std::function<Result<std::vector<float>>(const std::vector<std::string>& texts,
                                                         EmbedKind kind)>;

struct PoolRanking {
  // Best first, at most k, indexes into the pool with every score component.
  std::vector<RankedCandidate> ranked;  // chunk_id = pool index + 1, doc_id = group
  bool dense = false;                   // false: BM25 alone (no embedder, or it failed)
  std::optional<Error> dense_error;     // why the dense side is missing, when it failed
};

// `embed` may be empty: BM25 alone.
PoolRanking rank_pool(std::string_view query, const std::vector<PoolPassage>& pool,
                      Store::TermCutter& cutter, const EmbedFn& embed,
                      const PoolRankOptions& options, size_t k);

// The builtin embedder with statistics learnt from the pool's own texts: the vector space for a
// pool with no collection behind it (a web-only answer).
EmbedFn pool_builtin_embedder(const std::vector<PoolPassage>& pool);

// What the embedder sees of a passage (title line, then the text), as the retriever embeds chunks.
std::string pool_embedding_text(const PoolPassage& p);

}  // namespace chaja
