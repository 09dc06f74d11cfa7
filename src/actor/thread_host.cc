#include "thread_host.h"

#include <sys/resource.h>
#include <unistd.h>

#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <mutex>
#include <random>

#include "cmud/common/address.h"
#include "transport.h"

namespace cmud::actor::detail {

ThreadHost::ThreadHost(const SystemConfig& config) : config_(config) {
  size_t n = config.workers;
  if (n == 0) n = std::max(1u, std::thread::hardware_concurrency());
  for (size_t i = 0; i < n; ++i) {
    ios_.push_back(std::make_unique<asio::io_context>(1));
    guards_.push_back(asio::make_work_guard(*ios_.back()));
  }
  for (size_t i = 0; i <= n; ++i) {
    background_.push_back(std::make_unique<Background>());
  }
}

ThreadHost::~ThreadHost() { stop(); }

Result<std::string> ThreadHost::start(HostInbox& inbox) {
  TransportOptions options{.max_frame = config_.max_frame_bytes,
                           .max_queue = config_.max_peer_queue_bytes,
                           .latency = config_.emulated_latency,
                           .cluster_secret = config_.cluster_secret,
                           .handshake_timeout = config_.handshake_timeout,
                           .frame_macs = config_.frame_macs};
  if (config_.cluster_tls) {
    tls::TlsOptions o = *config_.cluster_tls;
    o.auth_clients = tls::AuthClients::kYes;  // members both ways
    if (o.ca_cert_file.empty()) {
      return Status(ErrorCode::kInvalidArgument,
                    "TLS between servers needs the CA that signs their "
                    "certificates (--tls-ca-cert-file)");
    }
    auto server = tls::server_context(o);
    if (!server.ok()) return server.status();
    auto client = tls::client_context(o);
    if (!client.ok()) return client.status();
    options.tls_server = *server;
    options.tls_client = *client;
  }
  transport_ = std::make_unique<Transport>(inbox, std::move(options));
  std::string address;
  if (config_.listen) {
    auto port = transport_->listen(config_.host, config_.port);
    if (!port.ok()) return port.status();
    address = join_host_port(config_.host, *port);
  } else {
    // Unreachable from elsewhere, unique within and across processes.
    std::random_device rd;
    address = "local-" + std::to_string(rd()) + std::to_string(rd()) + ":0";
  }
  transport_->start(address);
  for (size_t i = 0; i < ios_.size(); ++i) {
    threads_.emplace_back([this, i, &inbox] {
      inbox.enter_worker(i);
      ios_[i]->run();
    });
  }
  return address;
}

void ThreadHost::stop() {
  for (auto& g : guards_) g.reset();
  for (auto& io : ios_) io->stop();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  // The job under way finishes (a snapshot is written whole or not at all);
  // queued ones are dropped.
  for (auto& b : background_) {
    b->guard.reset();
    b->io.stop();
    if (b->thread.joinable()) b->thread.join();
  }
  if (transport_) transport_->close();
}

void ThreadHost::run_background(size_t worker, Lane lane,
                                std::function<void()> work,
                                std::function<void()> done) {
  Background& b = *background_[lane == Lane::kLong ? 0 : 1 + worker];
  // Started on first use: most systems never need it.
  std::call_once(b.once, [&b, lane] {
    b.thread = std::thread([&b, lane] {
      // Long file jobs (snapshots) yield to the workers: at the lowest
      // priority a waking worker preempts them at once, so queries do not
      // wait behind them (Linux: nice is per thread). They still progress
      // under full load, only more slowly. A sync mostly waits for the
      // disk, and its writes wait for it: it keeps the usual priority.
      if (lane == Lane::kLong) {
        (void)setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), 19);
      }
      b.io.run();
    });
  });
  asio::post(b.io, [this, worker, work = std::move(work),
                    done = std::move(done)]() mutable {
    work();
    post(worker, std::move(done));
  });
}

void ThreadHost::post(size_t worker, std::function<void()> task) {
  asio::post(*ios_[worker], std::move(task));
}

void ThreadHost::post_after(size_t worker, std::chrono::milliseconds delay,
                            std::function<void()> task) {
  auto timer = std::make_shared<asio::steady_timer>(*ios_[worker], delay);
  timer->async_wait(
      [timer, task = std::move(task)](const asio::error_code& ec) {
        if (!ec) task();
      });
}

void ThreadHost::send(const std::string& address, uint64_t target,
                      const Message& msg) {
  transport_->send(address, target, msg);
}

int64_t ThreadHost::monotonic_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now() - start_)
      .count();
}

uint64_t ThreadHost::wall_ms() {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(
          std::chrono::system_clock::now().time_since_epoch())
          .count());
}

}  // namespace cmud::actor::detail
