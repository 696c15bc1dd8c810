// Every ISA this CPU can run, against the scalar reference. Integer-valued inputs make the sums
// exact in any order, so results must be equal, not merely close; odd dimensions cover the tails.
#include "index/simd/simd.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <random>
#include <vector>

using namespace chaja::simd;

namespace {

std::vector<const Kernels*> available() {
  std::vector<const Kernels*> out;
  for (Level l : {Level::kScalar, Level::kAvx2, Level::kAvx512})
    if (const Kernels* k = kernels_for(l)) out.push_back(k);
  return out;
}

std::vector<float> ints(size_t count, std::mt19937& rng, int lo = -8, int hi = 8) {
  std::uniform_int_distribution<int> dist(lo, hi);
  std::vector<float> v(count);
  for (float& x : v) x = static_cast<float>(dist(rng));
  return v;
}

// Brute force: score every row, sort best first (ties: lower row first), keep k.
std::vector<Hit> brute_force(const std::vector<float>& scores, size_t k) {
  std::vector<Hit> all;
  for (size_t i = 0; i < scores.size(); ++i) all.push_back({scores[i], static_cast<int64_t>(i)});
  std::sort(all.begin(), all.end(), [](const Hit& a, const Hit& b) {
    return a.score > b.score || (a.score == b.score && a.id < b.id);
  });
  all.resize(std::min(k, all.size()));
  return all;
}

void check_same(const std::vector<Hit>& got, const std::vector<Hit>& want) {
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    INFO("rank " << i);
    CHECK(got[i].id == want[i].id);
    CHECK(got[i].score == want[i].score);
  }
}

constexpr size_t kDims[] = {1,  3,  7,  8,  15,  16,  17,  31,  32,
                            33, 63, 64, 65, 100, 383, 384, 385, 1024};

}  // namespace

TEST_CASE("this machine's levels are detected; the active one is among them", "[simd]") {
  CHECK(kernels_for(Level::kScalar) != nullptr);
  CHECK(static_cast<int>(active_level()) <= static_cast<int>(detected_level()));
  CHECK(kernels().level == active_level());
  INFO("detected " << level_name(detected_level()));
  CHECK(std::string(level_name(Level::kAvx512)) == "avx512");
}

TEST_CASE("dot and l2 equal the scalar reference exactly on integer inputs", "[simd]") {
  std::mt19937 rng(7);
  const Kernels& ref = *kernels_for(Level::kScalar);
  for (const Kernels* k : available()) {
    INFO(level_name(k->level));
    for (size_t d : kDims) {
      INFO("d = " << d);
      const auto a = ints(d, rng), b = ints(d, rng);
      CHECK(k->dot(a.data(), b.data(), d) == ref.dot(a.data(), b.data(), d));
      CHECK(k->l2_squared(a.data(), b.data(), d) == ref.l2_squared(a.data(), b.data(), d));
    }
  }
}

TEST_CASE("fused top-k scans equal a brute-force sort", "[simd]") {
  std::mt19937 rng(11);
  for (const Kernels* kern : available()) {
    INFO(level_name(kern->level));
    for (size_t d : {3ul, 17ul, 64ul, 385ul}) {
      const size_t n = 777;
      const auto base = ints(n * d, rng, -3, 3);  // small range: many ties
      const auto q = ints(d, rng, -3, 3);
      std::vector<float> scores(n);
      for (size_t i = 0; i < n; ++i)
        scores[i] = kernels_for(Level::kScalar)->dot(q.data(), base.data() + i * d, d);
      for (size_t k : {1ul, 10ul, 100ul, 777ul, 1000ul}) {
        INFO("d = " << d << ", k = " << k);
        std::vector<Hit> out(k);
        out.resize(kern->scan_ip(q.data(), base.data(), n, d, k, out.data()));
        check_same(out, brute_force(scores, k));
      }
    }
  }
}

TEST_CASE("batched scans equal one scan per query", "[simd]") {
  std::mt19937 rng(13);
  for (const Kernels* kern : available()) {
    INFO(level_name(kern->level));
    for (size_t d : {5ul, 16ul, 99ul, 384ul}) {
      for (size_t nq : {1ul, 3ul, 4ul, 9ul, 16ul, 17ul, 32ul, 40ul}) {
        INFO("d = " << d << ", nq = " << nq);
        const size_t n = 1234, k = 10;
        const auto base = ints(n * d, rng, -4, 4);
        const auto qs = ints(nq * d, rng, -4, 4);
        std::vector<Hit> out(nq * k);
        std::vector<size_t> counts(nq);
        kern->scan_ip_batch(qs.data(), nq, base.data(), n, d, k, out.data(), counts.data());
        for (size_t j = 0; j < nq; ++j) {
          std::vector<Hit> single(k);
          single.resize(kern->scan_ip(qs.data() + j * d, base.data(), n, d, k, single.data()));
          REQUIRE(counts[j] == single.size());
          check_same(std::vector<Hit>(out.begin() + j * k, out.begin() + j * k + counts[j]),
                     single);
        }
      }
    }
  }
}

