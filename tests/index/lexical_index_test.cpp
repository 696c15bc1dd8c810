#include "index/lexical_index.h"

#include <catch2/catch.hpp>
#include <map>

#include "index/chunker.h"
#include "index/store.h"
#include "index/tokenizer.h"

using namespace chaja;

namespace {

DocumentInput doc(const std::string& source, const std::string& title, const std::string& text) {
  DocumentInput d;
  d.source = source;
  d.title = title;
  d.text = text;
  return d;
}

// The in-memory index of everything in the store's default collection.
LexicalIndex index_of(Store& store) {
  LexicalIndex index;
  auto cutter = store.term_cutter();
  REQUIRE(cutter.ok());
  REQUIRE(store
              .for_each_chunk(kDefaultCollection,
                              [&](const Store::ChunkRow& r) {
                                std::vector<std::string> title, body;
                                (*cutter)->cut(r.title, title);
                                (*cutter)->cut(r.text, body);
                                index.add(r.chunk_id, r.doc_id, title, body);
                              })
              .ok());
  return index;
}

std::vector<std::string> cut_query(Store& store, const std::string& query) {
  auto cutter = store.term_cutter();
  REQUIRE(cutter.ok());
  std::vector<std::string> terms;
  for (const std::string& t : query_terms(query)) (*cutter)->cut(t, terms);
  return terms;
}

}  // namespace

TEST_CASE("the term cutter cuts as FTS5 indexes: Chaja's tokenizer, then porter", "[lexical]") {
  auto store = *Store::open("");
  auto cutter = store->term_cutter();
  REQUIRE(cutter.ok());
  std::vector<std::string> terms;
  (*cutter)->cut("Running kettles 반도체의", terms);
  CHECK(terms == std::vector<std::string>{"run", "kettl", "반도", "도체", "체의"});
}

TEST_CASE("in-memory BM25 scores equal FTS5's bm25() on a one-collection store", "[lexical]") {
  auto store = *Store::open("");
  const std::vector<std::pair<std::string, std::string>> texts = {
      {"Lighthouse", "The Greywick lighthouse was automated in 1968 after a storm."},
      {"Kettle", "The Vantor kettle boils one litre of water in 94 seconds."},
      {"Tea", "보성 녹차 축제는 매년 5월에 열린다. 녹차 밭이 넓다."},
      {"Storm", "A storm closed the harbour; the lighthouse keeper stayed."},
      {"Harbour", "The harbour of Greywick is small. Boats leave at dawn."},
      {"Semis", "반도체 공장은 녹차 밭 옆에 있다. 반도체 수출이 늘었다."}};
  for (size_t i = 0; i < texts.size(); ++i) {
    const DocumentInput d = doc("s" + std::to_string(i), texts[i].first, texts[i].second);
    REQUIRE(store->put(d, chunk_text(d.text)).ok());
  }
  const LexicalIndex index = index_of(*store);
  REQUIRE(index.size() == texts.size());
  for (const char* q : {"Greywick lighthouse", "storm harbour keeper", "녹차 축제", "반도체 수출",
                        "lighthouse 녹차", "Boats dawn Greywick harbour"}) {
    INFO(q);
    SearchRequest req;
    req.query = q;
    req.k = 10;
    auto fts = store->search(req);
    REQUIRE(fts.ok());
    const auto mine = index.search(cut_query(*store, q), 10, 0);
    REQUIRE_FALSE(fts->empty());
    REQUIRE(mine.size() == fts->size());
    for (size_t i = 0; i < mine.size(); ++i) {
      CHECK(mine[i].chunk_id == (*fts)[i].chunk_id);
      CHECK(mine[i].score == Approx((*fts)[i].score).epsilon(1e-9));
    }
  }
}

