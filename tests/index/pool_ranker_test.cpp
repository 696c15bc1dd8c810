#include "index/pool_ranker.h"

#include <catch2/catch.hpp>

using namespace chaja;

namespace {

PoolPassage passage(int64_t group, std::string title, std::string text,
                    std::optional<double> dense = std::nullopt) {
  PoolPassage p;
  p.group = group;
  p.title = std::move(title);
  p.text = std::move(text);
  p.dense_score = dense;
  return p;
}

std::unique_ptr<Store::TermCutter> cutter(Store& store) {
  auto c = store.term_cutter();
  REQUIRE(c.ok());
  return std::move(*c);
}

std::vector<PoolPassage> mixed_pool() {
  return {
      passage(1, "Kettle manual", "The Vantor kettle boils one litre in 94 seconds."),
      passage(-1, "Greywick Point lighthouse",
              "The Greywick Point lighthouse was first lit on 3 March 1871."),
      passage(2, "Keeper's log", "The Greywick lighthouse was automated in 1968."),
      passage(-2, "Tide tables", "High tide at Greywick harbour is at 06:12 today."),
      passage(-1, "Greywick Point lighthouse", "Visitors climb 112 steps of the tower."),
      passage(-1, "Greywick Point lighthouse", "The Greywick lighthouse lamp burned whale oil."),
  };
}

}  // namespace

TEST_CASE("a pool of local and web passages is ranked in one order", "[pool_ranker]") {
  auto store = Store::open("");
  REQUIRE(store.ok());
  auto cut = cutter(**store);
  const auto pool = mixed_pool();
  PoolRanking r = rank_pool("when was the Greywick lighthouse first lit", pool, *cut,
                            pool_builtin_embedder(pool), {}, 4);
  REQUIRE(r.dense);
  // The answer, the keeper's log, and a second passage of the page (the cap's limit); the tide
  // table shares only "Greywick", a term in most rows that BM25 skips once rarer ones are kept.
  REQUIRE(r.ranked.size() == 3);
  CHECK(r.ranked[0].chunk_id == 2);  // pool index 1: the page that answers
  CHECK(r.ranked[0].bm25_rank == 1);
  CHECK(r.ranked[0].dense_rank == 1);
  // The kettle shares no word with the question: not ranked at all.
  for (const RankedCandidate& c : r.ranked) CHECK(c.chunk_id != 1);
  // At most two passages of one page (group -1 has three candidates).
  int from_page = 0;
  for (const RankedCandidate& c : r.ranked) from_page += c.doc_id == -1;
  CHECK(from_page == 2);
}

TEST_CASE("known similarities are used and the rest embedded", "[pool_ranker]") {
  auto store = Store::open("");
  REQUIRE(store.ok());
  auto cut = cutter(**store);
  std::vector<PoolPassage> pool = mixed_pool();
  // The retriever said the local kettle passage is very similar: it enters on the dense side.
  pool[0].dense_score = 0.9;
  size_t embedded = 0;
  const EmbedFn builtin = pool_builtin_embedder(pool);
  EmbedFn counting = [&](const std::vector<std::string>& texts, EmbedKind kind) {
    if (kind == EmbedKind::kDocument) embedded += texts.size();
    return builtin(texts, kind);
  };
  PoolRanking r = rank_pool("Greywick lighthouse", pool, *cut, counting, {}, 10);
  CHECK(embedded == pool.size() - 1);
  CHECK(std::any_of(r.ranked.begin(), r.ranked.end(), [](const RankedCandidate& c) {
    return c.chunk_id == 1 && c.bm25_rank == 0 && c.dense_score == Approx(0.9);
  }));
}

TEST_CASE("an embedder that fails leaves BM25 alone and says why", "[pool_ranker]") {
  auto store = Store::open("");
  REQUIRE(store.ok());
  auto cut = cutter(**store);
  const auto pool = mixed_pool();
  EmbedFn broken = [](const std::vector<std::string>&, EmbedKind) -> Result<std::vector<float>> {
    return make_error(ErrorKind::kUpstream, "embedder down");
  };
  PoolRanking r = rank_pool("Greywick lighthouse automated", pool, *cut, broken, {}, 3);
  CHECK_FALSE(r.dense);
  REQUIRE(r.dense_error);
  CHECK(r.dense_error->message == "embedder down");
  REQUIRE_FALSE(r.ranked.empty());
  CHECK(r.ranked[0].chunk_id == 3);  // "automated" is only in the keeper's log
  for (const RankedCandidate& c : r.ranked) CHECK(c.dense_rank == 0);

  // Vectors of the wrong size are refused, not read past.
  EmbedFn short_rows = [](const std::vector<std::string>&, EmbedKind) {
    return Result<std::vector<float>>(std::vector<float>(3, 0.5f));
  };
  r = rank_pool("Greywick lighthouse", pool, *cut, short_rows, {}, 3);
  CHECK_FALSE(r.dense);
  CHECK(r.dense_error);

  // No embedder: BM25 alone, no error. Empty pools rank to nothing.
  r = rank_pool("Greywick lighthouse", pool, *cut, {}, {}, 3);
  CHECK_FALSE(r.dense);
  CHECK_FALSE(r.dense_error);
  CHECK(rank_pool("Greywick", {}, *cut, {}, {}, 3).ranked.empty());
}
