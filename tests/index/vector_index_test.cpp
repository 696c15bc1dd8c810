#include "index/vector_index.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <fstream>
#include <random>

#include "index/simd/simd.h"
#include "index/test_util.h"

using namespace chaja;

namespace {

std::vector<float> unit_rows(size_t n, size_t d, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist;
  std::vector<float> v(n * d);
  for (size_t i = 0; i < n; ++i) {
    float* row = v.data() + i * d;
    float norm = 0;
    for (size_t j = 0; j < d; ++j) {
      row[j] = dist(rng);
      norm += row[j] * row[j];
    }
    for (size_t j = 0; j < d; ++j) row[j] /= std::sqrt(norm);
  }
  return v;
}

std::vector<int64_t> ids_from(int64_t first, size_t n) {
  std::vector<int64_t> ids(n);
  for (size_t i = 0; i < n; ++i) ids[i] = first + static_cast<int64_t>(i) * 3;  // not 0..n-1
  return ids;
}

}  // namespace

TEST_CASE("a flat vector index finds exactly what the SIMD scan finds", "[vectors]") {
  const size_t n = 2000, d = 48;
  const auto rows = unit_rows(n, d, 1);
  const auto ids = ids_from(100, n);
  auto index = VectorIndex::create(d);
  REQUIRE(index.ok());
  REQUIRE((*index)->add(ids.data(), rows.data(), n).ok());
  CHECK((*index)->size() == n);
  CHECK(std::string((*index)->kind()) == "flat");
  const auto q = unit_rows(1, d, 2);
  const auto got = (*index)->search(q.data(), 10);
  const auto want = simd::top_k_ip(q.data(), rows.data(), n, d, 10);
  REQUIRE(got.size() == 10);
  for (size_t i = 0; i < 10; ++i) {
    CHECK(got[i].id == ids[static_cast<size_t>(want[i].id)]);
    CHECK(got[i].score == Approx(want[i].score).epsilon(1e-4));
  }
}

TEST_CASE("removed ids vanish from results at once; re-adding replaces", "[vectors]") {
  const size_t d = 16;
  const auto rows = unit_rows(50, d, 3);
  const auto ids = ids_from(1, 50);
  auto index = *VectorIndex::create(d);
  REQUIRE(index->add(ids.data(), rows.data(), 50).ok());
  const float* q = rows.data() + 7 * d;  // row 7 is its own best match
  CHECK(index->search(q, 1)[0].id == ids[7]);
  auto removed = index->remove({ids[7], 999999});
  REQUIRE(removed.ok());
  CHECK(*removed == 1);
  for (const auto& h : index->search(q, 50)) CHECK(h.id != ids[7]);
  CHECK(index->size() == 49);
  REQUIRE(index->add(&ids[8], rows.data() + 7 * d, 1).ok());  // id 8 now holds row 7's vector
  CHECK(index->size() == 49);
  CHECK(index->search(q, 1)[0].id == ids[8]);
  std::vector<float> back(d);
  REQUIRE(index->reconstruct(ids[8], back.data()));
  CHECK(back[0] == rows[7 * d]);
}

TEST_CASE("past the threshold the index becomes an inverted file and keeps working", "[vectors]") {
  const size_t n = 6000, d = 32;
  const auto rows = unit_rows(n, d, 4);
  const auto ids = ids_from(10, n);
  VectorIndexOptions o;
  o.ivf_threshold = 4000;
  o.ivf_nprobe = 64;
  auto index = *VectorIndex::create(d, o);
  REQUIRE(index->add(ids.data(), rows.data(), 3000).ok());
  CHECK(std::string(index->kind()) == "flat");
  REQUIRE(index->add(ids.data() + 3000, rows.data() + 3000 * d, 3000).ok());
  CHECK(std::string(index->kind()) == "ivf");
  CHECK(index->size() == n);
  // Recall@10 against exact search over 20 queries.
  size_t found = 0;
  for (uint32_t s = 0; s < 20; ++s) {
    const auto q = unit_rows(1, d, 100 + s);
    const auto want = simd::top_k_ip(q.data(), rows.data(), n, d, 10);
    const auto got = index->search(q.data(), 10);
    for (const auto& w : want)
      for (const auto& g : got) found += g.id == ids[static_cast<size_t>(w.id)];
  }
  CHECK(static_cast<double>(found) / 200.0 >= 0.9);
  auto removed = index->remove({ids[0], 424242});
  INFO((removed.ok() ? "" : removed.error().message));
  REQUIRE(removed.ok());
  CHECK(*removed == 1);
  CHECK(index->size() == n - 1);
  for (const auto& h : index->search(rows.data(), 5)) CHECK(h.id != ids[0]);
  // An inverted file survives a save and a load, removals included.
  test::TempDir dir;
  REQUIRE(index->save(dir.path() / "ivf.faiss").ok());
  auto loaded = VectorIndex::load(dir.path() / "ivf.faiss", d, o);
  REQUIRE(loaded.ok());
  CHECK(std::string((*loaded)->kind()) == "ivf");
  CHECK((*loaded)->size() == n - 1);
  REQUIRE((*loaded)->remove({ids[1]}).ok());
  CHECK((*loaded)->size() == n - 2);
  std::vector<float> v(d);
  CHECK((*loaded)->reconstruct(ids[2], v.data()));
  CHECK(v[0] == rows[2 * d]);
}

