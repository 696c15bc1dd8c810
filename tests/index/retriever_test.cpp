#include "index/retriever.h"

#include <atomic>
#include <catch2/catch.hpp>
#include <fstream>
#include <thread>

#include "index/embedder.h"
#include "index/test_util.h"

using namespace chaja;

namespace {

DocumentInput doc(const std::string& source, const std::string& title, const std::string& text) {
  DocumentInput d;
  d.source = source;
  d.title = title;
  d.text = text;
  return d;
}

int64_t put(Store& store, const DocumentInput& d) {
  auto r = store.put(d, chunk_text(d.text));
  REQUIRE(r.ok());
  return r->doc_id;
}

std::vector<RetrievedHit> search(Retriever& r, const std::string& q, size_t k = 5) {
  SearchRequest req;
  req.query = q;
  req.k = k;
  auto hits = r.search(req);
  REQUIRE(hits.ok());
  return *hits;
}

}  // namespace

TEST_CASE("the dense side finds what BM25 cannot match; explain shows both", "[retriever]") {
  auto store = *Store::open("");
  put(*store, doc("a", "Greywick Point", "The Greywick lighthouse was automated in 1968."));
  put(*store, doc("b", "Tea", "보성 녹차 축제는 매년 5월에 열린다."));
  Retriever retriever(*store);
  // Misspelt words: no BM25 term matches, but they share character n-grams with the text.
  const auto typo = search(retriever, "Greywik lighthose automatd");
  REQUIRE(typo.size() == 1);  // unrelated texts fall below the dense-only threshold
  CHECK(typo[0].hit.source == "a");
  CHECK(typo[0].bm25_rank == 0);
  CHECK(typo[0].dense_rank == 1);
  // A query both sides match carries both ranks and a fused score.
  const auto both = search(retriever, "Greywick lighthouse automated");
  REQUIRE_FALSE(both.empty());
  CHECK(both[0].hit.source == "a");
  CHECK(both[0].bm25_rank == 1);
  CHECK(both[0].dense_rank == 1);
  CHECK(both[0].hit.score == Approx(2.0 / 61.0));
  CHECK(both[0].dense_score > 0.2);
}

TEST_CASE("deleted and replaced chunks never come back; other writers are seen", "[retriever]") {
  test::TempDir dir;
  auto store = *Store::open(dir.path());
  const int64_t id =
      put(*store, doc("k", "Kettle", "The Vantor kettle boils one litre in 94 seconds."));
  Retriever retriever(*store);
  REQUIRE_FALSE(search(retriever, "Vantor kettle").empty());
  REQUIRE(store->remove(id).ok());
  for (const auto& h : search(retriever, "Vantor kettle boils")) CHECK(h.hit.doc_id != id);
  // Another process (here: another connection) writes; the generation tells the retriever.
  {
    auto other = *Store::open(dir.path());
    put(*other, doc("m", "Mixer", "The Orrin mixer kneads dough for eight minutes."));
  }
  const auto found = search(retriever, "Orrin mixer");
  REQUIRE_FALSE(found.empty());
  CHECK(found[0].hit.source == "m");
  CHECK(found[0].dense_rank >= 1);
}

TEST_CASE("one document cannot fill every slot", "[retriever]") {
  auto store = *Store::open("");
  std::string longtext;
  for (int i = 0; i < 60; ++i)
    longtext += "Falcon engine test number " + std::to_string(i) + " burned liquid oxygen. ";
  ChunkOptions small;
  small.target_chars = 120;
  small.max_chars = 200;
  DocumentInput big = doc("big", "Falcon log", longtext);
  REQUIRE(store->put(big, chunk_text(big.text, small)).ok());
  put(*store,
      doc("other", "Falcon summary", "The Falcon engine program tested liquid oxygen engines."));
  Retriever retriever(*store);
  const auto hits = search(retriever, "Falcon engine liquid oxygen", 5);
  size_t from_big = 0;
  bool other = false;
  for (const auto& h : hits) {
    from_big += h.hit.source == "big";
    other = other || h.hit.source == "other";
  }
  CHECK(from_big <= 2);
  CHECK(other);
}

