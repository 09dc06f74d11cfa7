// The client library seen from outside: what a request in flight costs.
#include <gtest/gtest.h>
#include <time.h>

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <chrono>
#include <iostream>
#include <thread>

#include "cluster.h"

namespace cmud::system_test {
namespace {

std::chrono::milliseconds process_cpu_time() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec));
}

// A server that accepts one connection and never answers.
class SilentServer {
 public:
  SilentServer()
      : acceptor_(io_, {asio::ip::make_address("127.0.0.1"), 0}), socket_(io_) {
    acceptor_.async_accept(socket_, [](const asio::error_code&) {});
    thread_ = std::thread([this] { io_.run(); });
  }
  ~SilentServer() {
    io_.stop();
    thread_.join();
  }
  std::string addr() const {
    return "127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port());
  }

 private:
  asio::io_context io_;
  asio::ip::tcp::acceptor acceptor_;
  asio::ip::tcp::socket socket_;
  std::thread thread_;
};

// While a request waits for its reply, the client's I/O thread sleeps: a
// request that waits 1 s for its timeout costs (almost) no CPU.
TEST(ClientCpu, ARequestWaitingOneSecondForAReplyUsesAlmostNoCpu) {
  SilentServer server;
  client::Client c(std::make_shared<client::FixedRouter>(server.addr()),
                   {.timeout = 1000ms});
  auto before = process_cpu_time();
  auto r = c.get("foo");
  auto used = process_cpu_time() - before;
  EXPECT_EQ(r.status().code(), ErrorCode::kTimeout) << r.status().to_string();
  std::cout << "[ cpu      ] " << used.count()
            << " ms of CPU while one request waited 1 s\n";
  EXPECT_LE(used.count(), 50)
      << "the client spins while a request is in flight";
}

}  // namespace
}  // namespace cmud::system_test
