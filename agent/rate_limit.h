// Per-key limits: requests per minute (a token bucket per key: a burst of up to a minute's worth,
// refilled continuously) and concurrent answer streams. Thread-safe. Over a limit, the caller
// gets 429 with Retry-After (server.cpp).
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace chaja {

class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;

  // Takes one request from key's bucket of `per_minute` (0: no limit). Returns 0 when allowed,
  // else the whole seconds until a request would be (at least 1).
  int take(const std::string& key, int per_minute, Clock::time_point now = Clock::now());

  // A stream slot for key, held until the returned handle is destroyed; null when key already
  // holds `max` streams.
  std::shared_ptr<void> open_stream(const std::string& key, int max);

 private:
  struct Bucket {
    double tokens = 0;
    Clock::time_point at;
  };
  std::mutex mu_;
  std::map<std::string, Bucket> buckets_;
  std::map<std::string, int> streams_;
};

}  // namespace chaja
