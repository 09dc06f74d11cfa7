#include "transport.h"

#include <spdlog/spdlog.h>
#include <algorithm>
#include <asio/connect.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/post.hpp>
#include <asio/write.hpp>
#include <cstring>
#include <functional>
#include <optional>
#include <unordered_set>

#include "cmud/actor/listen.h"
#include "cmud/common/address.h"
#include "handshake.h"

namespace cmud::actor::detail {

using asio::ip::tcp;

namespace {

constexpr size_t kReadChunk = 64 * 1024;
constexpr auto kConnectTimeout = std::chrono::seconds(5);
// Messages queued within this span of each other share one batch (and so
// one write) under emulated latency; each is late by at most this much.
constexpr auto kBatchSpan = std::chrono::milliseconds(1);

void put_u32(std::string& out, size_t at, uint32_t v) {
  std::memcpy(out.data() + at, &v, sizeof v);
}

}  // namespace

std::string make_hello_frame(const std::string& self_address,
                             std::string_view nonce, uint8_t flags) {
  std::string f(4, '\0');
  codec::Writer w(f);
  w.fixed(kFrameHello);
  w.fixed(kWireMagic);
  w.fixed(kWireVersion);
  w.bytes(self_address);
  w.bytes(nonce);
  w.fixed(flags);
  put_u32(f, 0, static_cast<uint32_t>(f.size() - 4));
  return f;
}

namespace {

// Nonce and Mac are both 32-byte arrays.
std::string_view bytes_of(const Nonce& n) {
  return {reinterpret_cast<const char*>(n.data()), n.size()};
}

// A challenge or proof frame (length prefix included).
std::string make_frame(uint8_t kind, std::string_view a,
                       std::string_view b = {}) {
  std::string f(4, '\0');
  f += static_cast<char>(kind);
  f += a;
  f += b;
  put_u32(f, 0, static_cast<uint32_t>(f.size() - 4));
  return f;
}

}  // namespace

// What is queued for one remote system, and the connection it goes out on.
struct Transport::Peer {
  Peer(asio::io_context& io, std::string addr)
      : address(std::move(addr)), timer(io) {}

  struct Batch {
    Clock::time_point due;
    std::string bytes;
    size_t count = 0;
  };

  const std::string address;

  std::mutex mu;
  std::deque<Batch> queue;    // guarded by mu
  size_t queued_bytes = 0;    // guarded by mu: bytes in queue
  bool overflowing = false;   // guarded by mu: dropping since reported
  bool flush_posted = false;  // guarded by mu

  // Network thread only.
  enum class State { kIdle, kConnecting, kUp } state = State::kIdle;
  std::shared_ptr<Connection> conn;
  bool timer_armed = false;
  // Failed since it last answered: later failures are not reported again
  // (a dead peer would otherwise log each retry).
  bool failing = false;
  asio::steady_timer timer;
};

// One TCP connection, either direction. Network thread only.
class Transport::Connection : public std::enable_shared_from_this<Connection> {
 public:
  // TLS when the transport has contexts: the acceptor's side is the TLS
  // server.
  Connection(Transport& t, tcp::socket socket, bool outbound)
      : t_(t),
        stream_(std::move(socket),
                outbound ? t.tls_client_.get() : t.tls_server_.get()),
        outbound_(outbound),
        handshake_timer_(stream_.socket().get_executor()) {
    asio::error_code ec;
    stream_.socket().set_option(tcp::no_delay(true), ec);
  }

  tls::Stream& stream() { return stream_; }

  // Runs the TLS handshake (each side verifies the other's certificate),
  // then `done`; a plain connection runs `done` at once. A failure or a
  // handshake past the timeout closes the connection as refused.
  void secure(std::function<void()> done) {
    if (!stream_.tls()) {
      done();
      return;
    }
    handshake_timer_.expires_after(t_.handshake_timeout_);
    handshake_timer_.async_wait(
        [self = shared_from_this()](const asio::error_code& ec) {
          if (!ec && !self->secured_) {
            self->refuse("no TLS handshake within " +
                         std::to_string(self->t_.handshake_timeout_.count()) +
                         " ms");
          }
        });
    stream_.async_handshake(
        outbound_ ? tls::Stream::kClient : tls::Stream::kServer,
        [self = shared_from_this(),
         done = std::move(done)](const asio::error_code& ec) {
          if (!self->open_) return;
          self->handshake_timer_.cancel();
          if (ec) {
            self->refuse("TLS handshake failed: " +
                         tls::describe_error(ec, self->stream_));
            return;
          }
          self->secured_ = true;
          done();
        });
  }
  bool open() const { return open_; }
  const std::string& remote() const { return remote_; }
  void set_remote(std::string r) { remote_ = std::move(r); }

