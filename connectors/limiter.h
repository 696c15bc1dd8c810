// A counting semaphore that bounds how many calls to one provider run at once. One limiter is
// shared by every model (and embedder) of a provider; waiting for a slot is cancellable and
// bounded. Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>

#include "connectors/chat.h"
#include "index/result.h"

namespace chaja {

class ConcurrencyLimiter {
 public:
  // A held slot; released when destroyed. Empty (no limiter) permits are valid too.
  class Permit {
   public:
    Permit() = default;
    Permit(Permit&& other) noexcept : owner_(other.owner_) { other.owner_ = nullptr; }
    Permit& operator=(Permit&& other) noexcept;
    Permit(const Permit&) = delete;
    Permit& operator=(const Permit&) = delete;
    ~Permit() { release(); }
    void release();

   private:
    friend class ConcurrencyLimiter;
    explicit Permit(ConcurrencyLimiter* owner) : owner_(owner) {}
    ConcurrencyLimiter* owner_ = nullptr;
  };

  // limit <= 0: unlimited.
  explicit ConcurrencyLimiter(int limit) : limit_(limit) {}
  ConcurrencyLimiter(const ConcurrencyLimiter&) = delete;
  ConcurrencyLimiter& operator=(const ConcurrencyLimiter&) = delete;

  // Waits for a slot, checking `cancel` every 20 ms. kCancelled when cancelled, kTimeout when no
  // slot came free within `max_wait` (<= 0: wait without limit). The limiter must outlive the
  // permit.
  Result<Permit> acquire(const CancelFlag* cancel, std::chrono::milliseconds max_wait);

  int limit() const { return limit_; }
  int in_use() const;

 private:
  void give_back();

  const int limit_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  int in_use_ = 0;
};

}  // namespace chaja
