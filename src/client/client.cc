// The client: one I/O thread running an asio::io_context, and per address a
// small pool of RESP connections.
//
// Threads. Callers (any thread) build a request — router->next_addr() once,
// the command encoded with resp::write_command, a promise and a deadline —
// and push it on Impl::incoming_ (guarded by Impl::mu_); the first push into
// an empty queue posts Impl::drain() to the I/O thread. Everything else —
// the pools, every Connection and its socket, timer and buffers — belongs to
// the I/O thread alone, so it needs no locks. Promises are fulfilled there.
//
// Connections. drain() hands each request to a connection for its address:
// one with nothing in flight if there is one, else a new one while the pool
// is below max_connections_per_addr, else the one with the fewest requests
// in flight (pipelining). A connection keeps the requests it has sent, or
// will send once connected, in a FIFO; RESP replies come back in order, so
// each parsed reply completes the front one. Requests queued together go
// out in one write. Any error (connect, write, read, malformed reply,
// timeout) fails every request of that connection and drops it from the
// pool; the next request opens a fresh one. A steady_timer per connection
// watches the oldest request's deadline (and the connect deadline).
//
// Failover (a FailoverRouter; see FailoverOptions in client.h). A caller's
// request is kept in a Held (its bytes, for one retry) and sent as a Routed
// request, followed by a ClockRequest when the order is carried. The I/O
// thread owns the choice: `current_` (mirrored into the router), the
// requests waiting while none is chosen, probe connections (outside the
// pools), and a tick that expires waiting requests and watches the
// current server for silence.
//
// Shutdown. ~Impl marks the client closed (later calls fail at once with
// kClosed), posts a handler that fails every connection with kClosed, lets
// io_context::run() return once the cancelled operations have drained, and
// joins the thread.
#include <algorithm>
#include <asio/connect.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/address.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/write.hpp>
#include <deque>
#include <functional>
#include <string_view>
#include <thread>
#include <unordered_map>

#include "cmud/client/client.h"
#include "cmud/common/address.h"
#include "cmud/resp/resp.h"

namespace cmud::client {

namespace {

using asio::ip::tcp;
using Clock = std::chrono::steady_clock;

constexpr size_t kReadChunk = 64 * 1024;
// Buffers that grew past this for one large value are released afterwards.
constexpr size_t kKeepBuffer = 1 << 20;

// One request: its encoded command until it is queued on a connection, its
// deadline, and what to do with the reply. I/O thread only once submitted.
class Request {
 public:
  virtual ~Request() = default;
  // Called exactly once, with the reply or the error that ended the request.
  virtual void complete(Result<resp::Value> reply) = 0;

  std::string bytes;
  Clock::time_point deadline;
  // When it was made: a request this old and unanswered makes a failover
  // client check that its server is alive.
  Clock::time_point sent = Clock::now();
};

bool is_network_error(const Status& s) {
  switch (s.code()) {
    case ErrorCode::kUnavailable:
    case ErrorCode::kTimeout:
    case ErrorCode::kProtocol:
      return true;
    default:
      return false;
  }
}

// A caller's request under failover, kept until it is answered: its bytes
// for the one retry elsewhere, and its reply while the CLOCK behind it is
// out. I/O thread only.
struct Held {
  std::unique_ptr<Request> user;
  std::string bytes;
  Clock::time_point deadline;
  bool retried = false;
  std::optional<Result<resp::Value>> reply;

  void deliver(Result<resp::Value> r) {
    if (!user) return;
    auto u = std::move(user);
    u->complete(std::move(r));
  }
};

// Turns the reply into T (a Result<...> or a Status) and fulfils a promise.
template <class T>
class TypedRequest final : public Request {
 public:
  using Decode = T (*)(resp::Value);
  explicit TypedRequest(Decode decode) : decode_(decode) {}
  ~TypedRequest() override {
    // A safety net: a request must never leave a broken promise behind.
    if (!done_) promise_.set_value(T(Status(ErrorCode::kClosed, "dropped")));
  }

  std::future<T> future() { return promise_.get_future(); }

  void complete(Result<resp::Value> reply) override {
    done_ = true;
    if (reply.ok()) {
      promise_.set_value(decode_(std::move(reply).value()));
    } else {
      promise_.set_value(T(reply.status()));
    }
  }

 private:
  Decode decode_;
  std::promise<T> promise_;
  bool done_ = false;
};

// The AUTH a connection sends before anything else when the client has
// credentials. A refusal fails the connection, so that every request
// queued behind it fails with the server's words (not NOAUTH one by one).
class AuthRequest final : public Request {
 public:
  explicit AuthRequest(std::function<void(Status)> refused)
      : refused_(std::move(refused)) {}
  void complete(Result<resp::Value> reply) override {
    if (!reply.ok()) return;  // the connection failed already
    if (reply->type == resp::Value::Type::kSimple && reply->str == "OK") {
      return;
    }
    refused_(Status(ErrorCode::kDenied,
                    reply->is_error() ? reply->str : "unexpected AUTH reply"));
  }