  // Starts reading; `nonce` is the one our hello carried (dialled
  // connections with a cluster secret).
  void start_reading(std::optional<Nonce> nonce = std::nullopt,
                     uint8_t flags = 0) {
    // An outbound connection's peer is known; it never sends a hello back.
    if (outbound_) hello_seen_ = true;
    my_nonce_ = nonce;
    flags_ = flags;
    ready_ = !outbound_ ? false : !nonce.has_value();
    buf_.resize(kMaxHandshakeFrame + 4);
    if (!ready_) {
      handshake_timer_.expires_after(t_.handshake_timeout_);
      handshake_timer_.async_wait(
          [self = shared_from_this()](const asio::error_code& ec) {
            if (!ec && !self->ready_) {
              self->refuse("no complete handshake within " +
                           std::to_string(self->t_.handshake_timeout_.count()) +
                           " ms");
            }
          });
    }
    read();
  }

  // The write in flight on this connection, owned here so that a stale
  // completion never touches a newer connection's buffer.
  std::string wbuf;
  bool writing = false;
  // Handshake bytes that go out before anything queued for the peer.
  std::string control;

  void close() {
    if (!open_) return;
    open_ = false;
    handshake_timer_.cancel();
    stream_.close();
  }

 private:
  void read() {
    // Before the handshake completes, nothing larger than one handshake
    // frame is buffered, whatever length the peer announces. After it, the
    // buffer grows with the bytes that arrive (doubling, up to the frame
    // in progress), never to a length that was only announced.
    if (ready_ && len_ + kReadChunk / 4 > buf_.size()) {
      size_t doubled = std::min(buf_.size() * 2, pending_frame_ + kReadChunk);
      buf_.resize(std::max(len_ + kReadChunk, doubled));
    }
    stream_.async_read_some(
        asio::buffer(buf_.data() + len_, buf_.size() - len_),
        [self = shared_from_this()](const asio::error_code& ec, size_t n) {
          self->on_read(ec, n);
        });
  }

  void on_read(const asio::error_code& ec, size_t n) {
    if (!open_) return;
    if (ec) {
      bool eof = ec == asio::error::eof ||
                 ec == asio::error::connection_reset ||
                 ec == asio::error::operation_aborted;
      if (!ready_ && ec != asio::error::operation_aborted) {
        // Gone before proving anything: counted like any failed attempt.
        refuse("connection closed during the handshake");
        return;
      }
      fail(eof ? ErrorCode::kOk : ErrorCode::kUnavailable,
           eof ? "connection closed by peer" : "read failed: " + ec.message());
      return;
    }
    t_.sys_.add_remote_bytes(n);
    len_ += n;
    if (!parse()) return;
    read();
  }

  // Handles every complete frame in the buffer. False if the connection
  // was closed because of what it sent.
  bool parse() {
    size_t pos = 0;
    while (len_ - pos >= 4) {
      uint32_t flen = 0;
      std::memcpy(&flen, buf_.data() + pos, 4);
      if (!ready_ && (flen == 0 || flen > kMaxHandshakeFrame)) {
        refuse("handshake frame of " + std::to_string(flen) +
               " bytes refused (limit " + std::to_string(kMaxHandshakeFrame) +
               ")");
        return false;
      }
      if (flen == 0 || flen > t_.max_frame_ + (macs_ ? kFrameMacBytes : 0)) {
        fail(ErrorCode::kProtocol, "frame of " + std::to_string(flen) +
                                       " bytes refused (limit " +
                                       std::to_string(t_.max_frame_) + ")");
        return false;
      }
      if (len_ - pos - 4 < flen) {
        pending_frame_ = size_t{flen} + 4;
        break;
      }
      if (!frame(std::string_view(buf_.data() + pos + 4, flen))) return false;
      pos += 4 + flen;
    }
    if (pos > 0) {
      std::memmove(buf_.data(), buf_.data() + pos, len_ - pos);
      len_ -= pos;
    }
    return true;
  }

