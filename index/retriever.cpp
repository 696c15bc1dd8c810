#include "index/retriever.h"

#include <algorithm>
#include <cstdio>
#include <shared_mutex>
#include <unordered_map>
#include <unordered_set>

#include "index/builtin_embedder.h"
#include "index/fs_util.h"
#include "index/lexical_index.h"
#include "index/simd/simd.h"
#include "index/tokenizer.h"

namespace chaja {

// One collection's in-memory sides, at one generation of the store.
struct Retriever::Side {
  mutable std::shared_mutex rw;  // searches share it; applying a catch-up takes it alone
  int64_t generation = -1;
  int64_t max_chunk_id = 0;     // every chunk up to this id has been seen
  int64_t removed_chunks = -1;  // the store's deleted-chunk count when last in step (-1: unknown)
  std::unordered_map<int64_t, int64_t> doc_of;  // chunk id -> document id
  LexicalIndex lexical;
  // The dense side's embedder: the builtin one (with the statistics it learnt), or a provider's.
  std::string embedder_name;
  std::shared_ptr<const FeatureStats> stats;  // builtin only
  std::unique_ptr<BuiltinEmbedder> embedder;  // builtin only
  std::unique_ptr<Embedder> provider;         // a provider embedder (network calls)
  std::unique_ptr<VectorIndex> index;
  size_t built_rows = 0;  // rows the statistics were learned from
  size_t changed = 0;     // rows added or removed since
  size_t unsaved = 0;     // rows added or removed since the cache was written
  // Chunks deleted but still in the vector index: searches skip them (they are not in doc_of),
  // and they are removed from FAISS in batches, since each removal compacts its whole array.
  std::vector<int64_t> dead_vectors;

  size_t dimension() const { return provider ? provider->dimension() : embedder->dimension(); }
  // Rows of dimension() floats, one per text. Reads only the statistics or the provider:
  // safe while searches run.
  Result<std::vector<float>> embed(const std::vector<std::string>& texts, EmbedKind kind) const {
    if (texts.empty()) return std::vector<float>{};
    if (provider) {
      auto rows = provider->embed(texts, kind);
      if (!rows) {
        Error e = rows.error();
        e.message = "embedding with " + embedder_name + ": " + e.message;
        return e;
      }
      if (rows->size() != texts.size() * index->dimension())
        return make_error(
            ErrorKind::kUpstream,
            embedder_name + " returned vectors of another dimension than the collection's");
      return rows;
    }
    const size_t d = embedder->dimension();
    std::vector<float> out(texts.size() * d);
    for (size_t i = 0; i < texts.size(); ++i) embedder->embed_one(texts[i], &out[i * d]);
    return out;
  }
};

namespace {

// Rows added or removed since the statistics were learned, past which a full rebuild is due.
bool stale_statistics(size_t built_rows, size_t changed) {
  return changed > 64 && changed * 5 > built_rows;
}

// A chunk read from the store, cut and (with dense on) embedded, ready to be applied.
struct Prepared {
  std::vector<int64_t> ids, docs;
  std::vector<std::vector<std::string>> title_terms, body_terms;
  std::vector<std::string> texts;  // title + body, what the embedder sees
};

}  // namespace

Retriever::Retriever(Store& store, RetrieverOptions options) : store_(store), options_(options) {}
Retriever::~Retriever() = default;

size_t Retriever::rebuilds() const {
  return rebuilds_;
}

size_t Retriever::catch_ups() const {
  return catch_ups_;
}

Result<std::shared_ptr<Retriever::Side>> Retriever::side_for(const std::string& collection) {
  Slot* slot = nullptr;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = slots_.find(collection);
    if (it != slots_.end()) slot = it->second.get();  // slots live as long as the retriever
  }
  if (slot == nullptr) {
    // An unknown collection is an error before it gets a slot (checked once per collection).
    if (auto known = store_.counters(collection); !known) return known.error();
    std::lock_guard<std::mutex> lock(mu_);
    auto& s = slots_[collection];
    if (!s) s = std::make_unique<Slot>();
    slot = s.get();
  }
  // One collection's build or catch-up at a time; other collections go on meanwhile (a
  // provider embedder's network calls hold only this).
  std::lock_guard<std::mutex> lock(slot->update);
  std::shared_ptr<Side>& side = slot->side;
  // Read before the rows: a write committed meanwhile bumps it again, and is caught up next time.
  auto counters = store_.counters(collection);
  if (!counters) return counters.error();
  const int64_t generation = counters->generation;
  // A collection keeps the embedder its vectors came from; the option names the one for a
  // collection not bound yet.
  std::string embedder = options_.embedder.empty() ? "builtin" : options_.embedder;
  if (side) {
    embedder = side->embedder_name;
  } else if (options_.dense) {
    auto bound = store_.bound_embedder(collection);
    if (!bound) return bound.error();
    if (!bound->empty()) embedder = *bound;
  }
  if (!side && options_.dense && !options_.cache_dir.empty())
    side = load_cached(collection, generation, embedder);
  if (side) {
    if (side->generation == generation) return side;
    auto caught = catch_up(collection, *side, *counters);
    // A provider embedder that cannot embed the new chunks right now: the side as it is still
    // answers (texts are read from the store, so nothing deleted is shown), and the next
    // search tries again.
    if (!caught && side->provider) return side;
    if (!caught) return caught.error();
    if (*caught) return side;
  }
  auto built = build(collection, generation, embedder);
  if (!built) return built.error();
  (*built)->removed_chunks = counters->removed_chunks;
  side = *built;  // searches still holding the old side finish with it
  return side;
}

