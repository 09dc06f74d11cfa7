// Transport: remote tell over TCP; private to src/actor.
//
// Wire format: every frame is a u32 little-endian length followed by that
// many bytes. The first byte of a frame is its kind:
//   kHello   u32 magic "CMUD", u16 version, bytes sender address
//   kMessage u64 target id, u32 message wire id, message body
// A connection starts with the connecting side's hello. Each system sends to
// a peer on one connection: the one it opened, or the one the peer opened if
// that came first, so there is one connection per pair unless both dial at
// the same instant (then each keeps sending on its own, order is still kept).
#pragma once

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>

#include "cmud/actor/message.h"
#include "cmud/common/status.h"

namespace cmud::actor::detail {

class SystemImpl;

inline constexpr uint32_t kWireMagic = 0x44554d43;  // "CMUD"
inline constexpr uint16_t kWireVersion = 1;
inline constexpr uint8_t kFrameHello = 0;
inline constexpr uint8_t kFrameMessage = 1;

// Thread-safe: send() from any thread; everything else runs on the network
// thread that start() creates.
class Transport {
 public:
  Transport(SystemImpl& sys, size_t max_frame,
            std::chrono::milliseconds latency);
  ~Transport();

  // Binds and listens; returns the bound port. Call before start().
  Result<uint16_t> listen(const std::string& host, uint16_t port);
  void start(std::string self_address);
  // Stops the network thread and closes every connection. Idempotent.
  void close();

  // Encodes msg for `target` on the system at `address` and queues it.
  void send(const std::string& address, uint64_t target, const Message& msg);

 private:
  class Connection;
  struct Peer;
  using Clock = std::chrono::steady_clock;

  std::shared_ptr<Peer> peer(const std::string& address);
  void post_flush(const std::shared_ptr<Peer>& p);
  void flush(const std::shared_ptr<Peer>& p);
  void write(const std::shared_ptr<Peer>& p,
             const std::shared_ptr<Connection>& c);
  void connect(const std::shared_ptr<Peer>& p);
  void connected(const std::shared_ptr<Peer>& p, std::shared_ptr<Connection> c);
  void peer_failed(const std::shared_ptr<Peer>& p, ErrorCode code,
                   const std::string& why);
  void accept();
  // Called by a connection on its first (hello) frame.
  void on_hello(const std::shared_ptr<Connection>& c,
                const std::string& remote);
  // code kOk: closed cleanly by the peer.
  void on_connection_closed(const std::shared_ptr<Connection>& c,
                            ErrorCode code, const std::string& why);

  SystemImpl& sys_;
  const size_t max_frame_;
  const std::chrono::milliseconds latency_;
  std::string self_address_;
  asio::io_context io_;
  asio::ip::tcp::acceptor acceptor_;
  std::thread thread_;
  std::once_flag close_once_;

  std::mutex peers_mu_;
  std::unordered_map<std::string, std::shared_ptr<Peer>> peers_;  // guarded
};

// Builds a hello frame (length prefix included).
std::string make_hello_frame(const std::string& self_address);

}  // namespace cmud::actor::detail
