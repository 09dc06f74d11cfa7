// ThreadHost: the real Host (threads, Asio, clocks, TCP); private to
// src/actor.
#pragma once

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "cmud/actor/host.h"
#include "cmud/actor/system.h"

namespace cmud::actor::detail {

class Transport;

// One thread and io_context per worker, and the TCP transport (with its own
// thread). Thread-safe as Host says.
class ThreadHost final : public Host {
 public:
  // Takes the network fields of config (host, port, listen, workers,
  // latency, limits, secret).
  explicit ThreadHost(const SystemConfig& config);
  ~ThreadHost() override;

  size_t worker_count() const override { return ios_.size(); }
  Result<std::string> start(HostInbox& inbox) override;
  void stop() override;
  void post(size_t worker, std::function<void()> task) override;
  void post_after(size_t worker, std::chrono::milliseconds delay,
                  std::function<void()> task) override;
  void send(const std::string& address, uint64_t target,
            const Message& msg) override;
  int64_t monotonic_ms() override;
  uint64_t wall_ms() override;
  FileSystem& files() override { return files_; }
  void run_background(size_t worker, Lane lane, std::function<void()> work,
                      std::function<void()> done) override;
  asio::io_context* io(size_t worker) override { return ios_[worker].get(); }

 private:
  const SystemConfig& config_;
  std::vector<std::unique_ptr<asio::io_context>> ios_;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>>
      guards_;
  std::vector<std::thread> threads_;
  // Threads for run_background's jobs, started on first use: one for
  // Lane::kLong, and one per worker for Lane::kSync (so that the workers'
  // syncs run side by side, as they would inline).
  struct Background {
    asio::io_context io;
    asio::executor_work_guard<asio::io_context::executor_type> guard{
        io.get_executor()};
    std::thread thread;
    std::once_flag once;
  };
  std::vector<std::unique_ptr<Background>> background_;  // long, then syncs
  std::unique_ptr<Transport> transport_;
  PosixFileSystem files_;
  const std::chrono::steady_clock::time_point start_ =
      std::chrono::steady_clock::now();
};

}  // namespace cmud::actor::detail