namespace {

// Reads the chunks above after_id, cut into the full-text index's terms when cut is set.
Result<Prepared> read_rows(Store& store, const std::string& collection, int64_t after_id,
                           bool keep_texts, bool cut) {
  auto cutter = store.term_cutter();
  if (!cutter) return cutter.error();
  Prepared p;
  Status s = store.for_each_chunk(
      collection,
      [&](const Store::ChunkRow& r) {
        p.ids.push_back(r.chunk_id);
        p.docs.push_back(r.doc_id);
        p.title_terms.emplace_back();
        p.body_terms.emplace_back();
        if (cut) {
          (*cutter)->cut(r.title, p.title_terms.back());
          (*cutter)->cut(r.text, p.body_terms.back());
        }
        if (keep_texts) p.texts.push_back(r.title + "\n" + r.text);
      },
      after_id);
  if (!s) return s.error();
  return p;
}

}  // namespace

Result<std::shared_ptr<Retriever::Side>> Retriever::build(const std::string& collection,
                                                          int64_t generation,
                                                          const std::string& embedder) {
  ++rebuilds_;
  auto rows = read_rows(store_, collection, 0, options_.dense, options_.lexical_in_memory);
  if (!rows) return rows.error();
  auto side = std::make_shared<Side>();
  side->generation = generation;
  side->built_rows = rows->ids.size();
  for (size_t i = 0; i < rows->ids.size(); ++i) {
    side->doc_of[rows->ids[i]] = rows->docs[i];
    if (options_.lexical_in_memory)
      side->lexical.add(rows->ids[i], rows->docs[i], rows->title_terms[i], rows->body_terms[i]);
    side->max_chunk_id = std::max(side->max_chunk_id, rows->ids[i]);
  }
  if (options_.dense) {
    side->embedder_name = embedder;
    size_t dimension = BuiltinEmbedder::kDefaultDimension;
    if (embedder != "builtin") {
      auto made = EmbedderRegistry::global().create(embedder);
      if (!made) return made.error();
      side->provider = std::move(*made);
      dimension = side->provider->dimension();
      if (dimension == 0)
        return make_error(ErrorKind::kUpstream,
                          "cannot learn the dimension of " + embedder + "'s vectors");
    }
    // The collection keeps the embedder its vectors came from: another is a clear conflict.
    // Bound once: a rebuild does not take the store's write lock again.
    auto bound = store_.bound_embedder(collection);
    if (!bound) return bound.error();
    if (*bound != embedder)
      if (Status s = store_.bind_embedder(collection, embedder, dimension); !s) return s.error();
    if (!side->provider) {
      // Statistics from every chunk, then every chunk embedded with them.
      auto stats = std::make_shared<FeatureStats>();
      for (const std::string& t : rows->texts) stats->add_document(t);
      side->stats = stats;
      side->embedder = std::make_unique<BuiltinEmbedder>(dimension, stats);
    }
    auto index = VectorIndex::create(dimension, options_.vectors);
    if (!index) return index.error();
    side->index = std::move(*index);
    auto vectors = side->embed(rows->texts, EmbedKind::kDocument);
    if (!vectors) return vectors.error();
    if (Status s = side->index->add(rows->ids.data(), vectors->data(), rows->ids.size()); !s)
      return s.error();
  }
  if (options_.dense && !options_.cache_dir.empty()) save_cached(collection, *side);
  return side;
}

