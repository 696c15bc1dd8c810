#include "agent/rate_limit.h"

#include <catch2/catch.hpp>

using namespace chaja;
using namespace std::chrono_literals;

TEST_CASE("rate limiter: a minute's worth of burst, then refilled continuously", "[rate_limit]") {
  RateLimiter limits;
  const auto t0 = RateLimiter::Clock::time_point{} + 1000s;
  for (int i = 0; i < 3; ++i) CHECK(limits.take("k_1", 3, t0) == 0);
  CHECK(limits.take("k_1", 3, t0) == 20);        // one request every 20 s
  CHECK(limits.take("k_1", 3, t0 + 10s) == 10);  // half refilled
  CHECK(limits.take("k_1", 3, t0 + 20s) == 0);   // one back
  CHECK(limits.take("k_1", 3, t0 + 20s) == 20);
  CHECK(limits.take("k_2", 3, t0) == 0);          // buckets are per key
  CHECK(limits.take("k_1", 0, t0) == 0);          // 0: no limit
  CHECK(limits.take("k_1", 600, t0 + 21s) == 0);  // a raised limit takes effect
}

TEST_CASE("rate limiter: concurrent streams per key", "[rate_limit]") {
  RateLimiter limits;
  auto a = limits.open_stream("k_1", 2);
  auto b = limits.open_stream("k_1", 2);
  REQUIRE(a);
  REQUIRE(b);
  CHECK(!limits.open_stream("k_1", 2));
  CHECK(limits.open_stream("k_2", 2));  // another key's own slots
  a.reset();
  auto c = limits.open_stream("k_1", 2);
  CHECK(c);
  CHECK(!limits.open_stream("k_1", 2));
}
