// Backoff schedule, jitter bounds, Retry-After parsing, retry decisions and the concurrency limit.
#include "connectors/retry.h"

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "connectors/limiter.h"

using namespace chaja;
using namespace std::chrono_literals;
using std::chrono::milliseconds;

namespace {

std::chrono::system_clock::time_point at(int64_t epoch_seconds) {
  return std::chrono::system_clock::time_point(std::chrono::seconds(epoch_seconds));
}

// 1994-11-06T08:49:37Z, the RFC's example date.
constexpr int64_t kRfcDate = 784111777;

}  // namespace

TEST_CASE("retry: exponential ceiling, capped", "[retry]") {
  RetryPolicy p;
  p.base_delay = 100ms;
  p.max_delay = 1000ms;
  CHECK(backoff_ceiling(p, 1) == 100ms);
  CHECK(backoff_ceiling(p, 2) == 200ms);
  CHECK(backoff_ceiling(p, 3) == 400ms);
  CHECK(backoff_ceiling(p, 4) == 800ms);
  CHECK(backoff_ceiling(p, 5) == 1000ms);
  CHECK(backoff_ceiling(p, 1000) == 1000ms);  // no overflow
  CHECK(backoff_ceiling(p, 0) == 100ms);
  p.base_delay = 0ms;
  CHECK(backoff_ceiling(p, 3) == 0ms);
}

TEST_CASE("retry: full jitter stays within [0, ceiling] and spreads", "[retry]") {
  CHECK(full_jitter(0ms, 12345) == 0ms);
  CHECK(full_jitter(-5ms, 12345) == 0ms);
  CHECK(full_jitter(100ms, 0) == 0ms);
  CHECK(full_jitter(100ms, 100) == 100ms);
  CHECK(full_jitter(100ms, 101) == 0ms);
  CHECK(full_jitter(100ms, UINT64_MAX) <= 100ms);
  milliseconds lo = 1000ms, hi = 0ms;
  for (int i = 0; i < 2000; ++i) {
    const milliseconds d = full_jitter(100ms, jitter_random());
    REQUIRE(d >= 0ms);
    REQUIRE(d <= 100ms);
    lo = std::min(lo, d);
    hi = std::max(hi, d);
  }
  CHECK(lo <= 10ms);
  CHECK(hi >= 90ms);
}

TEST_CASE("retry: Retry-After as seconds or an HTTP date", "[retry]") {
  const auto now = at(kRfcDate);
  CHECK(parse_retry_after("1", now) == milliseconds(1000));
  CHECK(parse_retry_after(" 120 ", now) == milliseconds(120000));
  CHECK(parse_retry_after("0", now) == milliseconds(0));
  CHECK(parse_retry_after("1.5", now) == milliseconds(1500));
  CHECK(parse_retry_after("99999999999999999999", now) == milliseconds(86'400'000));
  // The three date forms of RFC 9110, 30 s after `now`.
  CHECK(parse_retry_after("Sun, 06 Nov 1994 08:50:07 GMT", now) == milliseconds(30000));
  CHECK(parse_retry_after("Sunday, 06-Nov-94 08:50:07 GMT", now) == milliseconds(30000));
  CHECK(parse_retry_after("Sun Nov  6 08:50:07 1994", now) == milliseconds(30000));
  // A date in the past: retry at once.
  CHECK(parse_retry_after("Sun, 06 Nov 1994 08:00:00 GMT", now) == milliseconds(0));
  CHECK(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", at(1445412480 - 2)) ==
        milliseconds(2000));
  for (const char* bad : {"", "soon", "-1", "1s", "12ms", "Sun, 06 Nov 1994 08:50:07", "1e3",
                          "Sun, 32 Nov 1994 08:50:07 GMT", "Sun, 06 Foo 1994 08:50:07 GMT",
                          "Sun, 06 Nov 1994 25:50:07 GMT", "\xff\xfe"})
    CHECK_FALSE(parse_retry_after(bad, now));
}