Result<bool> Retriever::catch_up(const std::string& collection, Side& side,
                                 const CollectionCounters& counters) {
  // Deleted chunks are found by a pass over the collection's ids, needed only when the store
  // counted deletions since the side was last in step (appends alone cost only their rows).
  std::vector<int64_t> removed;
  if (counters.removed_chunks != side.removed_chunks) {
    auto current = store_.chunk_ids(collection);
    if (!current) return current.error();
    std::unordered_set<int64_t> present;
    present.reserve(current->size());
    for (const auto& [chunk, doc] : *current) {
      present.insert(chunk);
      // Ids only grow: a chunk at or below the highest seen must be known already.
      if (chunk <= side.max_chunk_id && side.doc_of.count(chunk) == 0) return false;
    }
    for (const auto& [chunk, doc] : side.doc_of)
      if (present.count(chunk) == 0) removed.push_back(chunk);
  }
  auto added =
      read_rows(store_, collection, side.max_chunk_id, options_.dense, options_.lexical_in_memory);
  if (!added) return added.error();
  const size_t changes = removed.size() + added->ids.size();
  // Only the builtin embedder learnt statistics; a provider's vectors never go stale (and
  // rebuilding would send every chunk to it again).
  if (!side.provider && stale_statistics(side.built_rows, side.changed + changes)) return false;
  // Embedding reads only the statistics: searches go on meanwhile.
  auto embedded = options_.dense ? side.embed(added->texts, EmbedKind::kDocument)
                                 : Result<std::vector<float>>(std::vector<float>{});
  if (!embedded) return embedded.error();
  const std::vector<float>& vectors = *embedded;
  {
    std::unique_lock<std::shared_mutex> apply(side.rw);
    for (const int64_t id : removed) {
      side.doc_of.erase(id);
      side.lexical.remove(id);
    }
    if (side.index) {
      side.dead_vectors.insert(side.dead_vectors.end(), removed.begin(), removed.end());
      if (side.dead_vectors.size() > std::max<size_t>(256, side.index->size() / 20)) {
        if (auto r = side.index->remove(side.dead_vectors); !r) return r.error();
        side.dead_vectors.clear();
      }
      if (Status s = side.index->add(added->ids.data(), vectors.data(), added->ids.size()); !s)
        return s.error();
    }
    for (size_t i = 0; i < added->ids.size(); ++i) {
      side.doc_of[added->ids[i]] = added->docs[i];
      if (options_.lexical_in_memory)
        side.lexical.add(added->ids[i], added->docs[i], added->title_terms[i],
                         added->body_terms[i]);
      side.max_chunk_id = std::max(side.max_chunk_id, added->ids[i]);
    }
    side.generation = counters.generation;
    side.removed_chunks = counters.removed_chunks;
    side.changed += changes;
    side.unsaved += changes;
  }
  ++catch_ups_;
  // The cache is rewritten once enough has changed that loading it would leave much to redo.
  if (side.index && !options_.cache_dir.empty() && side.unsaved * 20 > side.doc_of.size() &&
      save_cached(collection, side))
    side.unsaved = 0;
  return true;
}