TEST_CASE("removed rows vanish at once and purging changes no result", "[lexical]") {
  // 40 rows over 4 documents; terms chosen so that frequencies differ.
  LexicalIndex index, fresh;
  auto terms_of = [](int i) {
    std::vector<std::string> t = {"common", "w" + std::to_string(i % 7), "v" + std::to_string(i)};
    if (i % 3 == 0) t.push_back("rare");
    return t;
  };
  for (int i = 0; i < 40; ++i) index.add(100 + i, i / 10, {"title"}, terms_of(i));
  CHECK(index.document_frequency("rare") == 14);
  CHECK(index.document_frequency("common") == 40);
  // Remove 15 rows: past a quarter, so the posting lists are purged on the way.
  for (int i = 0; i < 40; ++i) {
    if (i % 8 < 3) {
      CHECK(index.remove(100 + i));
    } else {
      fresh.add(100 + i, i / 10, {"title"}, terms_of(i));
    }
  }
  CHECK_FALSE(index.remove(100));
  CHECK(index.size() == fresh.size());
  CHECK(index.document_frequency("rare") == fresh.document_frequency("rare"));
  for (const auto& q : std::vector<std::vector<std::string>>{
           {"rare"}, {"w3", "rare"}, {"v9", "w2"}, {"common", "v17", "w1"}}) {
    const auto a = index.search(q, 10, 0);
    const auto b = fresh.search(q, 10, 0);
    REQUIRE(a.size() == b.size());
    for (size_t i = 0; i < a.size(); ++i) {
      CHECK(a[i].chunk_id == b[i].chunk_id);
      CHECK(a[i].score == Approx(b[i].score));
      CHECK((a[i].chunk_id - 100) % 8 >= 3);
    }
  }
  // Re-adding an id replaces the row.
  index.add(139, 3, {}, {"replaced"});
  CHECK(index.search({"v39"}, 5, 0).empty());
  REQUIRE(index.search({"replaced"}, 5, 0).size() == 1);
}

TEST_CASE("the per-document cap and the common-term rule", "[lexical]") {
  LexicalIndex index;
  // Document 1 has six rows about "kettle"; document 2 one weaker row.
  for (int i = 0; i < 6; ++i) index.add(i + 1, 1, {}, {"kettle", "kettle", "boil"});
  index.add(10, 2, {}, {"kettle", "lamp", "desk", "chair", "pen", "ink"});
  const auto capped = index.search({"kettle"}, 5, 2);
  REQUIRE(capped.size() == 3);
  CHECK(capped[2].chunk_id == 10);
  CHECK(index.search({"kettle"}, 5, 0).size() == 5);
  CHECK(index.search({"absent"}, 5, 0).empty());

  // Rarest first; past three, terms in more than a fifth of the rows are dropped.
  CHECK(useful_term_indexes({50, 1, 30, 2, 40}, 100) == std::vector<size_t>{1, 3, 2});
  CHECK(useful_term_indexes({5, 1, 30}, 100) == std::vector<size_t>{1, 0, 2});
  CHECK(useful_term_indexes({7}, 100) == std::vector<size_t>{0});
}

TEST_CASE("purging keeps the statistics of rows that did not move", "[lexical]") {
  // Rows that stay in place during a purge keep their terms: removing them later still
  // updates the document frequency.
  LexicalIndex index;
  for (int i = 1; i <= 8; ++i) index.add(i, i, {}, {"x"});
  for (int i : {5, 6, 7}) CHECK(index.remove(i));  // past a quarter dead: purged
  for (int i : {1, 2}) CHECK(index.remove(i));
  CHECK(index.document_frequency("x") == 3);
  for (int i : {3, 4, 8}) CHECK(index.remove(i));
  CHECK(index.document_frequency("x") == 0);
  CHECK(index.size() == 0);
}

TEST_CASE("absent query terms do not crowd out a common one", "[lexical]") {
  LexicalIndex index;
  for (int i = 0; i < 10; ++i) index.add(i, i, {}, {i < 6 ? "common" : "other"});
  // Three misspelt words and a term in most rows: the common one still ranks.
  CHECK(index.search({"typo1", "typo2", "typo3", "common"}, 5, 0).size() == 5);
}
