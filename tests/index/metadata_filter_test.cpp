// Metadata filters on every retrieval path: the store's resolution (JSON types compared as JSON),
// BM25 in memory and through FTS5, the dense side (exact over a small allowed set, over-fetched
// for a large one) and their fusion, also when the matching documents are a small minority.
#include "index/metadata_filter.h"

#include <catch2/catch.hpp>
#include <set>

#include "index/retriever.h"
#include "index/store.h"

using namespace chaja;

namespace {

int64_t put(Store& store, const std::string& source, const std::string& text,
            const std::string& metadata) {
  DocumentInput d;
  d.source = source;
  d.title = source;
  d.text = text;
  d.metadata_json = metadata;
  auto r = store.put(d, chunk_text(d.text));
  REQUIRE(r.ok());
  return r->doc_id;
}

MetadataFilter filter(const std::string& key, std::vector<FilterValue> values) {
  MetadataFilter f;
  f.conditions.push_back({key, std::move(values)});
  return f;
}

std::set<int64_t> allowed_docs(Store& store, const MetadataFilter& f) {
  auto a = store.filter_documents(kDefaultCollection, f);
  REQUIRE(a.ok());
  return {a->docs.begin(), a->docs.end()};
}

// 200 documents about the same lighthouse: 2 legal, 30 finance, 168 hr. Without a filter the
// hr documents fill every slot.
struct Corpus {
  std::unique_ptr<Store> store = *Store::open("");
  std::set<int64_t> legal, finance, hr;
  Corpus() {
    for (int i = 0; i < 200; ++i) {
      const std::string n = std::to_string(i);
      if (i == 7 || i == 150) {
        legal.insert(put(*store, "legal-" + n,
                         "Greywick lighthouse lease, contract clause " + n + ", signed in spring.",
                         R"({"department":"legal","year":2024})"));
      } else if (i % 6 == 1) {
        finance.insert(put(*store, "finance-" + n,
                           "Greywick lighthouse budget, invoice " + n + ", paid in spring.",
                           R"({"department":"finance","year":2023})"));
      } else {
        hr.insert(put(*store, "hr-" + n,
                      "Greywick lighthouse keepers, leave rota " + n + ", lighthouse duty.",
                      R"({"department":"hr","year":2024})"));
      }
    }
  }
};

std::vector<RetrievedHit> search(Retriever& r, const std::string& q, size_t k,
                                 const MetadataFilter& f) {
  SearchRequest req;
  req.query = q;
  req.k = k;
  req.filter = f;
  auto hits = r.search(req);
  REQUIRE(hits.ok());
  return *hits;
}

}  // namespace

TEST_CASE("a filter resolves by JSON value: strings, numbers, booleans, any of", "[filter]") {
  auto store = *Store::open("");
  const int64_t num = put(*store, "a", "alpha text", R"({"year":2024,"draft":true,"a.b":"x"})");
  const int64_t str = put(*store, "b", "beta text", R"({"year":"2024","draft":1})");
  const int64_t real = put(*store, "c", "gamma text", R"({"year":2024.0,"draft":false})");
  const int64_t none = put(*store, "d", "delta text", R"({})");
  (void)none;
  using FV = FilterValue;
  CHECK(allowed_docs(*store, filter("year", {FV::of_integer(2024)})) ==
        std::set<int64_t>{num, real});
  CHECK(allowed_docs(*store, filter("year", {FV::of_string("2024")})) == std::set<int64_t>{str});
  CHECK(allowed_docs(*store, filter("year", {FV::of_real(2024.0)})) ==
        std::set<int64_t>{num, real});
  // true is not 1, and 1 is not true.
  CHECK(allowed_docs(*store, filter("draft", {FV::of_bool(true)})) == std::set<int64_t>{num});
  CHECK(allowed_docs(*store, filter("draft", {FV::of_integer(1)})) == std::set<int64_t>{str});
  CHECK(allowed_docs(*store, filter("draft", {FV::of_bool(false)})) == std::set<int64_t>{real});
  // Any of; a key with a dot is one key, not a path.
  CHECK(allowed_docs(*store, filter("year", {FV::of_string("2024"), FV::of_integer(2024)})) ==
        std::set<int64_t>{num, str, real});
  CHECK(allowed_docs(*store, filter("a.b", {FV::of_string("x")})) == std::set<int64_t>{num});
  CHECK(allowed_docs(*store, filter("missing", {FV::of_string("x")})).empty());
  // Keys are AND-ed.
  MetadataFilter both = filter("year", {FV::of_integer(2024)});
  both.conditions.push_back({"draft", {FV::of_bool(false)}});
  CHECK(allowed_docs(*store, both) == std::set<int64_t>{real});
  // Chunks come with their documents.
  auto a = store->filter_documents(kDefaultCollection, filter("year", {FV::of_string("2024")}));
  REQUIRE(a.ok());
  CHECK(a->chunks.size() == 1);
  // Unknown collections and bad filters are errors.
  auto unknown = store->filter_documents("nope", both);
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.error().kind == ErrorKind::kNotFound);
  CHECK_FALSE(
      store->filter_documents(kDefaultCollection, filter("bad key", {FV::of_bool(true)})).ok());
  CHECK_FALSE(store->filter_documents(kDefaultCollection, filter("k", {})).ok());
}