// The cache is an optimisation: any failure to save is ignored (the next start rebuilds), and any
// doubt when loading (missing file, wrong sizes, disagreement with the store) means "rebuild".
bool Retriever::save_cached(const std::string& collection, const Side& side) const {
  std::error_code ec;
  std::filesystem::create_directories(options_.cache_dir, ec);
  if (ec) return false;
  const auto base = options_.cache_dir / collection;
  // The generation file is written last: it is what makes the other two count.
  if (!side.index->save(base.string() + ".faiss")) return false;
  if (side.stats && !write_file_atomic(base.string() + ".stats", side.stats->serialize()))
    return false;
  char line[256];
  std::snprintf(line, sizeof line, "%s %lld %zu %zu %zu %zu %lld ", store_.id().c_str(),
                static_cast<long long>(side.generation), side.index->dimension(),
                side.index->size(), side.built_rows, side.changed,
                static_cast<long long>(side.max_chunk_id));
  return write_file_atomic(base.string() + ".gen", line + side.embedder_name).ok();
}

// A saved side, at the generation it was saved: side_for then catches it up with the store.
std::shared_ptr<Retriever::Side> Retriever::load_cached(const std::string& collection,
                                                        int64_t generation,
                                                        const std::string& embedder) {
  const auto base = options_.cache_dir / collection;
  auto gen = read_file_bytes(base.string() + ".gen", 512);
  if (!gen) return nullptr;
  long long saved_generation = -1, max_chunk_id = 0;
  size_t dimension = 0, count = 0, built_rows = 0, changed = 0;
  int consumed = 0;
  char store_id[65] = {0};
  if (std::sscanf(gen->c_str(), "%64s %lld %zu %zu %zu %zu %lld %n", store_id, &saved_generation,
                  &dimension, &count, &built_rows, &changed, &max_chunk_id, &consumed) != 7 ||
      store_id != store_.id() || saved_generation > generation ||
      gen->substr(static_cast<size_t>(consumed)) != embedder || dimension == 0)
    return nullptr;
  auto index = VectorIndex::load(base.string() + ".faiss", dimension, options_.vectors);
  if (!index || (*index)->size() != count) return nullptr;
  auto side = std::make_shared<Side>();
  side->embedder_name = embedder;
  if (embedder == "builtin") {
    auto stats_bytes = read_file_bytes(base.string() + ".stats", 64u << 20);
    if (!stats_bytes) return nullptr;
    auto stats = FeatureStats::deserialize(*stats_bytes);
    if (!stats || dimension != BuiltinEmbedder::kDefaultDimension) return nullptr;
    side->stats = std::make_shared<const FeatureStats>(std::move(*stats));
    side->embedder = std::make_unique<BuiltinEmbedder>(dimension, side->stats);
  } else {
    auto made = EmbedderRegistry::global().create(embedder);
    if (!made) return nullptr;
    side->provider = std::move(*made);
  }
  side->generation = saved_generation;
  side->max_chunk_id = max_chunk_id;
  side->built_rows = built_rows;
  side->changed = changed;
  // Chunks deleted since the save keep a placeholder document: the catch-up removes them.
  for (const int64_t id : (*index)->ids()) {
    if (id > max_chunk_id) return nullptr;
    side->doc_of[id] = 0;
  }
  // The postings are not cached: they are cut again from the store for the chunks saved.
  auto rows = read_rows(store_, collection, 0, false, options_.lexical_in_memory);
  if (!rows) return nullptr;
  for (size_t i = 0; i < rows->ids.size(); ++i) {
    auto it = side->doc_of.find(rows->ids[i]);
    if (it == side->doc_of.end()) continue;
    it->second = rows->docs[i];
    if (options_.lexical_in_memory)
      side->lexical.add(rows->ids[i], rows->docs[i], rows->title_terms[i], rows->body_terms[i]);
  }
  // Saved vectors of chunks the store no longer has: skipped by searches from now on, removed
  // from the index with the next batch.
  for (auto it = side->doc_of.begin(); it != side->doc_of.end();) {
    if (it->second != 0) {
      ++it;
      continue;
    }
    side->dead_vectors.push_back(it->first);
    it = side->doc_of.erase(it);
  }
  side->index = std::move(*index);
  return side;
}