TEST_CASE("a BM25 weight of zero is dense retrieval alone", "[retriever]") {
  auto store = *Store::open("");
  put(*store, doc("a", "Greywick Point", "The Greywick lighthouse was automated in 1968."));
  put(*store, doc("b", "Harbour", "Greywick harbour ferries leave every forty minutes."));
  put(*store, doc("c", "Tea", "보성 녹차 축제는 매년 5월에 열린다."));
  RetrieverOptions dense_only;
  dense_only.hybrid.bm25_weight = 0;
  Retriever hybrid(*store), dense(*store, dense_only);
  const auto mixed = search(hybrid, "Greywick lighthouse automated");
  REQUIRE_FALSE(mixed.empty());
  CHECK(mixed[0].bm25_rank == 1);
  const auto hits = search(dense, "Greywick lighthouse automated");
  REQUIRE_FALSE(hits.empty());
  CHECK(hits[0].hit.source == "a");
  for (size_t i = 0; i < hits.size(); ++i) {
    CHECK(hits[i].bm25_rank == 0);  // BM25 brought no candidate
    CHECK(hits[i].dense_rank == i + 1);
    CHECK(hits[i].dense_score >= 0.1);  // only what clears the dense side's noise floor
  }
}

TEST_CASE("an unknown collection is not found", "[retriever]") {
  auto store = *Store::open("");
  Retriever retriever(*store);
  SearchRequest req;
  req.query = "x";
  req.collection = "nope";
  CHECK(retriever.search(req).error().kind == ErrorKind::kNotFound);
}

TEST_CASE("the dense side is saved beside the store and caught up when stale", "[retriever]") {
  test::TempDir dir;
  auto store = *Store::open(dir.path());
  put(*store, doc("a", "Greywick Point", "The Greywick lighthouse was automated in 1968."));
  RetrieverOptions options;
  options.cache_dir = dir.path() / "vectors";
  {
    Retriever first(*store, options);
    REQUIRE_FALSE(search(first, "Greywick lighthouse").empty());
    CHECK(first.rebuilds() == 1);
  }
  for (const char* ext : {".faiss", ".stats", ".gen"})
    CHECK(std::filesystem::exists(options.cache_dir / (std::string(kDefaultCollection) + ext)));
  {
    Retriever second(*store, options);  // a restart: loads instead of rebuilding
    const auto hits = search(second, "Greywik lighthose automatd");
    REQUIRE(hits.size() == 1);
    CHECK(hits[0].dense_rank == 1);
    CHECK(second.rebuilds() == 0);
  }
  put(*store, doc("b", "Mixer", "The Orrin mixer kneads dough for eight minutes."));
  {
    Retriever third(*store, options);  // the saved side is stale: loaded, then caught up
    const auto hits = search(third, "Orrin mixer");
    REQUIRE_FALSE(hits.empty());
    CHECK(hits[0].hit.source == "b");
    CHECK(hits[0].dense_rank == 1);
    CHECK(third.rebuilds() == 0);
    CHECK(third.catch_ups() == 1);
  }
  {
    // Another store (chaja.db deleted and made again) never takes this store's saved vectors,
    // even at the same generation.
    test::TempDir other_dir;
    auto other = *Store::open(other_dir.path());
    put(*other, doc("a", "Greywick Point", "The Greywick lighthouse was automated in 1968."));
    put(*other, doc("b", "Mixer", "The Orrin mixer kneads dough for eight minutes."));
    CHECK(other->id() != store->id());
    Retriever foreign(*other, options);
    CHECK_FALSE(search(foreign, "Orrin mixer").empty());
    CHECK(foreign.rebuilds() == 1);
  }
  // A damaged cache file is never trusted.
  std::ofstream(options.cache_dir / (std::string(kDefaultCollection) + ".faiss")) << "garbage";
  Retriever fourth(*store, options);
  CHECK(search(fourth, "Orrin mixer")[0].hit.source == "b");
  CHECK(fourth.rebuilds() == 1);
}