TEST_CASE("bf16 and int8 scans equal the scalar reference", "[simd]") {
  std::mt19937 rng(17);
  const Kernels& ref = *kernels_for(Level::kScalar);
  for (const Kernels* kern : available()) {
    INFO(level_name(kern->level));
    for (size_t d : {7ul, 16ul, 33ul, 384ul, 385ul}) {
      INFO("d = " << d);
      const size_t n = 500, k = 20;
      const auto base = ints(n * d, rng, -100, 100);  // exact in bf16 and in int8
      const auto q = ints(d, rng);
      std::vector<uint16_t> b16(n * d);
      to_bf16(base.data(), base.size(), b16.data());
      std::vector<int8_t> i8(n * d);
      std::vector<float> scales(n, 1.0f);
      for (size_t i = 0; i < n * d; ++i) i8[i] = static_cast<int8_t>(base[i]);
      std::vector<Hit> got(k), want(k);
      got.resize(kern->scan_ip_bf16(q.data(), b16.data(), n, d, k, got.data()));
      want.resize(ref.scan_ip(q.data(), base.data(), n, d, k, want.data()));
      check_same(got, want);
      if (kern->int8_quantizes_query) continue;  // approximate by design: tested below
      got.resize(k);
      got.resize(kern->scan_ip_int8(q.data(), i8.data(), scales.data(), n, d, k, got.data()));
      check_same(got, want);
    }
  }
}

TEST_CASE("bf16 rounds to nearest even; int8 keeps each value within half a step", "[simd]") {
  CHECK(from_bf16(to_bf16(1.0f)) == 1.0f);
  CHECK(from_bf16(to_bf16(-3.0f)) == -3.0f);
  CHECK(from_bf16(to_bf16(1.00390625f)) == 1.0f);       // halfway, rounds to even
  CHECK(from_bf16(to_bf16(1.01171875f)) == 1.015625f);  // halfway, rounds up to even
  CHECK(std::isnan(from_bf16(to_bf16(std::nanf("")))));
  std::mt19937 rng(19);
  std::normal_distribution<float> dist;
  std::vector<float> row(384);
  for (float& x : row) x = dist(rng);
  std::vector<int8_t> q(row.size());
  float scale = 0;
  to_int8(row.data(), row.size(), q.data(), &scale);
  REQUIRE(scale > 0);
  for (size_t i = 0; i < row.size(); ++i)
    CHECK(std::fabs(row[i] - scale * q[i]) <= scale / 2 + 1e-6f);
  std::vector<float> zeros(10, 0.0f);
  to_int8(zeros.data(), zeros.size(), q.data(), &scale);
  CHECK(scale == 0);
}

TEST_CASE("cosine of a vector with itself is one, of opposites minus one", "[simd]") {
  const std::vector<float> a = {1, 2, 3, 4, 5}, b = {-1, -2, -3, -4, -5}, z(5, 0.0f);
  CHECK(cosine(a.data(), a.data(), 5) == Approx(1.0f));
  CHECK(cosine(a.data(), b.data(), 5) == Approx(-1.0f));
  CHECK(cosine(a.data(), z.data(), 5) == 0.0f);
}

TEST_CASE("an int8 scan that quantises the query finds the exact top 10 among its best 100",
          "[simd]") {
  std::mt19937 rng(23);
  std::normal_distribution<float> dist;
  const Kernels& ref = *kernels_for(Level::kScalar);
  for (const Kernels* kern : available()) {
    INFO(level_name(kern->level) << (kern->int8_quantizes_query ? " (quantised query)" : ""));
    for (size_t d : {7ul, 64ul, 384ul, 385ul}) {
      INFO("d = " << d);
      const size_t n = 3000;
      std::vector<float> base(n * d);
      for (float& x : base) x = dist(rng);
      std::vector<int8_t> i8(n * d);
      std::vector<float> scales(n);
      for (size_t i = 0; i < n; ++i) to_int8(base.data() + i * d, d, i8.data() + i * d, &scales[i]);
      size_t found = 0, wanted = 0;
      for (int query = 0; query < 20; ++query) {
        std::vector<float> q(d);
        for (float& x : q) x = dist(rng);
        std::vector<Hit> exact(10), cand(100);
        exact.resize(ref.scan_ip_int8(q.data(), i8.data(), scales.data(), n, d, 10, exact.data()));
        cand.resize(kern->scan_ip_int8(q.data(), i8.data(), scales.data(), n, d, 100, cand.data()));
        for (const Hit& e : exact) {
          ++wanted;
          for (const Hit& c : cand) found += c.id == e.id;
        }
        // Each approximate score is within the bound the query's rounding allows.
        float max_abs = 0;
        for (float x : q) max_abs = std::max(max_abs, std::fabs(x));
        for (const Hit& c : cand) {
          float row_l1 = 0;
          for (size_t j = 0; j < d; ++j)
            row_l1 += std::fabs(static_cast<float>(i8[static_cast<size_t>(c.id) * d + j]));
          const float exact_score = scales[static_cast<size_t>(c.id)] * [&] {
            float s = 0;
            for (size_t j = 0; j < d; ++j)
              s += q[j] * static_cast<float>(i8[static_cast<size_t>(c.id) * d + j]);
            return s;
          }();
          const float bound =
              scales[static_cast<size_t>(c.id)] * row_l1 * (max_abs / 127.0f) * 0.5f + 1e-3f;
          CHECK(std::fabs(c.score - exact_score) <= bound);
        }
      }
      CHECK(static_cast<double>(found) / static_cast<double>(wanted) >= 0.99);
    }
  }
}