Result<std::vector<float>> Retriever::embed(const std::string& collection,
                                            const std::vector<std::string>& texts, EmbedKind kind) {
  if (!options_.dense)
    return make_error(ErrorKind::kUnsupported, "the dense side is off: nothing embeds");
  auto side = side_for(collection);
  if (!side) return side.error();
  return (*side)->embed(texts, kind);
}

Result<std::vector<RetrievedHit>> Retriever::search(const SearchRequest& request) {
  const size_t n = std::max(options_.candidates, request.k);
  const size_t cap = options_.hybrid.per_document_cap;
  // A metadata filter is resolved to the documents it allows once, before either side looks;
  // both then take only those.
  std::shared_ptr<const AllowedDocuments> allowed = request.allowed;
  if (!allowed && !request.filter.empty()) {
    auto resolved = store_.filter_documents(request.collection, request.filter);
    if (!resolved) return resolved.error();
    allowed = std::make_shared<const AllowedDocuments>(std::move(*resolved));
  }
  if (allowed && allowed->docs.empty()) return std::vector<RetrievedHit>{};
  std::shared_ptr<Side> side;
  if (options_.dense || options_.lexical_in_memory) {
    auto s = side_for(request.collection);
    if (!s) return s.error();
    side = std::move(*s);
  }
  // The query is embedded before the lock: a provider's network call must not hold it.
  Result<std::vector<float>> query_vector = std::vector<float>{};
  if (options_.dense) query_vector = side->embed({request.query}, EmbedKind::kQuery);
  std::shared_lock<std::shared_mutex> reading;
  if (side) reading = std::shared_lock<std::shared_mutex>(side->rw);

  std::unordered_map<int64_t, RankedCandidate> candidates;
  auto add_lexical = [&](size_t rank, int64_t chunk, int64_t doc, double score) {
    RankedCandidate& c = candidates[chunk];
    c.chunk_id = chunk;
    c.doc_id = doc;
    c.bm25_rank = rank;
    c.bm25_score = score;
  };
  // A BM25 weight of zero is dense retrieval alone: BM25 then adds no candidates either (they
  // would bring chunks the dense side did not find, and keep ones below its noise floor).
  const bool lexical = options_.hybrid.bm25_weight > 0;
  if (lexical && options_.lexical_in_memory) {
    // The query's terms as FTS5 would cut them (stemmed), de-duplicated.
    auto cutter = store_.term_cutter();
    if (!cutter) return cutter.error();
    std::vector<std::string> terms;
    for (const std::string& t : query_terms(request.query)) (*cutter)->cut(t, terms);
    std::unordered_set<std::string> seen;
    terms.erase(std::remove_if(terms.begin(), terms.end(),
                               [&](const std::string& t) { return !seen.insert(t).second; }),
                terms.end());
    const auto hits = side->lexical.search(terms, n, cap, allowed ? &allowed->docs : nullptr);
    for (size_t i = 0; i < hits.size(); ++i)
      add_lexical(i + 1, hits[i].chunk_id, hits[i].doc_id, hits[i].score);
  } else if (lexical) {
    SearchRequest fts = request;
    fts.k = n;
    fts.per_document_cap = cap;
    fts.allowed = allowed;
    auto hits = store_.search(fts);
    if (!hits) return hits.error();
    for (size_t i = 0; i < hits->size(); ++i)
      add_lexical(i + 1, (*hits)[i].chunk_id, (*hits)[i].doc_id, (*hits)[i].score);
  }

  // A provider embedder that fails for the query leaves the dense side out of this search
  // (BM25 still answers; --explain shows no dense ranks) rather than failing it.
  bool dense_ok = false;
  size_t d = 0;
  std::vector<float> q, v;
  if (options_.dense) {
    d = side->index->dimension();
    if (query_vector) q = std::move(*query_vector);
    v.resize(d);
    dense_ok = q.size() == d;
  }
  if (dense_ok) {
    // Over-fetch, then keep at most `cap` chunks per document, as on the BM25 side.
    const size_t fetch = cap > 0 ? n * 4 : n;
    auto usable = [&](const VectorHit& vh) {
      auto doc = side->doc_of.find(vh.id);
      return doc != side->doc_of.end() && (!allowed || allowed->allows(doc->second));
    };
    std::vector<VectorHit> found;
    const size_t total = side->index->size();
    if (!allowed) {
      found = side->index->search(q.data(), fetch);
    } else if (allowed->chunks.size() <= std::max(options_.exact_filter_rows, total / 8)) {
      // A small allowed set: its vectors scored exactly, so k come back however few they are.
      found = side->index->search_among(q.data(), allowed->chunks, fetch);
    } else {
      // A large one (over an eighth): the index searched for `fetch` over the allowed share,
      // four times more each round until enough pass the filter or the index is exhausted.
      size_t want = std::min(total, fetch * total / allowed->chunks.size() + fetch);
      for (;;) {
        found = side->index->search(q.data(), want);
        if (want >= total ||
            static_cast<size_t>(std::count_if(found.begin(), found.end(), usable)) >= fetch)
          break;
        want = std::min(total, want * 4);
      }
    }
    std::unordered_map<int64_t, size_t> per_doc;
    size_t taken = 0;
    for (const VectorHit& vh : found) {
      if (!usable(vh)) continue;
      auto doc = side->doc_of.find(vh.id);
      if (cap > 0 && per_doc[doc->second]++ >= cap) continue;
      if (++taken > n) break;
      RankedCandidate& c = candidates[vh.id];
      c.chunk_id = vh.id;
      c.doc_id = doc->second;
    }
    // Exact similarity for every candidate, whatever side found it (IVF ranks are estimates).
    for (auto& [id, c] : candidates)
      c.dense_score =
          side->index->reconstruct(id, v.data()) ? simd::dot(q.data(), v.data(), d) : 0.0;
  }
  reading = {};

  std::vector<RankedCandidate> list;
  list.reserve(candidates.size());
  for (auto& [id, c] : candidates)
    if (c.bm25_rank > 0 || (dense_ok && c.dense_score >= options_.min_dense_only_score))
      list.push_back(c);
  HybridOptions hybrid = options_.hybrid;
  if (!dense_ok) hybrid.dense_weight = 0;
  // A few spare: a chunk deleted since the side was read is skipped, not shown.
  const std::vector<RankedCandidate> fused = fuse(std::move(list), hybrid, request.k + 4);
  std::vector<int64_t> ids;
  for (const RankedCandidate& c : fused) ids.push_back(c.chunk_id);
  auto rows = store_.chunks_by_id(ids);
  if (!rows) return rows.error();
  std::unordered_map<int64_t, SearchHit*> by_id;
  for (SearchHit& h : *rows) by_id[h.chunk_id] = &h;
  std::vector<RetrievedHit> out;
  for (const RankedCandidate& c : fused) {
    auto it = by_id.find(c.chunk_id);
    if (it == by_id.end()) continue;
    if (out.size() == request.k) break;
    RetrievedHit r;
    r.hit = std::move(*it->second);
    r.hit.score = c.fused;
    r.bm25_rank = c.bm25_rank;
    r.bm25_score = c.bm25_score;
    r.dense_rank = dense_ok ? c.dense_rank : 0;
    r.dense_score = c.dense_score;
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace chaja