TEST_CASE("save is atomic and load checks the dimension", "[vectors]") {
  test::TempDir dir;
  const size_t d = 8;
  const auto rows = unit_rows(20, d, 5);
  const auto ids = ids_from(1, 20);
  auto index = *VectorIndex::create(d);
  REQUIRE(index->add(ids.data(), rows.data(), 20).ok());
  const auto file = dir.path() / "default.faiss";
  REQUIRE(index->save(file).ok());
  CHECK_FALSE(std::filesystem::exists(file.string() + ".tmp"));
  auto loaded = VectorIndex::load(file, d);
  REQUIRE(loaded.ok());
  CHECK((*loaded)->size() == 20);
  CHECK((*loaded)->search(rows.data(), 1)[0].id == ids[0]);
  auto wrong = VectorIndex::load(file, d + 1);
  REQUIRE_FALSE(wrong.ok());
  CHECK(wrong.error().kind == ErrorKind::kConflict);
  std::ofstream(dir.path() / "junk.faiss") << "not an index";
  CHECK(VectorIndex::load(dir.path() / "junk.faiss", d).error().kind == ErrorKind::kIo);
  CHECK(VectorIndex::load(dir.path() / "missing.faiss", d).error().kind == ErrorKind::kIo);
}

TEST_CASE("above 16k rows the int8 pre-scan keeps exact results through removals", "[vectors]") {
  const size_t n = 20'000, d = 64, k = 10;
  const auto rows = unit_rows(n, d, 11);
  const auto ids = ids_from(1, n);
  auto index = *VectorIndex::create(d);
  REQUIRE(index->add(ids.data(), rows.data(), n).ok());
  // Remove every fifth id: the int8 copy must follow FAISS's compaction row for row.
  std::vector<int64_t> gone;
  for (size_t i = 0; i < n; i += 5) gone.push_back(ids[i]);
  REQUIRE(*index->remove(gone) == gone.size());
  std::vector<float> kept;
  std::vector<int64_t> kept_ids;
  for (size_t i = 0; i < n; ++i) {
    if (i % 5 == 0) continue;
    kept.insert(kept.end(), rows.begin() + static_cast<std::ptrdiff_t>(i * d),
                rows.begin() + static_cast<std::ptrdiff_t>((i + 1) * d));
    kept_ids.push_back(ids[i]);
  }
  const auto queries = unit_rows(50, d, 12);
  size_t found = 0;
  for (size_t q = 0; q < 50; ++q) {
    const float* query = queries.data() + q * d;
    const auto exact = simd::top_k_ip(query, kept.data(), kept_ids.size(), d, k);
    const auto got = index->search(query, k);
    REQUIRE(got.size() == k);
    for (size_t i = 0; i < k; ++i) {
      // Scores are exact fp32 re-scores, whatever the int8 scan estimated.
      const auto pos = static_cast<size_t>(std::find(kept_ids.begin(), kept_ids.end(), got[i].id) -
                                           kept_ids.begin());
      REQUIRE(pos < kept_ids.size());
      CHECK(got[i].score == Approx(simd::dot(query, kept.data() + pos * d, d)).margin(1e-6));
      for (const auto& e : exact) found += kept_ids[static_cast<size_t>(e.id)] == got[i].id;
    }
  }
  CHECK(static_cast<double>(found) / (50.0 * k) >= 0.99);
  // A stored vector finds itself first.
  const auto self = index->search(kept.data() + 123 * d, 1);
  REQUIRE(self.size() == 1);
  CHECK(self[0].id == kept_ids[123]);
}
