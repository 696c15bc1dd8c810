#include "index/builtin_embedder.h"

#include <catch2/catch.hpp>
#include <cmath>

#include "index/simd/simd.h"

using namespace chaja;

namespace {

std::vector<float> vec(const BuiltinEmbedder& e, const std::string& text) {
  std::vector<float> v(e.dimension());
  e.embed_one(text, v.data());
  return v;
}

float cos(const BuiltinEmbedder& e, const std::string& a, const std::string& b) {
  const auto va = vec(e, a), vb = vec(e, b);
  return simd::dot(va.data(), vb.data(), va.size());  // both unit length
}

}  // namespace

TEST_CASE("the registry makes builtin and names what it knows", "[embedder]") {
  auto e = EmbedderRegistry::global().create("builtin");
  REQUIRE(e.ok());
  CHECK((*e)->name() == "builtin");
  CHECK((*e)->dimension() == BuiltinEmbedder::kDefaultDimension);
  CHECK_FALSE(EmbedderRegistry::global().create("builtin:large").ok());
  auto unknown = EmbedderRegistry::global().create("nope:model");
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.error().message.find("builtin") != std::string::npos);
}

TEST_CASE("builtin embeddings are deterministic unit vectors", "[embedder]") {
  BuiltinEmbedder e;
  auto rows =
      e.embed({"언어 모델의 발전", "The lighthouse was lit in 1873.", ""}, EmbedKind::kDocument);
  REQUIRE(rows.ok());
  REQUIRE(rows->size() == 3 * e.dimension());
  auto again = e.embed({"언어 모델의 발전"}, EmbedKind::kQuery);
  REQUIRE(again.ok());
  CHECK(std::equal(again->begin(), again->end(), rows->begin()));
  for (size_t r = 0; r < 2; ++r) {
    const float* v = rows->data() + r * e.dimension();
    CHECK(simd::dot(v, v, e.dimension()) == Approx(1.0f).epsilon(1e-5));
  }
  const float* empty = rows->data() + 2 * e.dimension();
  CHECK(simd::dot(empty, empty, e.dimension()) == 0.0f);  // nothing to embed
}

TEST_CASE("shared word pieces bring texts close across particles and inflections", "[embedder]") {
  BuiltinEmbedder e;
  CHECK(cos(e, "반도체의 수요가 늘었다", "반도체를 찾는 수요") >
        cos(e, "반도체의 수요가 늘었다", "축제에 방문객이 몰렸다"));
  CHECK(cos(e, "connectors for providers", "a provider connector") >
        cos(e, "connectors for providers", "lighthouse keeper cottage"));
  CHECK(cos(e, "GPU 서버 구축", "GPU server setup") > cos(e, "GPU 서버 구축", "연차 휴가 규정"));
}

TEST_CASE("statistics learned from a collection weigh rare pieces over common ones", "[embedder]") {
  auto stats = std::make_shared<FeatureStats>();
  for (int i = 0; i < 200; ++i) stats->add_document("the report of the year " + std::to_string(i));
  stats->add_document("falcon engines");
  BuiltinEmbedder plain, learned(BuiltinEmbedder::kDefaultDimension, stats);
  const std::string a = "the report of the falcon", b = "the report of the year",
                    c = "falcon engines";
  // Without statistics the common words make a and b look alike; with them, the rare word wins.
  CHECK(cos(plain, a, b) > cos(plain, a, c));
  CHECK(cos(learned, a, c) > cos(learned, a, b));
  CHECK(stats->documents() == 201);
  auto round_trip = FeatureStats::deserialize(stats->serialize());
  REQUIRE(round_trip.ok());
  CHECK(round_trip->documents() == 201);
  CHECK(round_trip->idf(12345) == stats->idf(12345));
  CHECK_FALSE(FeatureStats::deserialize("short").ok());
}