 private:
  std::function<void(Status)> refused_;
};

std::string_view type_name(resp::Value::Type t) {
  switch (t) {
    case resp::Value::Type::kSimple:
      return "simple string";
    case resp::Value::Type::kError:
      return "error";
    case resp::Value::Type::kInteger:
      return "integer";
    case resp::Value::Type::kBulk:
      return "bulk string";
    case resp::Value::Type::kNull:
      return "null";
    case resp::Value::Type::kArray:
      return "array";
    case resp::Value::Type::kMap:
      return "map";
    case resp::Value::Type::kSet:
      return "set";
    case resp::Value::Type::kPush:
      return "push";
    case resp::Value::Type::kDouble:
      return "double";
    case resp::Value::Type::kBoolean:
      return "boolean";
    case resp::Value::Type::kBigNumber:
      return "big number";
  }
  return "unknown";
}

// A well-framed reply of the wrong kind: the connection stays usable.
Status unexpected(std::string_view command, const resp::Value& v) {
  std::string msg = "unexpected reply to ";
  msg += command;
  msg += ": ";
  msg += type_name(v.type);
  return Status(ErrorCode::kProtocol, std::move(msg));
}

Status server_error(resp::Value& v) {
  return Status(ErrorCode::kInternal, std::move(v.str));
}

Result<std::optional<std::string>> decode_get(resp::Value v) {
  switch (v.type) {
    case resp::Value::Type::kBulk:
    case resp::Value::Type::kSimple:
      return std::optional<std::string>(std::move(v.str));
    case resp::Value::Type::kNull:
      return std::optional<std::string>();
    case resp::Value::Type::kError:
      return server_error(v);
    default:
      return unexpected("GET", v);
  }
}

Status decode_put(resp::Value v) {
  if (v.type == resp::Value::Type::kSimple && v.str == "OK") return {};
  if (v.is_error()) return server_error(v);
  return unexpected("SET", v);
}

Result<KeyValues> decode_list(resp::Value v) {
  if (v.type == resp::Value::Type::kNull) return KeyValues();
  if (v.is_error()) return server_error(v);
  if (v.type != resp::Value::Type::kArray) return unexpected("LIST", v);
  if (v.array.size() % 2 != 0) {
    return Status(ErrorCode::kProtocol,
                  "LIST reply has an odd number of elements");
  }
  KeyValues out;
  out.reserve(v.array.size() / 2);
  for (size_t i = 0; i < v.array.size(); i += 2) {
    for (const resp::Value* e : {&v.array[i], &v.array[i + 1]}) {
      if (e->type != resp::Value::Type::kBulk &&
          e->type != resp::Value::Type::kSimple) {
        return unexpected("LIST (element)", *e);
      }
    }
    out.emplace_back(std::move(v.array[i].str), std::move(v.array[i + 1].str));
  }
  // The server sends them sorted; make sure of the documented order anyway.
  auto by_key = [](const auto& a, const auto& b) { return a.first < b.first; };
  if (!std::is_sorted(out.begin(), out.end(), by_key)) {
    std::sort(out.begin(), out.end(), by_key);
  }
  return out;
}

Result<int64_t> decode_integer(resp::Value v) {
  if (v.type == resp::Value::Type::kInteger) return v.integer;
  if (v.is_error()) return server_error(v);
  return unexpected("PUBLISH", v);
}

Result<bool> decode_signup(resp::Value v) {
  if (v.type == resp::Value::Type::kInteger) return v.integer > 0;
  if (v.is_error()) return server_error(v);
  return unexpected("ACL SIGNUP", v);
}

Result<bool> decode_del(resp::Value v) {
  if (v.type == resp::Value::Type::kInteger) return v.integer > 0;
  if (v.is_error()) return server_error(v);
  return unexpected("DEL", v);
}

void release_if_large(std::string& s) {
  if (s.capacity() > kKeepBuffer) std::string().swap(s);
}

}  // namespace

class Client::Impl {
 public:
  Impl(std::shared_ptr<Router> router, ClientOptions options);
  ~Impl();

  // Encodes args as one command to router_->next_addr() and returns the
  // future of its decoded reply. Thread-safe.
  template <class T>
  std::future<T> call(std::initializer_list<std::string_view> args,
                      typename TypedRequest<T>::Decode decode);

 private:
  class Connection;
  class Routed;
  class ClockRequest;
  class ProbeRequest;
  // A request for an address, or (failover) a held one for the server in
  // use.
  struct Submission {
    std::string addr;
    std::unique_ptr<Request> request;
    std::shared_ptr<Held> held{};
  };

  void submit(Submission s);
  // I/O thread only, from here on.
  void drain();
  void dispatch(Submission s);
  // A connection of addr's pool for one more request; a fresh one is
  // started by the caller after queueing on it.
  std::shared_ptr<Connection> connection_for(const std::string& addr,
                                             bool& fresh);
  void forget(Connection* c);
  void shutdown();

  // Failover, I/O thread only.
  void dispatch_held(std::shared_ptr<Held> held);
  // A held request failed for the network at addr: once more elsewhere.
  void retry(std::shared_ptr<Held> held, std::string addr, Status why);
  // Leaves server i: fails what is in flight there and chooses another.
  void leave(size_t i, const Status& why);
  // Probes every server (but `skip`) and takes the nearest that answers.
  void choose(std::optional<size_t> skip);
  void start_probe(size_t i, uint64_t round);
  void on_probe(uint64_t round, size_t i, const Status& status,
                Clock::duration rtt);
  void decide();
  void ensure_tick();
  void on_tick();
  void saw_clock(int64_t hlc);
  size_t index_of(const std::string& addr) const;

  const std::shared_ptr<Router> router_;
  const ClientOptions options_;
  FailoverRouter* const failover_;  // null: no failover