TEST_CASE("a collection keeps its embedder; one not available here is a clear error",
          "[retriever]") {
  auto store = *Store::open("");
  put(*store, doc("a", "A", "Some text about lighthouses."));
  REQUIRE(store->bind_embedder(kDefaultCollection, "nowhere:embed-x", 768).ok());
  RetrieverOptions builtin;
  builtin.embedder = "builtin";  // only for collections not bound yet
  Retriever retriever(*store, builtin);
  SearchRequest req;
  req.query = "lighthouses";
  auto r = retriever.search(req);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find("nowhere:embed-x") != std::string::npos);
  // Binding another embedder to it is a conflict naming both.
  const Status again = store->bind_embedder(kDefaultCollection, "builtin", 384);
  REQUIRE_FALSE(again.ok());
  CHECK(again.error().kind == ErrorKind::kConflict);
  CHECK(again.error().message.find("nowhere:embed-x") != std::string::npos);
}

namespace {

// A provider embedder stand-in: a few named directions, so that meaning can be checked; it
// fails any query that contains "offline", as a provider that went down would.
class FakeEmbedder final : public Embedder {
 public:
  std::string name() const override { return "fake:v1"; }
  size_t dimension() const override { return 4; }
  Result<std::vector<float>> embed(const std::vector<std::string>& texts,
                                   EmbedKind kind) const override {
    std::vector<float> out;
    for (const std::string& t : texts) {
      if (kind == EmbedKind::kQuery && t.find("offline") != std::string::npos)
        return make_error(ErrorKind::kUpstream, "provider down");
      const bool sea =
          t.find("lighthouse") != std::string::npos || t.find("coast") != std::string::npos;
      const bool tea = t.find("tea") != std::string::npos || t.find("녹차") != std::string::npos;
      out.insert(out.end(), {sea ? 1.0f : 0.0f, tea ? 1.0f : 0.0f, sea || tea ? 0.0f : 1.0f, 0.0f});
    }
    return out;
  }
};

}  // namespace

TEST_CASE("a collection bound to a provider embedder is searched with it", "[retriever]") {
  EmbedderRegistry::global().add(
      "fake", [](const std::string&) -> Result<std::unique_ptr<Embedder>> {
        return std::unique_ptr<Embedder>(std::make_unique<FakeEmbedder>());
      });
  test::TempDir dir;
  auto store = *Store::open(dir.path());
  put(*store, doc("a", "Greywick Point", "The Greywick lighthouse was automated in 1968."));
  put(*store, doc("b", "Boseong", "보성 녹차 축제는 매년 5월에 열린다."));
  RetrieverOptions options;
  options.cache_dir = dir.path() / "vectors";
  {
    RetrieverOptions first = options;
    first.embedder = "fake:v1";  // as `--embedder fake:v1` would: binds the collection
    Retriever retriever(*store, first);
    const auto hits = search(retriever, "coast");  // no shared word: only the embedder knows
    REQUIRE_FALSE(hits.empty());
    CHECK(hits[0].hit.source == "a");
    CHECK(hits[0].bm25_rank == 0);
    CHECK(hits[0].dense_rank == 1);
    CHECK(hits[0].dense_score == Approx(1.0));
  }
  {
    // Later runs name no embedder: the collection's own is used, loaded from the cache.
    Retriever retriever(*store, options);
    CHECK(search(retriever, "tea")[0].hit.source == "b");
    CHECK(retriever.rebuilds() == 0);
    // A provider that fails for the query leaves BM25 to answer alone.
    const auto down = search(retriever, "Greywick offline");
    REQUIRE_FALSE(down.empty());
    CHECK(down[0].hit.source == "a");
    CHECK(down[0].dense_rank == 0);
    // New documents are embedded by the provider too.
    put(*store, doc("c", "Coast", "A lighthouse keeper's diary."));
    bool found = false;
    for (const auto& h : search(retriever, "coast", 5)) found = found || h.hit.source == "c";
    CHECK(found);
    CHECK(retriever.catch_ups() == 1);
  }
  CHECK(*store->bound_embedder(kDefaultCollection) == "fake:v1");
}