  bool frame(std::string_view f) {
    codec::Reader r(f);
    uint8_t kind = 0;
    r.fixed(kind);
    if (kind == kFrameHello) return on_hello_frame(r);
    if (kind == kFrameChallenge) return on_challenge(f.substr(1));
    if (kind == kFrameProof) return on_proof(f.substr(1));
    if (kind != kFrameMessage || !hello_seen_ || !ready_) {
      refuse("unexpected frame kind " + std::to_string(kind) +
             (ready_ ? "" : " before the handshake completed"));
      return false;
    }
    if (macs_) {
      if (f.size() < 1 + kFrameMacBytes ||
          !frame_mac_ok(key_in_, seq_in_++,
                        f.substr(0, f.size() - kFrameMacBytes),
                        f.substr(f.size() - kFrameMacBytes))) {
        refuse("a frame whose MAC does not check (injected or changed)");
        return false;
      }
      f = f.substr(0, f.size() - kFrameMacBytes);
      r = codec::Reader(f);
      r.fixed(kind);
    }
    uint64_t target = 0;
    uint32_t wire = 0;
    if (!r.fixed(target) || !r.fixed(wire)) {
      fail(ErrorCode::kProtocol, "truncated message frame");
      return false;
    }
    auto msg = Message::decode(wire, f.substr(f.size() - r.remaining()));
    if (!msg.ok()) {
      fail(ErrorCode::kDecode, "undecodable frame: " + msg.status().message());
      return false;
    }
    t_.sys_.deliver(target, std::move(msg).value());
    return true;
  }

  // Acceptor: the dialer's hello. Without a secret it opens the connection;
  // with one it is answered with a challenge.
  bool on_hello_frame(codec::Reader& r) {
    uint32_t magic = 0;
    uint16_t version = 0;
    std::string addr;
    std::string_view nonce;
    r.fixed(magic);
    r.fixed(version);
    if (!r.ok() || magic != kWireMagic || hello_seen_ || outbound_) {
      refuse("bad hello frame");
      return false;
    }
    if (version != kWireVersion) {
      refuse("peer speaks protocol version " + std::to_string(version) +
             ", we speak " + std::to_string(kWireVersion));
      return false;
    }
    uint8_t flags = 0;
    if (!r.bytes(addr) || !r.view(nonce) || !r.fixed(flags) ||
        r.remaining() != 0 || (flags & ~kFlagFrameMacs) != 0) {
      refuse("bad hello frame");
      return false;
    }
    hello_seen_ = true;
    set_remote_claim(addr);
    const std::string& secret = t_.secret_;
    if (secret.empty()) {
      if (!nonce.empty()) {
        refuse("peer " + addr +
               " expects a cluster secret; this system has none");
        return false;
      }
      ready_ = true;
      handshake_timer_.cancel();
      t_.on_hello(shared_from_this(), addr);
      return open_;
    }
    if (nonce.size() != kNonceBytes) {
      refuse("peer " + addr + " has no cluster secret");
      return false;
    }
    std::copy(nonce.begin(), nonce.end(), peer_nonce_.begin());
    my_nonce_ = random_nonce();
    // Frame MACs if either side wants them; the dialer learns the choice
    // from the challenge, and both proofs cover it.
    flags_ = flags | (t_.wants_frame_macs(stream_) ? kFlagFrameMacs : 0);
    Mac mac = accept_proof(secret, peer_nonce_, *my_nonce_, addr, flags_);
    send_control(make_frame(kFrameChallenge, bytes_of(*my_nonce_),
                            std::string(1, static_cast<char>(flags_)) +
                                std::string(bytes_of(mac))));
    return open_;
  }