  // Failover state, I/O thread only.
  int current_ = -1;            // index of the server in use; -1 choosing
  bool chosen_before_ = false;  // a later choice is a move...
  int left_ = -1;               // ...unless it is the server left
  bool choosing_ = false;
  uint64_t round_ = 0;  // probes of older rounds are ignored
  static constexpr uint64_t kHealthRound = 0;
  // Round trips this close count as equally near (scheduling noise on a
  // busy machine is larger than loopback's round trip): list order wins.
  static constexpr std::chrono::milliseconds kNear{50};
  size_t round_left_ = 0;
  size_t round_probes_ = 0;
  size_t round_denied_ = 0;  // probes refused for their credentials
  std::vector<std::pair<size_t, Clock::duration>> answers_;
  bool decide_armed_ = false;
  bool health_in_flight_ = false;
  Clock::time_point health_ok_at_{};
  std::vector<std::shared_ptr<Held>> waiting_;
  std::vector<std::shared_ptr<Connection>> probes_;
  std::string last_error_;
  uint64_t max_seen_ = 0;  // the greatest CLOCK a server answered
  bool clock_ok_ = true;   // false once a server refused CLOCK
  bool shut_down_ = false;
  bool tick_armed_ = false;

  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;

  std::mutex mu_;
  std::vector<Submission> incoming_;  // guarded by mu_
  bool drain_posted_ = false;         // guarded by mu_
  bool closed_ = false;               // guarded by mu_

  // I/O thread only: the connections of each address.
  std::unordered_map<std::string, std::vector<std::shared_ptr<Connection>>>
      pools_;
  // Failover's timers (I/O thread only).
  asio::steady_timer decide_timer_{io_};
  asio::steady_timer tick_timer_{io_};

  std::thread thread_;  // last: starts after everything above exists
};

// One TCP connection to one address and the requests in flight on it.
// I/O thread only. Kept alive by the pool and by its pending handlers.
class Client::Impl::Connection
    : public std::enable_shared_from_this<Connection> {
 public:
  // A probe connection lives outside the pools, sends no CLOCK of its own
  // and closes once its requests are answered.
  Connection(Impl& owner, std::string addr, HostPort hp, bool probe = false)
      : owner_(owner),
        addr_(std::move(addr)),
        hp_(std::move(hp)),
        probe_(probe),
        stream_(owner.io_, owner.options_.tls.get()),
        resolver_(owner.io_),
        timer_(owner.io_) {}

  const std::string& addr() const { return addr_; }
  size_t in_flight() const { return pending_.size(); }
  // When the oldest request in flight was made; max() when none.
  Clock::time_point oldest() const {
    return pending_.empty() ? Clock::time_point::max() : pending_.front()->sent;
  }

  // Resolves and connects. REQUIRES: called once, after the first enqueue().
  void start();
  // Queues a request; it is written as soon as the connection is up.
  void enqueue(std::unique_ptr<Request> r);
  // Fails every pending request with `status`, closes the socket and leaves
  // the pool. Idempotent.
  void fail(const Status& status);

 private:
  enum class State { kConnecting, kUp, kClosed };

  void connect(std::vector<tcp::endpoint> endpoints);
  // With TLS: the handshake, then on_connected().
  void secure();
  void on_connected();
  void schedule_flush();
  void flush();
  void start_read();
  void on_read(size_t n);
  void arm_timer();
  void on_timer();

  Impl& owner_;
  const std::string addr_;
  const HostPort hp_;
  const bool probe_;
  tls::Stream stream_;
  tcp::resolver resolver_;
  asio::steady_timer timer_;

  State state_ = State::kConnecting;
  Clock::time_point connect_deadline_;
  bool timer_armed_ = false;
  // Requests written (or to be written), oldest first; replies complete
  // them in this order.
  std::deque<std::unique_ptr<Request>> pending_;
  std::string out_;      // queued bytes, not yet handed to a write
  std::string writing_;  // the bytes of the write in progress
  bool write_in_flight_ = false;
  bool flush_posted_ = false;
  std::string in_;  // received bytes not yet parsed into a whole reply
  std::unique_ptr<char[]> read_buf_ = std::make_unique<char[]>(kReadChunk);
};

// A held request on its way to the server in use. I/O thread only.
class Client::Impl::Routed final : public Request {
 public:
  Routed(Impl& impl, std::shared_ptr<Held> held, std::string addr,
         bool clock_follows)
      : impl_(impl),
        held_(std::move(held)),
        addr_(std::move(addr)),
        clock_follows_(clock_follows) {
    bytes = held_->bytes;
    deadline = held_->deadline;
  }
  void complete(Result<resp::Value> reply) override {
    if (!reply.ok() && is_network_error(reply.status()) && !held_->retried) {
      impl_.retry(held_, addr_, reply.status());
      return;
    }
    if (reply.ok() && clock_follows_) {
      held_->reply = std::move(reply);  // the CLOCK behind hands it over
      return;
    }
    held_->deliver(std::move(reply));
  }

 private:
  Impl& impl_;
  std::shared_ptr<Held> held_;
  const std::string addr_;
  const bool clock_follows_;
};

// CLOCK, behind a Routed request (whose reply it then hands over) or first
// on a connection (held null). Its answer raises what the session has seen.
class Client::Impl::ClockRequest final : public Request {
 public:
  ClockRequest(Impl& impl, std::shared_ptr<Held> held)
      : impl_(impl), held_(std::move(held)) {
    if (held_) deadline = held_->deadline;
  }
  void complete(Result<resp::Value> reply) override {
    if (reply.ok()) {
      if (reply->type == resp::Value::Type::kInteger) {
        impl_.saw_clock(reply->integer);
      } else {
        // A server without CLOCK (or a user not allowed it): the order
        // cannot be carried; stop asking.
        impl_.clock_ok_ = false;
      }
    }
    // The request's reply came (the server did it) even when the CLOCK
    // behind it was lost.
    if (held_ && held_->reply) held_->deliver(std::move(*held_->reply));
  }

