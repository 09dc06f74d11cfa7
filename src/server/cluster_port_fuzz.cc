// libFuzzer harness: a server's cluster port as a stranger sees it — the
// frame decoder, the handshake and the decoding of every message type the
// server knows. Each input is one TCP connection to a real actor system on
// loopback: its first byte picks the system (0: no cluster secret, so a
// hello opens the connection and message frames are decoded; 1: a secret,
// so only the handshake is reachable; 2: a secret and frame MACs on every
// link), the rest is written, the sending side shut, and everything read
// until the system closes the connection. A connection the system never
// closes after end of input is a hang (libFuzzer's -timeout reports it).
// The systems hold no actors, so a decoded message goes nowhere: what
// actors do with messages is sync_fuzz.cc's part.
#include <openssl/crypto.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <array>
#include <asio/connect.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/read.hpp>
#include <asio/write.hpp>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "cmud/actor/system.h"
#include "messages.h"

namespace {

using cmud::actor::FrameMacs;
using cmud::actor::System;
using cmud::actor::SystemConfig;

// Every message type of the server, registered as in a server process.
void register_types() {
  using namespace cmud::server;
  using cmud::actor::message_type;
  (void)message_type<QueryReply>();
  (void)message_type<QueryRequest>();
  (void)message_type<SyncBatch>();
  (void)message_type<SyncTick>();
  (void)message_type<RepairTick>();
  (void)message_type<ReplicaEntries>();
  (void)message_type<ReadReplica>();
  (void)message_type<AddServer>();
  (void)message_type<StartCoordinator>();
  (void)message_type<JoinRequest>();
  (void)message_type<JoinReply>();
  (void)message_type<JoinTick>();
  (void)message_type<Gossip>();
  (void)message_type<ServerState>();
  (void)message_type<GossipTick>();
  (void)message_type<StartSnapshot>();
  (void)message_type<RotateLog>();
  (void)message_type<LogRotated>();
  (void)message_type<SnapshotWritten>();
  (void)message_type<LogSynced>();
  (void)message_type<SnapshotState>();
}

std::unique_ptr<System> make(const std::string& secret, FrameMacs macs) {
  SystemConfig c;
  c.host = "127.0.0.1";
  c.port = 0;
  c.workers = 1;
  c.cluster_secret = secret;
  c.frame_macs = macs;
  c.on_error = [](const cmud::Status&) {};
  auto s = System::create(std::move(c));
  if (!s.ok()) std::abort();
  return std::move(s).value();
}

struct Targets {
  std::array<std::unique_ptr<System>, 3> systems;
  asio::io_context io;
};

Targets& targets() {
  static Targets* t = [] {
    spdlog::set_level(spdlog::level::off);
    register_types();
    auto* t = new Targets;
    const std::string secret = "fuzzing-cluster-secret-0123456789";
    t->systems[0] = make("", FrameMacs::kAuto);
    t->systems[1] = make(secret, FrameMacs::kAuto);
    t->systems[2] = make(secret, FrameMacs::kAlways);
    // Closed before the process's statics go (their threads use them).
    // libcrypto is told not to tear itself down at exit: its exit handler
    // could run first, and then the threads' per-thread state (freed as
    // each thread ends) would be left over and reported as leaks.
    OPENSSL_init_crypto(OPENSSL_INIT_NO_ATEXIT, nullptr);
    std::atexit([] { delete &targets(); });
    return t;
  }();
  return *t;
}

asio::ip::tcp::endpoint endpoint_of(const std::string& address) {
  auto colon = address.rfind(':');
  return {asio::ip::make_address(address.substr(0, colon)),
          static_cast<uint16_t>(std::stoi(address.substr(colon + 1)))};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  Targets& t = targets();
  const System& target = *t.systems[data[0] % t.systems.size()];
  asio::ip::tcp::socket socket(t.io);
  asio::error_code ec;
  // Each connection from its own loopback address (127.1.x.y, in turn):
  // thousands of connections a second leave their closed ends waiting
  // (TIME_WAIT) for a minute, more than one address has ports for.
  static uint32_t next_source = 0;
  uint32_t slot = next_source++ % 65000;
  asio::ip::address_v4 source((127u << 24) | (1u << 16) | (slot / 250) << 8 |
                              (slot % 250 + 1));
  socket.open(asio::ip::tcp::v4(), ec);
  if (!ec) socket.bind(asio::ip::tcp::endpoint(source, 0), ec);
  if (!ec) socket.connect(endpoint_of(target.address()), ec);
  if (ec == asio::error::interrupted) {
    // libFuzzer's timer signal: the connect goes on; wait for its end.
    pollfd p{socket.native_handle(), POLLOUT, 0};
    int err = 0;
    socklen_t len = sizeof err;
    int ready = -1;
    for (int i = 0; i < 100 && ready < 0; ++i) ready = ::poll(&p, 1, 10'000);
    if (ready == 1 &&
        ::getsockopt(p.fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0) {
      ec = asio::error_code(err, asio::error::get_system_category());
    }
  }
  if (ec) {
    std::fprintf(stderr, "cannot connect from %s: %s\n",
                 source.to_string().c_str(), ec.message().c_str());
    std::abort();  // our own system on loopback: must accept
  }
  // All of the input (a write may fail once the system refused the
  // connection), then end of input, then whatever comes until it closes;
  // the timer signal only interrupts.
  for (size_t sent = 1; sent < size;) {
    size_t n = socket.write_some(asio::buffer(data + sent, size - sent), ec);
    if (ec == asio::error::interrupted) continue;
    if (ec) break;
    sent += n;
  }
  socket.shutdown(asio::ip::tcp::socket::shutdown_send, ec);
  std::array<char, 4096> sink;
  while (true) {
    socket.read_some(asio::buffer(sink), ec);
    if (ec == asio::error::interrupted) continue;
    if (ec) break;  // end of stream or reset: the system closed it
  }
  socket.close(ec);
  return 0;
}
