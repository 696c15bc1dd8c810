// The retriever: hybrid search over one collection. BM25 candidates from an in-memory lexical
// index (or FTS5), dense candidates from the collection's vector index (builtin embedder), every
// candidate re-scored exactly with the SIMD core, fused by weighted RRF, capped per document.
//
// Both in-memory sides are derived data, kept in step with the store by the collection's
// generation (bumped in every write transaction, by any process): when it has moved, the next
// search catches up from the store before it ranks. Chunks written since are added (ids only
// grow), chunks deleted are removed, so results never name a chunk that no longer exists and a
// `chaja index` run is seen by a running server. New chunks are embedded with the statistics
// learned at the last full build; once the rows added or removed since exceed a fifth of it,
// the side is rebuilt from scratch (statistics, vectors, postings together).
//
// A metadata filter (SearchRequest::filter, or one already resolved in `allowed`) is resolved to
// the documents it allows before either side looks: BM25 keeps only their chunks, the dense side
// scores a small allowed set's vectors exactly (SIMD, no ANN) and over-fetches from the index for
// a large one, so k results come back whenever k chunks match.
//
// Thread safety: search() may be called from any number of threads. Builds and catch-ups run one
// at a time per collection (searches of other collections go on); a catch-up excludes searches
// of its collection only while the changes are applied.
#pragma once

#include <atomic>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "index/embedder.h"
#include "index/hybrid.h"
#include "index/result.h"
#include "index/store.h"
#include "index/vector_index.h"

namespace chaja {

struct RetrieverOptions {
  size_t candidates = 50;  // taken from each side before fusion
  bool dense = true;       // false: BM25 only
  // The embedder of the dense side for a collection not bound to one yet: "builtin" (also for
  // ""), or a provider embedder registered in EmbedderRegistry::global()
  // ("ollama:nomic-embed-text"). A bound collection always uses its own (Store::bind_embedder).
  std::string embedder;
  // BM25 from the in-memory lexical index (fast); false: from FTS5 (the baseline it is
  // measured against, and exactly equal to it on a store with one collection).
  bool lexical_in_memory = true;
  // A candidate only the dense side found is kept when its exact cosine reaches this: below it,
  // the builtin embedder's hashed coordinates are noise (unrelated texts score about +-0.05).
  double min_dense_only_score = 0.1;
  // A metadata filter allowing at most this many chunks (or an eighth of the collection, if
  // more) has those chunks' vectors scored exactly; a larger allowed set over-fetches from the
  // index and drops the rest.
  size_t exact_filter_rows = 4096;
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

  // Embeds texts from outside the store into a collection's vector space, with the embedder its
  // dense side uses (the builtin one with the statistics it learnt, or the provider's): how a
  // fetched web page is ranked against the collection's own chunks. Rows of the collection's
  // dimension. kUnsupported with dense off, kNotFound for an unknown collection.
  Result<std::vector<float>> embed(const std::string& collection,
                                   const std::vector<std::string>& texts, EmbedKind kind);

  Store& store() { return store_; }

  // How many times a collection's side was built from scratch (not loaded from the cache, not
  // caught up incrementally), and how many incremental catch-ups ran.
  size_t rebuilds() const;
  size_t catch_ups() const;

  struct Side;

 private:
  Result<std::shared_ptr<Side>> side_for(const std::string& collection);
  Result<std::shared_ptr<Side>> build(const std::string& collection, int64_t generation,
                                      const std::string& embedder);
  // false: the side cannot be caught up (too many changes, or it disagrees with the store).
  Result<bool> catch_up(const std::string& collection, Side& side,
                        const CollectionCounters& counters);
  std::shared_ptr<Side> load_cached(const std::string& collection, int64_t generation,
                                    const std::string& embedder);
  bool save_cached(const std::string& collection, const Side& side) const;

  Store& store_;
  RetrieverOptions options_;
  // Per collection: its side, and the mutex that serialises that collection's builds and
  // catch-ups (and guards `side`).
  struct Slot {
    std::mutex update;
    std::shared_ptr<Side> side;
  };
  std::mutex mu_;  // guards the map only
  std::map<std::string, std::unique_ptr<Slot>> slots_;
  std::atomic<size_t> rebuilds_{0};
  std::atomic<size_t> catch_ups_{0};
};

}  // namespace chaja