TEST_CASE("retry: headers, provider waits capped", "[retry]") {
  const auto now = at(kRfcDate);
  HttpHeaders h;
  CHECK_FALSE(retry_after_from(h, now));
  h.add("Retry-After", "2");
  CHECK(retry_after_from(h, now) == milliseconds(2000));
  h.add("retry-after-ms", "150");
  CHECK(retry_after_from(h, now) == milliseconds(150));  // the precise one wins

  RetryPolicy p;
  p.base_delay = 100ms;
  p.max_delay = 1000ms;
  p.max_retry_after = 5000ms;
  CHECK(retry_delay(p, 1, milliseconds(2000), 0) == 2000ms);
  CHECK(retry_delay(p, 1, milliseconds(60000), 0) == 5000ms);  // capped
  CHECK(retry_delay(p, 3, std::nullopt, 400) == 400ms);
  CHECK(retry_delay(p, 3, std::nullopt, 401) == 0ms);
}

TEST_CASE("retry: which statuses and failures are retried", "[retry]") {
  for (int s : {408, 409, 429, 500, 502, 503, 504, 529}) CHECK(retryable_status(s));
  for (int s : {200, 400, 401, 403, 404, 413, 422}) CHECK_FALSE(retryable_status(s));
  HttpHeaders no;
  no.add("x-should-retry", "false");
  CHECK_FALSE(retryable_response(529, no));
  HttpHeaders yes;
  yes.add("x-should-retry", "true");
  CHECK(retryable_response(400, yes));

  CHECK(retryable_transport_error({ErrorKind::kUnavailable, "could not connect to x"}));
  CHECK(retryable_transport_error({ErrorKind::kUpstream, "response from x cut short"}));
  CHECK_FALSE(retryable_transport_error({ErrorKind::kUpstream, "TLS failure with x"}));
  CHECK(retryable_transport_error({ErrorKind::kTimeout, "connect timeout: no connection"}));
  CHECK_FALSE(retryable_transport_error({ErrorKind::kTimeout, "idle timeout: x sent nothing"}));
  CHECK_FALSE(retryable_transport_error({ErrorKind::kInvalidInput, "bad URL"}));
}

TEST_CASE("retry: cancellable sleep", "[retry]") {
  CHECK(sleep_cancellable(5ms, nullptr));
  CancelFlag cancel{true};
  const auto start = std::chrono::steady_clock::now();
  CHECK_FALSE(sleep_cancellable(5000ms, &cancel));
  CHECK(std::chrono::steady_clock::now() - start < 500ms);
}

TEST_CASE("limiter: at most N at once, cancellable and bounded waits", "[retry][limiter]") {
  ConcurrencyLimiter limiter(2);
  auto a = limiter.acquire(nullptr, 0ms);
  auto b = limiter.acquire(nullptr, 0ms);
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  CHECK(limiter.in_use() == 2);

  auto timed_out = limiter.acquire(nullptr, 40ms);
  REQUIRE_FALSE(timed_out.ok());
  CHECK(timed_out.error().kind == ErrorKind::kTimeout);

  CancelFlag cancel{false};
  std::thread canceller([&] {
    std::this_thread::sleep_for(30ms);
    cancel = true;
  });
  auto cancelled = limiter.acquire(&cancel, 0ms);
  canceller.join();
  REQUIRE_FALSE(cancelled.ok());
  CHECK(cancelled.error().kind == ErrorKind::kCancelled);

  // A waiter gets the slot as soon as one is released.
  std::thread releaser([&] {
    std::this_thread::sleep_for(30ms);
    a.value().release();
  });
  auto c = limiter.acquire(nullptr, 2000ms);
  releaser.join();
  CHECK(c.ok());
  CHECK(limiter.in_use() == 2);

  // Many threads: never more than 2 inside.
  ConcurrencyLimiter shared(2);
  std::atomic<int> inside{0}, peak{0}, failures{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i)
    threads.emplace_back([&] {
      auto p = shared.acquire(nullptr, 5000ms);
      if (!p.ok()) {
        ++failures;
        return;
      }
      const int now = ++inside;
      int seen = peak.load();
      while (now > seen && !peak.compare_exchange_weak(seen, now)) {
      }
      std::this_thread::sleep_for(5ms);
      --inside;
    });
  for (auto& t : threads) t.join();
  CHECK(failures.load() == 0);
  CHECK(peak.load() <= 2);
  CHECK(shared.in_use() == 0);

  ConcurrencyLimiter unlimited(0);
  std::vector<ConcurrencyLimiter::Permit> many;
  for (int i = 0; i < 100; ++i) many.push_back(std::move(unlimited.acquire(nullptr, 0ms).value()));
  CHECK(unlimited.in_use() == 0);
}
