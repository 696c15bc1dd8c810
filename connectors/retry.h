// Retry policy for provider calls: exponential backoff with full jitter, Retry-After parsing, and
// which failures are worth another attempt. Pure functions (the random draw is an argument) so
// they are unit-tested exactly; sleep_cancellable() is the one that waits.
//
// The schedule: before retry n (n = 1 for the second attempt) the wait is drawn uniformly from
// [0, min(max_delay, base_delay * 2^(n-1))] ("full jitter", AWS architecture blog 2015). When the
// provider said how long to wait (Retry-After in seconds or as an HTTP date, or OpenAI's
// retry-after-ms), that wait is used instead, capped at max_retry_after.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

#include "connectors/chat.h"
#include "connectors/http_client.h"

namespace chaja {

struct RetryPolicy {
  int max_attempts = 3;  // attempts in all (1: no retry)
  std::chrono::milliseconds base_delay{500};
  std::chrono::milliseconds max_delay{8'000};
  std::chrono::milliseconds max_retry_after{20'000};  // cap on a provider-given wait
};

// Upper bound of the jittered wait before retry n (n >= 1).
std::chrono::milliseconds backoff_ceiling(const RetryPolicy& policy, int retry);

// Full jitter: `random` (any 64-bit value) mapped uniformly onto [0, ceiling].
std::chrono::milliseconds full_jitter(std::chrono::milliseconds ceiling, uint64_t random);

// A Retry-After value: delta-seconds ("120", "1.5" tolerated) or an HTTP date (IMF-fixdate,
// e.g. "Wed, 21 Oct 2015 07:28:00 GMT"; also RFC 850 and asctime forms), relative to `now`.
// A date in the past gives 0. nullopt when the value is neither.
std::optional<std::chrono::milliseconds> parse_retry_after(
    std::string_view value, std::chrono::system_clock::time_point now);

// The wait the response asks for: `retry-after-ms` (milliseconds, OpenAI) first, then
// `Retry-After`. nullopt when neither is present and valid.
std::optional<std::chrono::milliseconds> retry_after_from(
    const HttpHeaders& headers, std::chrono::system_clock::time_point now);

// The wait before retry n: the provider's (capped) when given, else full jitter.
std::chrono::milliseconds retry_delay(const RetryPolicy& policy, int retry,
                                      std::optional<std::chrono::milliseconds> provider_wait,
                                      uint64_t random);

// HTTP statuses worth retrying: 408, 409 (lock conflicts), 429, and every 5xx (incl. 503 model
// loading and 529 overloaded). A response's `x-should-retry: true|false` header overrides this.
bool retryable_status(int status);
bool retryable_response(int status, const HttpHeaders& headers);

// Transport failures worth retrying: no connection (kUnavailable), a response cut short or
// malformed at the HTTP level (kUpstream), and the connect timeout. Other timeouts are not
// retried: the user has already waited that long.
bool retryable_transport_error(const Error& error);

// A random 64-bit value for the jitter (thread-local generator seeded from random_device).
uint64_t jitter_random();

// Sleeps for `duration`, waking every 20 ms to check the flag. False when cancelled.
bool sleep_cancellable(std::chrono::milliseconds duration, const CancelFlag* cancel);

}  // namespace chaja
