#include "connectors/limiter.h"

#include <string>

namespace chaja {

ConcurrencyLimiter::Permit& ConcurrencyLimiter::Permit::operator=(Permit&& other) noexcept {
  if (this != &other) {
    release();
    owner_ = other.owner_;
    other.owner_ = nullptr;
  }
  return *this;
}

void ConcurrencyLimiter::Permit::release() {
  if (owner_ != nullptr) owner_->give_back();
  owner_ = nullptr;
}

Result<ConcurrencyLimiter::Permit> ConcurrencyLimiter::acquire(const CancelFlag* cancel,
                                                               std::chrono::milliseconds max_wait) {
  if (limit_ <= 0) return Permit();
  const auto start = std::chrono::steady_clock::now();
  std::unique_lock<std::mutex> lock(mu_);
  while (in_use_ >= limit_) {
    if (cancel != nullptr && cancel->load())
      return make_error(ErrorKind::kCancelled, "cancelled while waiting for a free call slot");
    if (max_wait.count() > 0 && std::chrono::steady_clock::now() - start >= max_wait)
      return make_error(ErrorKind::kTimeout,
                        "no free call slot within " + std::to_string(max_wait.count()) + " ms (" +
                            std::to_string(limit_) + " calls already running)");
    cv_.wait_for(lock, std::chrono::milliseconds(20));
  }
  ++in_use_;
  return Permit(this);
}

int ConcurrencyLimiter::in_use() const {
  std::lock_guard<std::mutex> lock(mu_);
  return in_use_;
}

void ConcurrencyLimiter::give_back() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    --in_use_;
  }
  cv_.notify_one();
}

}  // namespace chaja
