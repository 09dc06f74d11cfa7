// Mailbox: an unbounded FIFO with blocking and non-blocking takes, and close.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <optional>
#include <utility>

namespace cmud::actor {

// An unbounded multi-producer FIFO. push never blocks; pop blocks until an
// item arrives or the mailbox is closed; close wakes every waiter and
// discards what is pending; push after close is dropped.
// Thread-safe: any thread may call any member.
template <class T>
class Mailbox {
 public:
  Mailbox() = default;
  Mailbox(const Mailbox&) = delete;
  Mailbox& operator=(const Mailbox&) = delete;

  // Appends v. Returns false (and drops v) when closed.
  bool push(T v) {
    {
      std::lock_guard lock(mu_);
      if (closed_) return false;
      items_.push_back(std::move(v));
    }
    cv_.notify_one();
    return true;
  }

  // Blocks until an item is available (returns it) or the mailbox is closed
  // (returns nullopt, even if items were pending).
  std::optional<T> pop() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return closed_ || !items_.empty(); });
    if (closed_) return std::nullopt;
    return take_front();
  }

  // Never blocks: the next item, or nullopt when empty or closed.
  std::optional<T> try_pop() {
    std::lock_guard lock(mu_);
    if (closed_ || items_.empty()) return std::nullopt;
    return take_front();
  }

  // Never blocks: moves up to max items, in order, to the back of out and
  // returns how many. One lock for the whole batch (the scheduler's path).
  template <class Out>
  size_t drain(Out& out, size_t max) {
    std::lock_guard lock(mu_);
    if (closed_) return 0;
    size_t n = 0;
    while (n < max && !items_.empty()) {
      out.push_back(std::move(items_.front()));
      items_.pop_front();
      ++n;
    }
    return n;
  }

  // Idempotent. Discards pending items and wakes every blocked pop.
  void close() {
    std::deque<T> discarded;
    {
      std::lock_guard lock(mu_);
      closed_ = true;
      discarded.swap(items_);
    }
    cv_.notify_all();
    // discarded is destroyed outside the lock.
  }

  bool closed() const {
    std::lock_guard lock(mu_);
    return closed_;
  }
  bool empty() const {
    std::lock_guard lock(mu_);
    return items_.empty();
  }
  size_t size() const {
    std::lock_guard lock(mu_);
    return items_.size();
  }

 private:
  T take_front() {
    T v = std::move(items_.front());
    items_.pop_front();
    return v;
  }

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<T> items_;
  bool closed_ = false;
};

}  // namespace cmud::actor
