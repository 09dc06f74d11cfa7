// Transport: remote tell over TCP; private to src/actor.
//
// Wire format: every frame is a u32 little-endian length followed by that
// many bytes. The first byte of a frame is its kind:
//   kHello     u32 magic "CMUD", u16 version, bytes sender address,
//              bytes nonce (32 bytes with a cluster secret, else empty),
//              u8 flags (kFlagFrameMacs: the dialer wants frame MACs)
//   kChallenge nonce (32 bytes), u8 agreed flags, mac (32 bytes)
//   kProof     mac (32 bytes)
//   kMessage   u64 target id, u32 message wire id, message body
// With TLS (TransportOptions::tls_*) the TLS handshake comes first, each
// side verifying the other's certificate; then all of the below runs inside
// it, without frame MACs. A connection starts with the connecting side's hello.
// With a cluster secret it is a mutual challenge-response before anything else:
// the acceptor answers with its own nonce and proof of the secret over both
// nonces (handshake.h); the dialer checks it and answers with its proof;
// only then does either side read or send a message frame. Until then a
// side accepts only the next handshake frame, of at most
// kMaxHandshakeFrame bytes, within the handshake timeout; anything else
// closes the connection and counts as an authentication failure. Without a
// secret the hello alone opens the connection (and a hello whose nonce
// disagrees with our having a secret is refused). With frame MACs agreed
// (either side asked: FrameMacs), every message frame after the handshake
// ends in a 16-byte MAC over its sequence number and bytes, under a key
// per direction (handshake.h). Each system sends to
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

#include "cmud/actor/host.h"
#include "cmud/actor/message.h"
#include "cmud/actor/system.h"
#include "cmud/common/status.h"
#include "cmud/tls/tls.h"

namespace cmud::actor::detail {

inline constexpr uint32_t kWireMagic = 0x44554d43;  // "CMUD"
inline constexpr uint16_t kWireVersion = 2;
inline constexpr uint8_t kFrameHello = 0;
inline constexpr uint8_t kFrameMessage = 1;
inline constexpr uint8_t kFrameChallenge = 2;
inline constexpr uint8_t kFrameProof = 3;
inline constexpr uint8_t kFlagFrameMacs = 1;
// A handshake frame is never larger (a hello's address is at most ~260).
inline constexpr size_t kMaxHandshakeFrame = 512;

struct TransportOptions {
  size_t max_frame = 64u << 20;
  // Bytes that may wait for one peer; past it messages to it are dropped.
  size_t max_queue = 64u << 20;
  std::chrono::milliseconds latency{0};
  // Empty: no cluster authentication.
  std::string cluster_secret{};
  std::chrono::milliseconds handshake_timeout{5000};
  FrameMacs frame_macs = FrameMacs::kAuto;
  // Both set: every connection is TLS, the acceptor as server; each side
  // verifies the other's certificate before the handshake above begins.
  std::shared_ptr<tls::Context> tls_server{};
  std::shared_ptr<tls::Context> tls_client{};
};

// Thread-safe: send() from any thread; everything else runs on the network
// thread that start() creates.
class Transport {
 public:
  Transport(HostInbox& inbox, TransportOptions options);
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
  // Called by an accepted connection once its peer is known (after the
  // hello, or with a secret after the peer's proof).
  void on_hello(const std::shared_ptr<Connection>& c,
                const std::string& remote);
  // Called by a dialled connection once the acceptor proved the secret.
  void on_authenticated(const std::shared_ptr<Connection>& c);
  // Whether this side asks for frame MACs on a connection.
  bool wants_frame_macs(const tls::Stream& stream) const;
  // code kOk: closed cleanly by the peer.
  void on_connection_closed(const std::shared_ptr<Connection>& c,
                            ErrorCode code, const std::string& why);

  HostInbox& sys_;
  const size_t max_frame_;
  const size_t max_queue_;
  const std::chrono::milliseconds latency_;
  const std::string secret_;
  const std::chrono::milliseconds handshake_timeout_;
  const FrameMacs frame_macs_;
  const std::shared_ptr<tls::Context> tls_server_;
  const std::shared_ptr<tls::Context> tls_client_;
  std::string self_address_;
  asio::io_context io_;
  asio::ip::tcp::acceptor acceptor_;
  std::thread thread_;
  std::once_flag close_once_;

  std::mutex peers_mu_;
  std::unordered_map<std::string, std::shared_ptr<Peer>> peers_;  // guarded
};

// Builds a hello frame (length prefix included); nonce is empty without a
// cluster secret.
std::string make_hello_frame(const std::string& self_address,
                             std::string_view nonce = {}, uint8_t flags = 0);

}  // namespace cmud::actor::detail