TEST_CASE("writes are caught up incrementally; many changes rebuild", "[retriever]") {
  auto store = *Store::open("");
  std::vector<int64_t> ids;
  for (int i = 0; i < 100; ++i)
    ids.push_back(put(*store, doc("d" + std::to_string(i), "Note " + std::to_string(i),
                                  "Routine note number " + std::to_string(i) + " about ledgers.")));
  Retriever retriever(*store);
  REQUIRE_FALSE(search(retriever, "ledgers").empty());
  CHECK(retriever.rebuilds() == 1);

  // One added, one deleted: the next search sees both without a rebuild.
  put(*store, doc("new", "Quillon", "The Quillon press binds ledgers with brass wire."));
  REQUIRE(store->remove(ids[0]).ok());
  const auto hits = search(retriever, "Quillon press brass wire", 3);
  REQUIRE_FALSE(hits.empty());
  CHECK(hits[0].hit.source == "new");
  CHECK(hits[0].bm25_rank == 1);
  CHECK(hits[0].dense_rank == 1);
  for (const auto& h : search(retriever, "Routine note number 0 ledgers", 10))
    CHECK(h.hit.doc_id != ids[0]);
  CHECK(retriever.rebuilds() == 1);
  CHECK(retriever.catch_ups() == 1);

  // A replaced document: its old chunks go, its new ones come, as one catch-up.
  put(*store, doc("d5", "Note 5", "Replaced: the Ormsby abacus counts in base twelve."));
  const auto replaced = search(retriever, "Ormsby abacus", 3);
  REQUIRE_FALSE(replaced.empty());
  CHECK(replaced[0].hit.source == "d5");
  for (const auto& h : search(retriever, "Routine note number 5", 10))
    CHECK(h.hit.text.find("number 5 ") == std::string::npos);
  CHECK(retriever.catch_ups() == 2);

  // More than a fifth of the rows changed since the statistics were learned: a full rebuild.
  for (int i = 0; i < 70; ++i)
    put(*store, doc("late" + std::to_string(i), "Late", "Late arrival " + std::to_string(i)));
  REQUIRE_FALSE(search(retriever, "Late arrival 42").empty());
  CHECK(retriever.rebuilds() == 2);
}

TEST_CASE("searches of two collections run while both are written to", "[retriever]") {
  test::TempDir dir;
  auto store = *Store::open(dir.path());
  for (const char* c : {"hr", "ops"})
    for (int i = 0; i < 20; ++i) {
      DocumentInput d = doc(std::string(c) + std::to_string(i), "Note",
                            std::string("Ledger entry ") + std::to_string(i) + " for " + c + ".");
      d.collection = c;
      put(*store, d);
    }
  Retriever retriever(*store);
  std::atomic<bool> stop{false};
  std::atomic<int> errors{0}, searches{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 4; ++t)
    readers.emplace_back([&, t] {
      while (!stop) {
        SearchRequest req;
        req.query = "ledger entry";
        req.collection = t % 2 ? "hr" : "ops";
        auto hits = retriever.search(req);
        if (!hits) ++errors;
        ++searches;
      }
    });
  for (int i = 0; i < 30; ++i) {  // adds and deletes in both collections meanwhile
    DocumentInput d =
        doc("late" + std::to_string(i), "Late", "Ledger entry late " + std::to_string(i) + ".");
    d.collection = i % 2 ? "hr" : "ops";
    const int64_t id = put(*store, d);
    if (i % 3 == 0) REQUIRE(store->remove(id).ok());
  }
  stop = true;
  for (auto& r : readers) r.join();
  CHECK(errors == 0);
  CHECK(searches > 0);
  // Afterwards each collection's results are exactly what the store holds.
  for (const char* c : {"hr", "ops"}) {
    SearchRequest req;
    req.query = "late";
    req.collection = c;
    req.k = 50;
    const auto hits = retriever.search(req);
    REQUIRE(hits.ok());
    for (const auto& h : *hits) CHECK(store->get(h.hit.doc_id).ok());
  }
}