  // Dialer: the acceptor's nonce and proof. Checked, then answered with
  // ours; then the connection is open.
  bool on_challenge(std::string_view body) {
    if (!outbound_ || ready_ || !my_nonce_ || challenged_ ||
        body.size() != kNonceBytes + 1 + kMacBytes) {
      refuse("unexpected challenge frame");
      return false;
    }
    challenged_ = true;
    Nonce theirs{};
    std::copy(body.begin(), body.begin() + kNonceBytes, theirs.begin());
    auto agreed = static_cast<uint8_t>(body[kNonceBytes]);
    Mac expected =
        accept_proof(t_.secret_, *my_nonce_, theirs, t_.self_address_, agreed);
    if (!mac_equal(body.substr(kNonceBytes + 1), expected)) {
      refuse("the peer does not know the cluster secret");
      return false;
    }
    if ((agreed & ~kFlagFrameMacs) != 0 ||
        ((flags_ & kFlagFrameMacs) && !(agreed & kFlagFrameMacs))) {
      refuse("the peer dropped the frame MACs we asked for");
      return false;
    }
    flags_ = agreed;
    ready_ = true;
    handshake_timer_.cancel();
    control += make_frame(kFrameProof,
                          bytes_of(dial_proof(t_.secret_, *my_nonce_, theirs,
                                              t_.self_address_, flags_)));
    start_frame_macs(*my_nonce_, theirs, t_.self_address_);
    t_.on_authenticated(shared_from_this());
    return open_;
  }

  // Acceptor: the dialer's proof. Checked; then the peer is known.
  bool on_proof(std::string_view body) {
    if (outbound_ || ready_ || !hello_seen_ || !my_nonce_ ||
        body.size() != kMacBytes) {
      refuse("unexpected proof frame");
      return false;
    }
    Mac expected =
        dial_proof(t_.secret_, peer_nonce_, *my_nonce_, claimed_, flags_);
    if (!mac_equal(body, expected)) {
      refuse("the peer does not know the cluster secret");
      return false;
    }
    ready_ = true;
    handshake_timer_.cancel();
    start_frame_macs(peer_nonce_, *my_nonce_, claimed_);
    if (control_writing_) {
      open_after_write_ = true;  // the challenge is still going out
    } else {
      t_.on_hello(shared_from_this(), claimed_);
    }
    return open_;
  }

  // Writes handshake bytes on a connection no peer uses yet.
  void send_control(std::string bytes) {
    control_out_ = std::move(bytes);
    control_writing_ = true;
    stream_.async_write(
        asio::buffer(control_out_),
        [self = shared_from_this()](const asio::error_code& ec, size_t) {
          self->control_writing_ = false;
          if (ec) {
            self->fail(ErrorCode::kUnavailable,
                       "handshake write failed: " + ec.message());
            return;
          }
          if (self->open_after_write_ && self->open_) {
            self->open_after_write_ = false;
            self->t_.on_hello(self, self->claimed_);
          }
        });
  }

  void set_remote_claim(const std::string& addr) { claimed_ = addr; }

  // After a handshake that agreed on frame MACs: the keys, one a direction.
  void start_frame_macs(const Nonce& dialer, const Nonce& acceptor,
                        std::string_view dialer_address) {
    if ((flags_ & kFlagFrameMacs) == 0) return;
    macs_ = true;
    key_out_ = frame_key(t_.secret_, dialer, acceptor, dialer_address,
                         /*dialer_to_acceptor=*/outbound_);
    key_in_ = frame_key(t_.secret_, dialer, acceptor, dialer_address,
                        /*dialer_to_acceptor=*/!outbound_);
  }

 public:
  // Appends the length-prefixed frames in `frames` to wbuf, each with its
  // MAC when the connection has them. Network thread only.
  void append_frames(std::string& frames) {
    if (!macs_) {
      if (wbuf.empty()) {
        wbuf.swap(frames);
      } else {
        wbuf += frames;
      }
      return;
    }
    size_t pos = 0;
    while (pos + 4 <= frames.size()) {
      uint32_t n = 0;
      std::memcpy(&n, frames.data() + pos, 4);
      std::string_view f(frames.data() + pos + 4, n);
      uint32_t with_mac = n + static_cast<uint32_t>(kFrameMacBytes);
      wbuf.append(reinterpret_cast<const char*>(&with_mac), 4);
      wbuf += f;
      append_frame_mac(key_out_, seq_out_++, f, wbuf);
      pos += 4 + n;
    }
  }

 private:
  // A peer that failed the handshake or broke its rules: counted, closed.
  void refuse(const std::string& why) {
    if (!open_) return;
    t_.sys_.count_auth_failure();
    fail(ErrorCode::kProtocol, (ready_ ? "" : "handshake refused: ") + why);
  }

  // kOk: a clean close by the peer, reported only if messages were lost.
  void fail(ErrorCode code, const std::string& why) {
    if (!open_) return;
    close();
    t_.on_connection_closed(shared_from_this(), code, why);
  }

