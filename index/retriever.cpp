#include "index/retriever.h"

#include <cstdio>
#include <unordered_map>

#include "index/builtin_embedder.h"
#include "index/fs_util.h"
#include "index/simd/simd.h"

namespace chaja {

struct Retriever::Dense {
  int64_t generation = -1;
  std::shared_ptr<const FeatureStats> stats;
  std::unordered_map<int64_t, int64_t> doc_of;  // chunk id -> document id
  std::unique_ptr<BuiltinEmbedder> embedder;
  std::unique_ptr<VectorIndex> index;
};

Retriever::Retriever(Store& store, RetrieverOptions options) : store_(store), options_(options) {}
Retriever::~Retriever() = default;

Result<std::shared_ptr<const Retriever::Dense>> Retriever::dense_for(
    const std::string& collection) {
  std::lock_guard<std::mutex> lock(mu_);
  auto generation = store_.generation(collection);
  if (!generation) return generation.error();
  auto it = dense_.find(collection);
  if (it != dense_.end() && it->second->generation == *generation) return it->second;
  // Loaded or rebuilt, the side is the builtin embedder's: the collection must be bound to it.
  if (Status s = store_.bind_embedder(collection, "builtin", BuiltinEmbedder::kDefaultDimension);
      !s)
    return s.error();
  if (it == dense_.end() && !options_.cache_dir.empty()) {
    if (auto cached = load_cached(collection, *generation)) {
      dense_[collection] = cached;
      return cached;
    }
  }
  ++rebuilds_;

  // Rebuild: statistics from every chunk, then every chunk embedded with them.
  std::vector<int64_t> ids;
  std::vector<std::string> texts;
  std::unordered_map<int64_t, int64_t> doc_of;
  if (Status s = store_.for_each_chunk(collection,
                                       [&](const Store::ChunkRow& r) {
                                         ids.push_back(r.chunk_id);
                                         doc_of[r.chunk_id] = r.doc_id;
                                         texts.push_back(r.title + "\n" + r.text);
                                       });
      !s)
    return s.error();
  auto stats = std::make_shared<FeatureStats>();
  for (const std::string& t : texts) stats->add_document(t);
  auto dense = std::make_shared<Dense>();
  dense->generation = *generation;
  dense->doc_of = std::move(doc_of);
  dense->stats = stats;
  dense->embedder = std::make_unique<BuiltinEmbedder>(BuiltinEmbedder::kDefaultDimension, stats);
  auto index = VectorIndex::create(dense->embedder->dimension(), options_.vectors);
  if (!index) return index.error();
  dense->index = std::move(*index);
  const size_t d = dense->embedder->dimension();
  constexpr size_t kBatch = 1024;
  std::vector<float> rows(kBatch * d);
  for (size_t b = 0; b < ids.size(); b += kBatch) {
    const size_t n = std::min(kBatch, ids.size() - b);
    for (size_t i = 0; i < n; ++i) dense->embedder->embed_one(texts[b + i], rows.data() + i * d);
    if (Status s = dense->index->add(ids.data() + b, rows.data(), n); !s) return s.error();
  }
  dense_[collection] = dense;
  if (!options_.cache_dir.empty()) save_cached(collection, *dense);
  return std::shared_ptr<const Dense>(dense);
}

size_t Retriever::rebuilds() const {
  std::lock_guard<std::mutex> lock(mu_);
  return rebuilds_;
}

// The cache is an optimisation: any failure to save is ignored (the next start rebuilds), and any
// doubt when loading (missing file, other generation, wrong sizes) means "rebuild".
void Retriever::save_cached(const std::string& collection, const Dense& dense) const {
  std::error_code ec;
  std::filesystem::create_directories(options_.cache_dir, ec);
  if (ec) return;
  const auto base = options_.cache_dir / collection;
  // The generation file is written last: it is what makes the other two count.
  if (!dense.index->save(base.string() + ".faiss")) return;
  if (!write_file_atomic(base.string() + ".stats", dense.stats->serialize())) return;
  (void)write_file_atomic(base.string() + ".gen", std::to_string(dense.generation) + " " +
                                                      std::to_string(dense.index->dimension()) +
                                                      " " + std::to_string(dense.index->size()));
}

std::shared_ptr<const Retriever::Dense> Retriever::load_cached(const std::string& collection,
                                                               int64_t generation) {
  const auto base = options_.cache_dir / collection;
  auto gen = read_file_bytes(base.string() + ".gen", 256);
  if (!gen) return nullptr;
  long long saved_generation = -1;
  size_t dimension = 0, count = 0;
  if (std::sscanf(gen->c_str(), "%lld %zu %zu", &saved_generation, &dimension, &count) != 3 ||
      saved_generation != generation || dimension != BuiltinEmbedder::kDefaultDimension)
    return nullptr;
  auto index = VectorIndex::load(base.string() + ".faiss", dimension, options_.vectors);
  if (!index || (*index)->size() != count) return nullptr;
  auto stats_bytes = read_file_bytes(base.string() + ".stats", 64u << 20);
  if (!stats_bytes) return nullptr;
  auto stats = FeatureStats::deserialize(*stats_bytes);
  if (!stats) return nullptr;
  auto dense = std::make_shared<Dense>();
  dense->generation = generation;
  if (!store_.for_each_chunk(
          collection, [&](const Store::ChunkRow& r) { dense->doc_of[r.chunk_id] = r.doc_id; }))
    return nullptr;
  if (dense->doc_of.size() != count) return nullptr;
  dense->stats = std::make_shared<const FeatureStats>(std::move(*stats));
  dense->embedder = std::make_unique<BuiltinEmbedder>(dimension, dense->stats);
  dense->index = std::move(*index);
  return dense;
}

Result<std::vector<RetrievedHit>> Retriever::search(const SearchRequest& request) {
  const size_t n = std::max(options_.candidates, request.k);
  const size_t cap = options_.hybrid.per_document_cap;
  SearchRequest lexical = request;
  lexical.k = n;
  lexical.per_document_cap = cap;
  auto bm25 = store_.search(lexical);
  if (!bm25) return bm25.error();

  std::unordered_map<int64_t, RankedCandidate> candidates;
  std::unordered_map<int64_t, SearchHit> hits;
  for (size_t i = 0; i < bm25->size(); ++i) {
    SearchHit& h = (*bm25)[i];
    RankedCandidate& c = candidates[h.chunk_id];
    c.chunk_id = h.chunk_id;
    c.doc_id = h.doc_id;
    c.bm25_rank = i + 1;
    c.bm25_score = h.score;
    hits[h.chunk_id] = std::move(h);
  }

  if (options_.dense) {
    auto dense = dense_for(request.collection);
    if (!dense) return dense.error();
    const Dense& dn = **dense;
    const size_t d = dn.embedder->dimension();
    std::vector<float> q(d), v(d);
    dn.embedder->embed_one(request.query, q.data());
    // Over-fetch, then keep at most `cap` chunks per document, as on the BM25 side.
    std::vector<int64_t> missing;
    std::unordered_map<int64_t, size_t> per_doc;
    size_t taken = 0;
    for (const VectorHit& vh : dn.index->search(q.data(), cap > 0 ? n * 4 : n)) {
      auto doc = dn.doc_of.find(vh.id);
      if (doc == dn.doc_of.end()) continue;
      if (cap > 0 && per_doc[doc->second]++ >= cap) continue;
      if (++taken > n) break;
      if (!hits.count(vh.id)) missing.push_back(vh.id);
    }
    auto more = store_.chunks_by_id(missing);  // chunks deleted meanwhile simply do not come back
    if (!more) return more.error();
    for (SearchHit& h : *more) {
      RankedCandidate& c = candidates[h.chunk_id];
      c.chunk_id = h.chunk_id;
      c.doc_id = h.doc_id;
      hits[h.chunk_id] = std::move(h);
    }
    // Exact similarity for every candidate, whatever side found it (IVF ranks are estimates).
    for (auto& [id, c] : candidates)
      c.dense_score = dn.index->reconstruct(id, v.data()) ? simd::dot(q.data(), v.data(), d) : 0.0;
  }

  std::vector<RankedCandidate> list;
  list.reserve(candidates.size());
  for (auto& [id, c] : candidates)
    if (c.bm25_rank > 0 || (options_.dense && c.dense_score >= options_.min_dense_only_score))
      list.push_back(c);
  HybridOptions hybrid = options_.hybrid;
  if (!options_.dense) hybrid.dense_weight = 0;
  std::vector<RetrievedHit> out;
  for (const RankedCandidate& c : fuse(std::move(list), hybrid, request.k)) {
    RetrievedHit r;
    r.hit = std::move(hits[c.chunk_id]);
    r.hit.score = c.fused;
    r.bm25_rank = c.bm25_rank;
    r.bm25_score = c.bm25_score;
    r.dense_rank = options_.dense ? c.dense_rank : 0;
    r.dense_score = c.dense_score;
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace chaja