TEST_CASE("filter limits: keys, values, strings", "[filter]") {
  using FV = FilterValue;
  CHECK(check_filter_key("department").ok());
  CHECK(check_filter_key("a.b-c_9").ok());
  CHECK_FALSE(check_filter_key("").ok());
  CHECK_FALSE(check_filter_key(std::string(65, 'k')).ok());
  CHECK(check_filter_key(std::string(64, 'k')).ok());
  CHECK_FALSE(check_filter_key("$.x").ok());
  CHECK_FALSE(check_filter_key("a\"b").ok());
  MetadataFilter many;
  for (int i = 0; i < 17; ++i)
    many.conditions.push_back({"k" + std::to_string(i), {FV::of_bool(true)}});
  CHECK_FALSE(check_metadata_filter(many).ok());
  many.conditions.pop_back();
  CHECK(check_metadata_filter(many).ok());
  CHECK_FALSE(check_metadata_filter(filter("k", std::vector<FV>(33, FV::of_integer(1)))).ok());
  CHECK(check_metadata_filter(filter("k", std::vector<FV>(32, FV::of_integer(1)))).ok());
  CHECK_FALSE(check_metadata_filter(filter("k", {FV::of_string("\xFF")})).ok());
  CHECK_FALSE(check_metadata_filter(filter("k", {FV::of_string(std::string(1025, 'x'))})).ok());
}

TEST_CASE("filtered search returns only matching documents on every path", "[filter][retriever]") {
  Corpus c;
  const MetadataFilter legal = filter("department", {FilterValue::of_string("legal")});
  struct Path {
    const char* name;
    RetrieverOptions options;
  };
  RetrieverOptions hybrid;
  RetrieverOptions bm25_memory;
  bm25_memory.dense = false;
  RetrieverOptions bm25_fts5;
  bm25_fts5.dense = false;
  bm25_fts5.lexical_in_memory = false;
  for (const Path& p : {Path{"hybrid", hybrid}, Path{"bm25 in memory", bm25_memory},
                        Path{"bm25 fts5", bm25_fts5}}) {
    INFO(p.name);
    Retriever retriever(*c.store, p.options);
    // Without the filter, the legal documents are lost among the others.
    const auto all = search(retriever, "Greywick lighthouse", 5, {});
    REQUIRE(all.size() == 5);
    // With it, 2 of 200 documents, and k = 5: both, and nothing else.
    const auto hits = search(retriever, "Greywick lighthouse", 5, legal);
    REQUIRE(hits.size() == 2);
    for (const auto& h : hits) CHECK(c.legal.count(h.hit.doc_id) == 1);
    CHECK(hits[0].bm25_rank >= 1);
    if (p.options.dense) CHECK(hits[0].dense_rank >= 1);
    // "Any of": legal or finance, 32 documents, k = 5 filled from them alone.
    const auto either = search(
        retriever, "Greywick lighthouse", 5,
        filter("department", {FilterValue::of_string("legal"), FilterValue::of_string("finance")}));
    REQUIRE(either.size() == 5);
    for (const auto& h : either)
      CHECK((c.legal.count(h.hit.doc_id) == 1 || c.finance.count(h.hit.doc_id) == 1));
    // A number is not a string.
    CHECK(search(retriever, "Greywick lighthouse", 5,
                 filter("year", {FilterValue::of_string("2024")}))
              .empty());
    const auto year = search(retriever, "Greywick lighthouse", 5,
                             filter("year", {FilterValue::of_integer(2023)}));
    REQUIRE(year.size() == 5);
    for (const auto& h : year) CHECK(c.finance.count(h.hit.doc_id) == 1);
    // A filter nothing matches: no results, not an error.
    CHECK(search(retriever, "Greywick lighthouse", 5,
                 filter("department", {FilterValue::of_string("sales")}))
              .empty());
  }
}

TEST_CASE("the dense side honours the filter: exact over few, over-fetched over many",
          "[filter][retriever]") {
  Corpus c;
  // Misspelt: BM25 matches nothing, so whatever comes back came from the dense side.
  const std::string typo = "Greywik lighthose leese contrct";
  {
    Retriever retriever(*c.store);
    const auto hits =
        search(retriever, typo, 5, filter("department", {FilterValue::of_string("legal")}));
    REQUIRE(hits.size() == 2);
    for (const auto& h : hits) {
      CHECK(c.legal.count(h.hit.doc_id) == 1);
      CHECK(h.bm25_rank == 0);
      CHECK(h.dense_rank >= 1);
    }
  }
  {
    // Few candidates per side and no exact scoring: the finance share (30 of 200) is reached by
    // over-fetching from the index.
    RetrieverOptions o;
    o.candidates = 5;
    o.exact_filter_rows = 0;
    Retriever retriever(*c.store, o);
    const auto hits = search(retriever, "Greywik lighthose budgett invoyce", 5,
                             filter("department", {FilterValue::of_string("finance")}));
    REQUIRE(hits.size() == 5);
    for (const auto& h : hits) {
      CHECK(c.finance.count(h.hit.doc_id) == 1);
      CHECK(h.dense_rank >= 1);
    }
  }
}

TEST_CASE("a resolved filter is reused and follows deletions", "[filter][retriever]") {
  Corpus c;
  Retriever retriever(*c.store);
  const MetadataFilter legal = filter("department", {FilterValue::of_string("legal")});
  auto resolved = c.store->filter_documents(kDefaultCollection, legal);
  REQUIRE(resolved.ok());
  SearchRequest req;
  req.query = "Greywick lighthouse";
  req.k = 5;
  req.allowed = std::make_shared<const AllowedDocuments>(*resolved);
  auto hits = retriever.search(req);
  REQUIRE(hits.ok());
  CHECK(hits->size() == 2);
  // A deleted legal document is gone from the next filtered search.
  REQUIRE(c.store->remove(*c.legal.begin()).ok());
  const auto after = search(retriever, "Greywick lighthouse", 5, legal);
  REQUIRE(after.size() == 1);
  CHECK(after[0].hit.doc_id == *c.legal.rbegin());
}