  Transport& t_;
  tls::Stream stream_;
  const bool outbound_;
  bool open_ = true;
  bool secured_ = false;  // the TLS handshake is done
  bool hello_seen_ = false;
  // The handshake is over: message frames may flow.
  bool ready_ = false;
  bool challenged_ = false;
  uint8_t flags_ = 0;  // kFlag* asked for (dialer) or agreed
  bool macs_ = false;  // message frames carry MACs
  Mac key_out_{};
  Mac key_in_{};
  uint64_t seq_out_ = 0;
  uint64_t seq_in_ = 0;
  std::optional<Nonce> my_nonce_;
  Nonce peer_nonce_{};
  std::string claimed_;  // the address the dialer's hello named
  std::string control_out_;
  bool control_writing_ = false;
  bool open_after_write_ = false;
  asio::steady_timer handshake_timer_;
  std::string remote_;
  std::vector<char> buf_;
  size_t len_ = 0;
  size_t pending_frame_ = 0;  // bytes of the incomplete frame at the front
};

Transport::Transport(HostInbox& sys, TransportOptions options)
    : sys_(sys),
      max_frame_(options.max_frame),
      max_queue_(options.max_queue),
      latency_(options.latency),
      secret_(std::move(options.cluster_secret)),
      handshake_timeout_(options.handshake_timeout),
      frame_macs_(options.frame_macs),
      tls_server_(std::move(options.tls_server)),
      tls_client_(std::move(options.tls_client)),
      acceptor_(io_) {}

Transport::~Transport() { close(); }

Result<uint16_t> Transport::listen(const std::string& host, uint16_t port) {
  auto acc = listen_tcp(io_.get_executor(), host, port);
  if (!acc.ok()) return acc.status();
  acceptor_ = std::move(*acc);
  return acceptor_.local_endpoint().port();
}

void Transport::start(std::string self_address) {
  self_address_ = std::move(self_address);
  if (acceptor_.is_open()) accept();
  thread_ = std::thread([this] {
    auto guard = asio::make_work_guard(io_);
    io_.run();
  });
}

void Transport::close() {
  std::call_once(close_once_, [this] {
    io_.stop();
    if (thread_.joinable()) thread_.join();
    asio::error_code ec;
    acceptor_.close(ec);
    std::lock_guard lock(peers_mu_);
    for (auto& [addr, p] : peers_) {
      if (p->conn) p->conn->close();
      p->conn.reset();
    }
  });
}

std::shared_ptr<Transport::Peer> Transport::peer(const std::string& address) {
  std::lock_guard lock(peers_mu_);
  auto& p = peers_[address];
  if (!p) p = std::make_shared<Peer>(io_, address);
  return p;
}

void Transport::send(const std::string& address, uint64_t target,
                     const Message& msg) {
  thread_local std::string frame;
  frame.assign(4, '\0');
  codec::Writer w(frame);
  w.fixed(kFrameMessage);
  w.fixed(target);
  w.fixed(msg.type().wire_id);
  msg.encode_body(frame);
  if (frame.size() - 4 > max_frame_) {
    sys_.report(Status(ErrorCode::kTooLarge,
                       "message " + std::string(msg.name()) + " of " +
                           std::to_string(frame.size()) +
                           " bytes exceeds the frame limit of " +
                           std::to_string(max_frame_) + "; dropped"));
    return;
  }
  put_u32(frame, 0, static_cast<uint32_t>(frame.size() - 4));

  auto p = peer(address);
  auto due = Clock::now() + latency_;
  bool post = false;
  {
    std::lock_guard lock(p->mu);
    // A peer that is slow, paused or unreachable does not grow our memory
    // without bound: past the limit, messages are dropped (at most once;
    // the store's repair recovers what sync loses).
    if (p->queued_bytes + frame.size() > max_queue_) {
      sys_.count_queue_drop();
      if (!p->overflowing) {
        p->overflowing = true;
        sys_.report(Status(ErrorCode::kTooLarge,
                           "remote system " + address + ": " +
                               std::to_string(p->queued_bytes) +
                               " bytes wait for it (the limit); dropping "
                               "messages to it until half have gone out"));
      }
      return;
    }
    p->queued_bytes += frame.size();
    if (p->queue.empty() ||
        (latency_.count() > 0 && due - p->queue.back().due > kBatchSpan)) {
      p->queue.push_back({due, frame, 1});
    } else {
      p->queue.back().bytes += frame;
      p->queue.back().due = due;
      ++p->queue.back().count;
    }
    post = !p->flush_posted;
    p->flush_posted = true;
  }
  if (post) {
    asio::post(io_, [this, p] { flush(p); });
  }
}

void Transport::post_flush(const std::shared_ptr<Peer>& p) {
  {
    std::lock_guard lock(p->mu);
    if (p->flush_posted) return;
    p->flush_posted = true;
  }
  asio::post(io_, [this, p] { flush(p); });
}

void Transport::flush(const std::shared_ptr<Peer>& p) {
  std::shared_ptr<Connection> c =
      p->state == Peer::State::kUp ? p->conn : nullptr;
  std::optional<Clock::time_point> next_due;
  {
    std::lock_guard lock(p->mu);
    p->flush_posted = false;
    if (p->queue.empty() && !(c && !c->control.empty())) return;
    if (c && !c->writing) {
      if (!c->control.empty()) {
        c->wbuf += c->control;
        c->control.clear();
      }
      auto now = Clock::now();
      while (!p->queue.empty() && p->queue.front().due <= now) {
        c->append_frames(p->queue.front().bytes);
        p->queued_bytes -= p->queue.front().bytes.size();
        p->queue.pop_front();
      }
      if (p->queued_bytes <= max_queue_ / 2) p->overflowing = false;
      if (!p->queue.empty()) next_due = p->queue.front().due;
    }
  }
  if (p->state == Peer::State::kIdle) {
    connect(p);
    return;
  }
  if (!c || c->writing) return;
  if (!c->wbuf.empty()) {
    write(p, c);
    return;
  }
  if (next_due && !p->timer_armed) {
    p->timer_armed = true;
    p->timer.expires_at(*next_due);
    p->timer.async_wait([this, p](const asio::error_code&) {
      p->timer_armed = false;
      flush(p);
    });
  }
}

void Transport::write(const std::shared_ptr<Peer>& p,
                      const std::shared_ptr<Connection>& c) {
  c->writing = true;
  c->stream().async_write(
      asio::buffer(c->wbuf), [this, p, c](const asio::error_code& ec, size_t) {
        c->writing = false;
        c->wbuf.clear();
        if (ec) {
          if (c->open()) {
            c->close();
            on_connection_closed(c, ErrorCode::kUnavailable,
                                 "write failed: " + ec.message());
          }
          return;
        }
        if (p->conn == c) flush(p);
      });
}

void Transport::connect(const std::shared_ptr<Peer>& p) {
  auto hp = parse_host_port(p->address);
  if (!hp.ok()) {
    peer_failed(p, ErrorCode::kInvalidArgument, hp.status().message());
    return;
  }
  p->state = Peer::State::kConnecting;
  auto resolver = std::make_shared<tcp::resolver>(io_);
  resolver->async_resolve(
      hp->host, std::to_string(hp->port),
      [this, p, resolver](const asio::error_code& ec,
                          tcp::resolver::results_type results) {
        if (ec) {
          peer_failed(p, ErrorCode::kUnavailable,
                      "cannot resolve: " + ec.message());
          return;
        }
        auto socket = std::make_shared<tcp::socket>(io_);
        auto deadline = std::make_shared<asio::steady_timer>(io_);
        deadline->expires_after(kConnectTimeout);
        deadline->async_wait([socket](const asio::error_code& tec) {
          if (!tec) {
            asio::error_code ignored;
            socket->close(ignored);
          }
        });
        asio::async_connect(
            *socket, results,
            [this, p, socket, deadline](const asio::error_code& cec,
                                        const tcp::endpoint&) {
              deadline->cancel();
              if (cec) {
                peer_failed(p, ErrorCode::kUnavailable,
                            "cannot connect: " + cec.message());
                return;
              }
              auto c = std::make_shared<Connection>(*this, std::move(*socket),
                                                    /*outbound=*/true);
              c->set_remote(p->address);
              // Registered now, so that a failed TLS handshake fails the
              // peer (on_connection_closed); nothing is sent before it.
              p->conn = c;
              c->secure([this, p, c] {
                if (p->conn == c) connected(p, c);
              });
            });
      });
}

void Transport::connected(const std::shared_ptr<Peer>& p,
                          std::shared_ptr<Connection> c) {
  p->conn = c;
  if (secret_.empty()) {
    p->state = Peer::State::kUp;
    p->failing = false;
    c->start_reading();
    // The hello goes first, ahead of anything queued.
    c->wbuf = make_hello_frame(self_address_);
  } else {
    // Nothing queued goes out until the acceptor has proved the secret
    // (on_authenticated); the peer stays kConnecting meanwhile.
    Nonce nonce = random_nonce();
    uint8_t flags = wants_frame_macs(c->stream()) ? kFlagFrameMacs : 0;
    c->start_reading(nonce, flags);
    c->wbuf = make_hello_frame(self_address_, bytes_of(nonce), flags);
  }
  write(p, c);
}

bool Transport::wants_frame_macs(const tls::Stream& stream) const {
  switch (frame_macs_) {
    case FrameMacs::kAlways:
      return true;
    case FrameMacs::kNever:
      return false;
    case FrameMacs::kAuto:
      break;
  }
  // TLS already refuses frames injected into the stream.
  if (stream.tls()) return false;
  asio::error_code ec;
  auto remote = stream.socket().remote_endpoint(ec);
  // Loopback never leaves this machine: nobody can sit in the middle.
  return ec || !remote.address().is_loopback();
}

void Transport::on_authenticated(const std::shared_ptr<Connection>& c) {
  std::shared_ptr<Peer> p;
  {
    std::lock_guard lock(peers_mu_);
    auto it = peers_.find(c->remote());
    if (it != peers_.end() && it->second->conn == c) p = it->second;
  }
  if (!p) {
    c->close();
    return;
  }
  p->state = Peer::State::kUp;
  p->failing = false;
  flush(p);  // the proof (c->control), then what is queued
}

void Transport::peer_failed(const std::shared_ptr<Peer>& p, ErrorCode code,
                            const std::string& why) {
  p->state = Peer::State::kIdle;
  p->conn.reset();
  size_t dropped = 0;
  {
    std::lock_guard lock(p->mu);
    for (auto& b : p->queue) dropped += b.count;
    p->queue.clear();
    p->queued_bytes = 0;
    p->overflowing = false;
  }
  if (p->failing) return;
  p->failing = true;
  sys_.report(Status(code, "remote system " + p->address + ": " + why + " (" +
                               std::to_string(dropped) +
                               " queued message(s) dropped; not reported "
                               "again until it answers)"));
}

void Transport::accept() {
  acceptor_.async_accept(
      [this](const asio::error_code& ec, tcp::socket socket) {
        if (ec) {
          if (ec == asio::error::operation_aborted || !acceptor_.is_open())
            return;
          sys_.report(Status(ErrorCode::kUnavailable,
                             "accept failed: " + ec.message()));
        } else {
          auto c = std::make_shared<Connection>(*this, std::move(socket),
                                                /*outbound=*/false);
          c->secure([c] { c->start_reading(); });
        }
        accept();
      });
}

void Transport::on_hello(const std::shared_ptr<Connection>& c,
                         const std::string& remote) {
  c->set_remote(remote);
  auto p = peer(remote);
  if (p->state == Peer::State::kIdle) {
    p->conn = c;
    p->state = Peer::State::kUp;
    p->failing = false;
    post_flush(p);
  }
}

void Transport::on_connection_closed(const std::shared_ptr<Connection>& c,
                                     ErrorCode code, const std::string& why) {
  std::shared_ptr<Peer> p;
  if (!c->remote().empty()) {
    std::lock_guard lock(peers_mu_);
    auto it = peers_.find(c->remote());
    if (it != peers_.end() && it->second->conn == c) p = it->second;
  }
  if (p) {
    bool pending;
    {
      std::lock_guard lock(p->mu);
      pending = !p->queue.empty() || !c->wbuf.empty();
    }
    if (code != ErrorCode::kOk || pending) {
      peer_failed(p, code == ErrorCode::kOk ? ErrorCode::kUnavailable : code,
                  why);
    } else {
      p->state = Peer::State::kIdle;
      p->conn.reset();
    }
    return;
  }
  if (code != ErrorCode::kOk) {
    sys_.report(Status(
        code, "connection from " +
                  (c->remote().empty() ? std::string("unknown") : c->remote()) +
                  " closed: " + why));
  }
}

}  // namespace cmud::actor::detail
