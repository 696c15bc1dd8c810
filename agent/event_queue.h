// The hand-over between a stream's worker thread and the caller pulling its events: the worker
// pushes events and closes the queue; next() blocks until an event or the close, wait_for()
// waits with a timeout. Used by the answer streams that run on a thread of their own.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>

#include "agent/answer.h"

namespace chaja {

class EventQueue {
 public:
  void push(AnswerEvent e) {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.push_back(std::move(e));
    ready_.notify_one();
  }

  // No more events will come: next() returns nullopt once the queue is drained.
  void close() {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
    ready_.notify_one();
  }

  std::optional<AnswerEvent> next() {
    std::unique_lock<std::mutex> lock(mu_);
    ready_.wait(lock, [&] { return !queue_.empty() || closed_; });
    if (queue_.empty()) return std::nullopt;
    AnswerEvent e = std::move(queue_.front());
    queue_.pop_front();
    return e;
  }

  // True when next() would not block.
  bool wait_for(std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    return ready_.wait_for(lock, timeout, [&] { return !queue_.empty() || closed_; });
  }

 private:
  std::mutex mu_;
  std::condition_variable ready_;
  std::deque<AnswerEvent> queue_;
  bool closed_ = false;
};

}  // namespace chaja
