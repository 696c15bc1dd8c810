// The retriever: hybrid search over one collection. BM25 candidates from the store, dense
// candidates from the collection's vector index (builtin embedder), every candidate re-scored
// exactly with the SIMD core, fused by weighted RRF, capped per document.
//
// The dense side is derived data, rebuilt from the store whenever the collection's generation
// (bumped in every write transaction, by any process) has changed: results never name a chunk
// that no longer exists, and a `chaja index` run is seen by a running server. Statistics, vectors
// and the FAISS index are rebuilt together, so queries and documents are always embedded with
// the same statistics.
//
// Thread safety: search() may be called from any number of threads.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "index/hybrid.h"
#include "index/result.h"
#include "index/store.h"
#include "index/vector_index.h"

namespace chaja {

struct RetrieverOptions {
  size_t candidates = 50;  // taken from each side before fusion
  bool dense = true;       // false: BM25 only
  // A candidate only the dense side found is kept when its exact cosine reaches this: below it,
  // the builtin embedder's hashed coordinates are noise (unrelated texts score about +-0.05).
  double min_dense_only_score = 0.1;
  HybridOptions hybrid;
  VectorIndexOptions vectors;
  // Where to keep each collection's dense side between runs (<name>.faiss, .stats, .gen);
  // empty: in memory only. A saved side is used when its generation matches the store's;
  // a stale, missing or unreadable one is rebuilt from the store.
  std::filesystem::path cache_dir;
};

struct RetrievedHit {
  SearchHit hit;  // hit.score is the fused score
  size_t bm25_rank = 0;
  double bm25_score = 0;
  size_t dense_rank = 0;
  double dense_score = 0;
};

class Retriever {
 public:
  explicit Retriever(Store& store, RetrieverOptions options = {});
  ~Retriever();
  Retriever(const Retriever&) = delete;
  Retriever& operator=(const Retriever&) = delete;

  // kNotFound for an unknown collection; an empty list when nothing matches.
  Result<std::vector<RetrievedHit>> search(const SearchRequest& request);

  // How many times a dense side was rebuilt from the store (not loaded from the cache).
  size_t rebuilds() const;

  struct Dense;

 private:
  Result<std::shared_ptr<const Dense>> dense_for(const std::string& collection);
  std::shared_ptr<const Dense> load_cached(const std::string& collection, int64_t generation);
  void save_cached(const std::string& collection, const Dense& dense) const;

  Store& store_;
  RetrieverOptions options_;
  mutable std::mutex mu_;  // guards dense_ and rebuilds_, serialises rebuilds
  std::map<std::string, std::shared_ptr<const Dense>> dense_;
  size_t rebuilds_ = 0;
};

}  // namespace chaja
