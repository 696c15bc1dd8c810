#include "agent/rate_limit.h"

#include <cmath>

namespace chaja {

int RateLimiter::take(const std::string& key, int per_minute, Clock::time_point now) {
  if (per_minute <= 0) return 0;
  const double capacity = per_minute;
  const double per_second = per_minute / 60.0;
  std::lock_guard lock(mu_);
  auto [it, added] = buckets_.try_emplace(key, Bucket{capacity, now});
  Bucket& b = it->second;
  if (!added) {
    const double elapsed = std::chrono::duration<double>(now - b.at).count();
    b.tokens = std::min(capacity, b.tokens + std::max(0.0, elapsed) * per_second);
    b.at = now;
  }
  if (b.tokens >= 1) {
    b.tokens -= 1;
    return 0;
  }
  return std::max(1, static_cast<int>(std::ceil((1 - b.tokens) / per_second)));
}

std::shared_ptr<void> RateLimiter::open_stream(const std::string& key, int max) {
  std::lock_guard lock(mu_);
  int& open = streams_[key];
  if (max > 0 && open >= max) return nullptr;
  ++open;
  return std::shared_ptr<void>(this, [this, key](void*) {  // owns nothing; releases the slot
    std::lock_guard release(mu_);
    if (--streams_[key] == 0) streams_.erase(key);
  });
}

}  // namespace chaja