 private:
  Impl& impl_;
  std::shared_ptr<Held> held_;
};

// A PING on a probe connection: is the server alive, and how near.
class Client::Impl::ProbeRequest final : public Request {
 public:
  ProbeRequest(Impl& impl, uint64_t round, size_t index)
      : impl_(impl), round_(round), index_(index) {
    resp::write_command(bytes, std::vector<std::string_view>{"PING"});
    deadline = sent + impl.options_.failover.probe_timeout;
  }
  void complete(Result<resp::Value> reply) override {
    Status status;
    if (!reply.ok()) {
      status = reply.status();
    } else if (reply->is_error()) {
      // A server that wants other credentials will not take us later
      // either: say so, rather than that it did not answer.
      const bool denied = reply->str.starts_with("NOAUTH") ||
                          reply->str.starts_with("WRONGPASS") ||
                          reply->str.starts_with("NOPERM");
      status = Status(denied ? ErrorCode::kDenied : ErrorCode::kUnavailable,
                      reply->str);
    } else if (reply->type != resp::Value::Type::kSimple ||
               reply->str != "PONG") {
      status = Status(ErrorCode::kProtocol, "PING answered without PONG");
    }
    impl_.on_probe(round_, index_, status, Clock::now() - sent);
  }

 private:
  Impl& impl_;
  const uint64_t round_;
  const size_t index_;
};

void Client::Impl::Connection::start() {
  auto connect_timeout = owner_.options_.connect_timeout;
  if (probe_) {
    connect_timeout =
        std::min(connect_timeout, owner_.options_.failover.probe_timeout);
  }
  connect_deadline_ = Clock::now() + connect_timeout;
  arm_timer();
  asio::error_code ec;
  const auto address = asio::ip::make_address(hp_.host, ec);
  if (!ec) {
    connect({tcp::endpoint(address, hp_.port)});
    return;
  }
  resolver_.async_resolve(
      hp_.host, std::to_string(hp_.port),
      [self = shared_from_this()](const asio::error_code& ec,
                                  const tcp::resolver::results_type& results) {
        if (self->state_ == State::kClosed) return;
        if (ec) {
          self->fail(Status(ErrorCode::kUnavailable,
                            "resolve " + self->addr_ + ": " + ec.message()));
          return;
        }
        self->connect(
            std::vector<tcp::endpoint>(results.begin(), results.end()));
      });
}

void Client::Impl::Connection::connect(std::vector<tcp::endpoint> endpoints) {
  auto eps = std::make_shared<std::vector<tcp::endpoint>>(std::move(endpoints));
  asio::async_connect(
      stream_.socket(), *eps,
      [self = shared_from_this(), eps](const asio::error_code& ec,
                                       const tcp::endpoint&) {
        if (self->state_ == State::kClosed) return;
        if (ec) {
          self->fail(Status(ErrorCode::kUnavailable,
                            "connect to " + self->addr_ + ": " + ec.message()));
          return;
        }
        self->secure();
      });
}

void Client::Impl::Connection::secure() {
  if (!stream_.tls()) {
    on_connected();
    return;
  }
  asio::error_code not_ip;
  asio::ip::make_address(hp_.host, not_ip);
  if (not_ip) stream_.set_server_name(hp_.host);  // SNI names hosts only
  // Still kConnecting: the connect deadline covers the handshake.
  stream_.async_handshake(
      tls::Stream::kClient,
      [self = shared_from_this()](const asio::error_code& ec) {
        if (self->state_ == State::kClosed) return;
        if (ec) {
          self->fail(Status(ErrorCode::kUnavailable,
                            "TLS handshake with " + self->addr_ + ": " +
                                tls::describe_error(ec, self->stream_)));
          return;
        }
        self->on_connected();
      });
}

void Client::Impl::Connection::on_connected() {
  state_ = State::kUp;
  asio::error_code ignored;
  stream_.socket().set_option(tcp::no_delay(true), ignored);
  // Sent before anything queued: AUTH, then (a failover client that has
  // seen versions) CLOCK <the greatest>, so that every request on this
  // connection is stamped above what its session saw elsewhere.
  std::string prefix;
  std::vector<std::unique_ptr<Request>> first;
  const Credentials& who = owner_.options_.credentials;
  if (!who.password.empty()) {
    std::vector<std::string_view> args{"AUTH"};
    if (!who.user.empty()) args.push_back(who.user);
    args.push_back(who.password);
    resp::write_command(prefix, args);
    first.push_back(std::make_unique<AuthRequest>(
        [this, addr = addr_](Status s) {  // runs inside on_read, on us
          fail(Status(s.code(), "AUTH at " + addr + ": " + s.message()));
        }));
  }
  if (owner_.failover_ != nullptr && !probe_ && owner_.max_seen_ != 0 &&
      owner_.clock_ok_) {
    const std::string hlc = std::to_string(owner_.max_seen_);
    resp::write_command(prefix, std::vector<std::string_view>{"CLOCK", hlc});
    first.push_back(std::make_unique<ClockRequest>(owner_, nullptr));
  }
  if (!first.empty()) {
    out_.insert(0, prefix);
    auto deadline = Clock::now() + owner_.options_.timeout;
    if (!pending_.empty()) {
      deadline = std::min(deadline, pending_.front()->deadline);
    }
    for (auto it = first.rbegin(); it != first.rend(); ++it) {
      (*it)->deadline = deadline;
      pending_.push_front(std::move(*it));
    }
  }
  start_read();
  flush();
}

void Client::Impl::Connection::enqueue(std::unique_ptr<Request> r) {
  out_ += r->bytes;
  std::string().swap(r->bytes);
  pending_.push_back(std::move(r));
  if (!timer_armed_) arm_timer();
  schedule_flush();
}

// Defers the write to a handler of its own, so that requests dispatched in
// the same batch share it.
void Client::Impl::Connection::schedule_flush() {
  if (state_ != State::kUp || write_in_flight_ || flush_posted_) return;
  flush_posted_ = true;
  asio::post(owner_.io_, [self = shared_from_this()] {
    self->flush_posted_ = false;
    self->flush();
  });
}

void Client::Impl::Connection::flush() {
  if (state_ != State::kUp || write_in_flight_ || out_.empty()) return;
  writing_.swap(out_);
  out_.clear();
  write_in_flight_ = true;
  stream_.async_write(
      asio::buffer(writing_),
      [self = shared_from_this()](const asio::error_code& ec, size_t) {
        self->write_in_flight_ = false;
        if (self->state_ == State::kClosed) return;
        if (ec) {
          self->fail(Status(ErrorCode::kUnavailable,
                            "write to " + self->addr_ + ": " + ec.message()));
          return;
        }
        self->writing_.clear();
        release_if_large(self->writing_);
        self->flush();
      });
}

void Client::Impl::Connection::start_read() {
  stream_.async_read_some(
      asio::buffer(read_buf_.get(), kReadChunk),
      [self = shared_from_this()](const asio::error_code& ec, size_t n) {
        if (self->state_ == State::kClosed) return;
        if (ec) {
          self->fail(Status(
              ErrorCode::kUnavailable,
              ec == asio::error::eof
                  ? "connection to " + self->addr_ + " closed by the server"
                  : "read from " + self->addr_ + ": " + ec.message()));
          return;
        }
        self->on_read(n);
      });
}

void Client::Impl::Connection::on_read(size_t n) {
  in_.append(read_buf_.get(), n);
  size_t pos = 0;
  while (pos < in_.size()) {
    auto parse = resp::parse_value(std::string_view(in_).substr(pos));
    if (parse.outcome == resp::Outcome::kNeedMore) break;
    if (parse.outcome == resp::Outcome::kError || parse.consumed == 0) {
      fail(Status(ErrorCode::kProtocol,
                  "malformed reply from " + addr_ + ": " + parse.error));
      return;
    }
    pos += parse.consumed;
    if (pending_.empty()) {
      fail(Status(ErrorCode::kProtocol,
                  "reply from " + addr_ + " with no request pending"));
      return;
    }
    auto r = std::move(pending_.front());
    pending_.pop_front();
    r->complete(std::move(parse.value));
    if (state_ == State::kClosed) return;  // the reply failed the connection
    if (probe_ && pending_.empty()) {
      fail(Status(ErrorCode::kClosed, "probe done"));
      return;
    }
  }
  in_.erase(0, pos);
  if (in_.empty()) release_if_large(in_);
  start_read();
}

// Arms the timer for the earliest deadline that matters now. The timer is
// never later than the oldest request's deadline: requests are queued in
// deadline order, and a firing that finds nothing expired re-arms.
void Client::Impl::Connection::arm_timer() {
  auto when = Clock::time_point::max();
  if (state_ == State::kConnecting) when = connect_deadline_;
  if (!pending_.empty()) when = std::min(when, pending_.front()->deadline);
  if (when == Clock::time_point::max()) return;
  timer_armed_ = true;
  timer_.expires_at(when);
  // Re-arming cancels the wait already pending; that one's handler must
  // then do nothing, or two waits would cancel each other forever.
  timer_.async_wait([self = shared_from_this()](const asio::error_code& ec) {
    if (ec == asio::error::operation_aborted) return;
    self->timer_armed_ = false;
    self->on_timer();
  });
}

void Client::Impl::Connection::on_timer() {
  if (state_ == State::kClosed) return;
  const auto now = Clock::now();
  if (state_ == State::kConnecting && now >= connect_deadline_) {
    fail(Status(ErrorCode::kUnavailable,
                "connect to " + addr_ + " timed out after " +
                    std::to_string(owner_.options_.connect_timeout.count()) +
                    " ms"));
    return;
  }
  if (!pending_.empty() && now >= pending_.front()->deadline) {
    fail(Status(ErrorCode::kTimeout,
                "no reply from " + addr_ + " within " +
                    std::to_string(owner_.options_.timeout.count()) + " ms"));
    return;
  }
  arm_timer();
}

void Client::Impl::Connection::fail(const Status& status) {
  if (state_ == State::kClosed) return;
  auto self = shared_from_this();  // the pool may hold the last reference
  state_ = State::kClosed;
  stream_.close();
  resolver_.cancel();
  timer_.cancel();
  owner_.forget(this);
  auto pending = std::move(pending_);
  pending_.clear();
  for (auto& r : pending) r->complete(status);
  std::string().swap(out_);
  std::string().swap(in_);
}

Client::Impl::Impl(std::shared_ptr<Router> router, ClientOptions options)
    : router_(std::move(router)),
      options_(options),
      failover_(dynamic_cast<FailoverRouter*>(router_.get())),
      work_(asio::make_work_guard(io_)),
      thread_([this] { io_.run(); }) {}

Client::Impl::~Impl() {
  {
    std::lock_guard lock(mu_);
    closed_ = true;
  }
  asio::post(io_, [this] { shutdown(); });
  work_.reset();
  thread_.join();
  // Nothing can be left (drain() runs before shutdown()), but never leave a
  // caller waiting.
  for (auto& s : incoming_) {
    s.request->complete(Status(ErrorCode::kClosed, "the client was closed"));
  }
}

template <class T>
std::future<T> Client::Impl::call(std::initializer_list<std::string_view> args,
                                  typename TypedRequest<T>::Decode decode) {
  auto request = std::make_unique<TypedRequest<T>>(decode);
  auto future = request->future();
  resp::write_command(request->bytes, std::vector<std::string_view>(args));
  request->deadline = Clock::now() + options_.timeout;
  if (failover_ != nullptr) {
    auto held = std::make_shared<Held>();
    held->bytes = std::move(request->bytes);
    held->deadline = request->deadline;
    held->user = std::move(request);
    submit({{}, nullptr, std::move(held)});
  } else {
    std::string addr = router_->next_addr();
    submit({std::move(addr), std::move(request)});
  }
  return future;
}

void Client::Impl::submit(Submission s) {
  if (!s.held) {
    if (auto hp = parse_host_port(s.addr); !hp.ok()) {
      s.request->complete(hp.status());
      return;
    }
  }
  bool post = false;
  bool queued = false;
  {
    std::lock_guard lock(mu_);
    if (!closed_) {
      incoming_.push_back(std::move(s));
      post = !drain_posted_;
      drain_posted_ = true;
      queued = true;
    }
  }
  if (!queued) {  // the client is closing
    const Status closed(ErrorCode::kClosed, "the client was closed");
    if (s.held) {
      s.held->deliver(closed);
    } else {
      s.request->complete(closed);
    }
    return;
  }
  if (post) asio::post(io_, [this] { drain(); });
}

void Client::Impl::drain() {
  std::vector<Submission> batch;
  bool closed;
  {
    std::lock_guard lock(mu_);
    batch.swap(incoming_);
    drain_posted_ = false;
    closed = closed_;
  }
  for (auto& s : batch) {
    if (closed) {  // queued while the client was being destroyed
      const Status st(ErrorCode::kClosed, "the client was closed");
      if (s.held) {
        s.held->deliver(st);
      } else {
        s.request->complete(st);
      }
    } else {
      dispatch(std::move(s));
    }
  }
}

void Client::Impl::dispatch(Submission s) {
  if (s.held) {
    dispatch_held(std::move(s.held));
    return;
  }
  bool fresh = false;
  auto c = connection_for(s.addr, fresh);
  c->enqueue(std::move(s.request));
  if (fresh) c->start();
}

std::shared_ptr<Client::Impl::Connection> Client::Impl::connection_for(
    const std::string& addr, bool& fresh) {
  auto& pool = pools_[addr];
  Connection* best = nullptr;
  for (const auto& c : pool) {
    if (best == nullptr || c->in_flight() < best->in_flight()) best = c.get();
    if (best->in_flight() == 0) break;
  }
  const size_t limit = std::max<size_t>(1, options_.max_connections_per_addr);
  fresh = false;
  if (best != nullptr && (best->in_flight() == 0 || pool.size() >= limit)) {
    return best->shared_from_this();
  }
  auto hp = parse_host_port(addr);  // checked valid before
  auto c = std::make_shared<Connection>(*this, addr, std::move(hp).value());
  pool.push_back(c);
  fresh = true;  // the caller starts it once its first request is queued
  return c;
}

void Client::Impl::forget(Connection* c) {
  std::erase_if(probes_, [c](const auto& p) { return p.get() == c; });
  auto it = pools_.find(c->addr());
  if (it == pools_.end()) return;
  auto& pool = it->second;
  std::erase_if(pool, [c](const auto& p) { return p.get() == c; });
  if (pool.empty()) pools_.erase(it);
}

void Client::Impl::shutdown() {
  shut_down_ = true;
  auto pools = std::move(pools_);
  pools_.clear();
  const Status closed(ErrorCode::kClosed, "the client was closed");
  for (auto& [addr, pool] : pools) {
    for (auto& c : pool) c->fail(closed);
  }
  auto probes = std::move(probes_);
  probes_.clear();
  for (auto& c : probes) c->fail(closed);
  auto waiting = std::move(waiting_);
  waiting_.clear();
  for (auto& h : waiting) h->deliver(closed);
  decide_timer_.cancel();
  tick_timer_.cancel();
}

// ---- Failover ------------------------------------------------------------

size_t Client::Impl::index_of(const std::string& addr) const {
  const auto& addrs = failover_->addrs();
  return static_cast<size_t>(std::find(addrs.begin(), addrs.end(), addr) -
                             addrs.begin());
}

void Client::Impl::dispatch_held(std::shared_ptr<Held> held) {
  if (shut_down_) {
    held->deliver(Status(ErrorCode::kClosed, "the client was closed"));
    return;
  }
  if (current_ < 0) {
    waiting_.push_back(std::move(held));
    if (!choosing_) choose(std::nullopt);
    ensure_tick();
    return;
  }
  // Valid: only a server that answered a probe is chosen.
  const std::string& addr = failover_->addrs()[static_cast<size_t>(current_)];
  const bool clock = options_.failover.carry_order && clock_ok_;
  bool fresh = false;
  auto c = connection_for(addr, fresh);
  c->enqueue(std::make_unique<Routed>(*this, held, addr, clock));
  if (clock) {
    auto r = std::make_unique<ClockRequest>(*this, held);
    resp::write_command(r->bytes, std::vector<std::string_view>{"CLOCK"});
    c->enqueue(std::move(r));
  }
  if (fresh) c->start();
  ensure_tick();
}

void Client::Impl::retry(std::shared_ptr<Held> held, std::string addr,
                         Status why) {
  // Posted: this runs inside a connection's fail(), which must finish
  // before the pools change under it.
  asio::post(io_, [this, held = std::move(held), addr = std::move(addr),
                   why = std::move(why)]() mutable {
    if (shut_down_) {
      held->deliver(Status(ErrorCode::kClosed, "the client was closed"));
      return;
    }
    if (Clock::now() >= held->deadline) {
      held->deliver(std::move(why));
      return;
    }
    held->retried = true;
    last_error_ = why.message();
    const size_t i = index_of(addr);
    if (current_ >= 0 && static_cast<size_t>(current_) == i) leave(i, why);
    dispatch_held(std::move(held));
  });
}

void Client::Impl::leave(size_t i, const Status& why) {
  current_ = -1;
  left_ = static_cast<int>(i);
  failover_->set_current(-1, false);
  // What is still in flight there is sent once more to the next server.
  const std::string& addr = failover_->addrs()[i];
  if (auto it = pools_.find(addr); it != pools_.end()) {
    auto pool = it->second;
    for (auto& c : pool) c->fail(why);
  }
  choose(i);
}

void Client::Impl::choose(std::optional<size_t> skip) {
  choosing_ = true;
  ++round_;
  answers_.clear();
  round_left_ = 0;
  round_denied_ = 0;
  decide_armed_ = false;
  decide_timer_.cancel();
  const size_t n = failover_->addrs().size();
  for (size_t i = 0; i < n; ++i) {
    if (skip && *skip == i && n > 1) continue;
    ++round_left_;
    start_probe(i, round_);
  }
  round_probes_ = round_left_;
}

void Client::Impl::start_probe(size_t i, uint64_t round) {
  const std::string& addr = failover_->addrs()[i];
  auto hp = parse_host_port(addr);
  if (!hp.ok()) {
    asio::post(io_, [this, round, i, status = hp.status()] {
      on_probe(round, i, status, {});
    });
    return;
  }
  auto c = std::make_shared<Connection>(*this, addr, std::move(hp).value(),
                                        /*probe=*/true);
  probes_.push_back(c);
  c->enqueue(std::make_unique<ProbeRequest>(*this, round, i));
  c->start();
}

void Client::Impl::on_probe(uint64_t round, size_t i, const Status& status,
                            Clock::duration rtt) {
  if (shut_down_) return;
  const std::string& addr = failover_->addrs()[i];
  if (round == kHealthRound) {
    health_in_flight_ = false;
    if (status.ok()) {
      health_ok_at_ = Clock::now();
    } else if (current_ >= 0 && static_cast<size_t>(current_) == i) {
      last_error_ = addr + ": " + status.message();
      leave(i, Status(ErrorCode::kUnavailable,
                      addr + " stopped answering (" + status.message() + ")"));
    }
    return;
  }
  if (round != round_ || !choosing_) return;
  --round_left_;
  if (status.ok()) {
    answers_.emplace_back(i, rtt);
    if (!decide_armed_) {
      // The first answer is the nearest so far; a while longer (one more
      // round trip, and no less than kNear) lets a server about as near
      // and earlier in the list answer too.
      decide_armed_ = true;
      decide_timer_.expires_after(std::max<Clock::duration>(rtt, kNear));
      decide_timer_.async_wait([this](const asio::error_code& ec) {
        if (!ec && !shut_down_) decide();
      });
    }
    if (round_left_ == 0) decide();
    return;
  }
  last_error_ = addr + ": " + status.message();
  if (status.code() == ErrorCode::kDenied) ++round_denied_;
  if (round_left_ != 0 || !answers_.empty()) return;
  // Nobody answered.
  if (round_denied_ == round_probes_) {
    // Every server refused our credentials: waiting will not help.
    choosing_ = false;
    auto waiting = std::move(waiting_);
    waiting_.clear();
    for (auto& h : waiting) h->deliver(Status(ErrorCode::kDenied, last_error_));
    return;
  }
  // Requests wait (until their deadlines) for a later round, over every
  // server, or fail now; with none waiting, the next request asks again.
  if (!options_.failover.wait_for_a_server) {
    auto waiting = std::move(waiting_);
    waiting_.clear();
    for (auto& h : waiting) {
      h->deliver(Status(ErrorCode::kUnavailable,
                        "no server answered (" + last_error_ + ")"));
    }
  }
  if (waiting_.empty()) {
    choosing_ = false;
    return;
  }
  decide_timer_.expires_after(options_.failover.probe_timeout / 4);
  decide_timer_.async_wait([this](const asio::error_code& ec) {
    if (!ec && !shut_down_) choose(std::nullopt);
  });
}

void Client::Impl::decide() {
  if (!choosing_ || answers_.empty()) return;
  decide_timer_.cancel();
  Clock::duration best = Clock::duration::max();
  for (const auto& [i, rtt] : answers_) best = std::min(best, rtt);
  size_t pick = failover_->addrs().size();
  for (const auto& [i, rtt] : answers_) {
    if (rtt <= best + std::max<Clock::duration>(best, kNear) && i < pick) {
      pick = i;
    }
  }
  choosing_ = false;
  ++round_;  // later answers of this round are ignored
  current_ = static_cast<int>(pick);
  failover_->set_current(current_, chosen_before_ && current_ != left_);
  chosen_before_ = true;
  health_ok_at_ = Clock::now();
  // Connections left to other servers (a move's stragglers) would stamp
  // this session's writes out of order: their requests go once more here.
  std::vector<std::shared_ptr<Connection>> stale;
  for (auto& [addr, pool] : pools_) {
    if (addr == failover_->addrs()[pick]) continue;
    stale.insert(stale.end(), pool.begin(), pool.end());
  }
  const Status moved(ErrorCode::kUnavailable,
                     "moved to " + failover_->addrs()[pick]);
  for (auto& c : stale) c->fail(moved);
  auto waiting = std::move(waiting_);
  waiting_.clear();
  for (auto& h : waiting) dispatch_held(std::move(h));
}

void Client::Impl::ensure_tick() {
  if (tick_armed_ || shut_down_) return;
  tick_armed_ = true;
  tick_timer_.expires_after(std::chrono::milliseconds(100));
  tick_timer_.async_wait([this](const asio::error_code& ec) {
    tick_armed_ = false;
    if (!ec && !shut_down_) on_tick();
  });
}

void Client::Impl::on_tick() {
  const auto now = Clock::now();
  // Requests that waited for a server until their deadline.
  std::vector<std::shared_ptr<Held>> expired;
  std::erase_if(waiting_, [&](const std::shared_ptr<Held>& h) {
    if (now < h->deadline) return false;
    expired.push_back(h);
    return true;
  });
  for (auto& h : expired) {
    h->deliver(
        Status(ErrorCode::kUnavailable,
               "no server answered" +
                   (last_error_.empty() ? "" : " (" + last_error_ + ")")));
  }
  // A request unanswered for hang_after: is the server alive at all?
  const auto hang = options_.failover.hang_after;
  if (current_ >= 0 && !health_in_flight_ && now - health_ok_at_ >= hang) {
    auto it = pools_.find(failover_->addrs()[static_cast<size_t>(current_)]);
    auto oldest = Clock::time_point::max();
    if (it != pools_.end()) {
      for (const auto& c : it->second) oldest = std::min(oldest, c->oldest());
    }
    if (oldest != Clock::time_point::max() && now - oldest >= hang) {
      health_in_flight_ = true;
      start_probe(static_cast<size_t>(current_), kHealthRound);
    }
  }
  // Idle connections need no watching: the tick stops until a request.
  bool busy = !waiting_.empty() || !probes_.empty();
  for (const auto& [addr, pool] : pools_) {
    for (const auto& c : pool) busy = busy || c->in_flight() > 0;
  }
  if (busy) ensure_tick();
}

void Client::Impl::saw_clock(int64_t hlc) {
  if (hlc > 0) max_seen_ = std::max(max_seen_, static_cast<uint64_t>(hlc));
}

Client::Client(std::shared_ptr<Router> router, ClientOptions options)
    : impl_(std::make_unique<Impl>(std::move(router), options)) {}

Client::~Client() = default;

// The synchronous forms encode straight from the caller's strings.
Result<std::optional<std::string>> Client::get(const std::string& key) {
  return impl_
      ->call<Result<std::optional<std::string>>>({"GET", key}, decode_get)
      .get();
}

Status Client::put(const std::string& key, const std::string& value) {
  return impl_->call<Status>({"SET", key, value}, decode_put).get();
}

Status Client::put(const std::string& key, const std::string& value,
                   std::chrono::milliseconds ttl) {
  std::string ms = std::to_string(std::max<int64_t>(1, ttl.count()));
  return impl_->call<Status>({"SET", key, value, "PX", ms}, decode_put).get();
}

Result<int64_t> Client::publish(const std::string& channel,
                                const std::string& message) {
  return impl_
      ->call<Result<int64_t>>({"PUBLISH", channel, message}, decode_integer)
      .get();
}

Result<bool> Client::signup_free(const std::string& user) {
  return impl_->call<Result<bool>>({"ACL", "SIGNUP", user}, decode_signup)
      .get();
}

Result<bool> Client::signup(const std::string& user,
                            const std::string& password) {
  return impl_
      ->call<Result<bool>>({"ACL", "SIGNUP", user, password}, decode_signup)
      .get();
}

Result<KeyValues> Client::list(const std::string& prefix) {
  return impl_->call<Result<KeyValues>>({"LIST", prefix}, decode_list).get();
}

Result<bool> Client::del(const std::string& key) {
  return impl_->call<Result<bool>>({"DEL", key}, decode_del).get();
}

std::future<Result<std::optional<std::string>>> Client::get_async(
    std::string key) {
  return impl_->call<Result<std::optional<std::string>>>({"GET", key},
                                                         decode_get);
}

std::future<Status> Client::put_async(std::string key, std::string value) {
  return impl_->call<Status>({"SET", key, value}, decode_put);
}

std::future<Result<KeyValues>> Client::list_async(std::string prefix) {
  return impl_->call<Result<KeyValues>>({"LIST", prefix}, decode_list);
}

std::future<Result<bool>> Client::del_async(std::string key) {
  return impl_->call<Result<bool>>({"DEL", key}, decode_del);
}

}  // namespace cmud::client
