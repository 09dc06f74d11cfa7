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
  struct Submission {
    std::string addr;
    std::unique_ptr<Request> request;
  };

  void submit(std::string addr, std::unique_ptr<Request> request);
  // I/O thread only, from here on.
  void drain();
  void dispatch(Submission s);
  void forget(Connection* c);
  void shutdown();

  const std::shared_ptr<Router> router_;
  const ClientOptions options_;

  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;

  std::mutex mu_;
  std::vector<Submission> incoming_;  // guarded by mu_
  bool drain_posted_ = false;         // guarded by mu_
  bool closed_ = false;               // guarded by mu_

  // I/O thread only: the connections of each address.
  std::unordered_map<std::string, std::vector<std::shared_ptr<Connection>>>
      pools_;

  std::thread thread_;  // last: starts after everything above exists
};

// One TCP connection to one address and the requests in flight on it.
// I/O thread only. Kept alive by the pool and by its pending handlers.
class Client::Impl::Connection
    : public std::enable_shared_from_this<Connection> {
 public:
  Connection(Impl& owner, std::string addr, HostPort hp)
      : owner_(owner),
        addr_(std::move(addr)),
        hp_(std::move(hp)),
        stream_(owner.io_, owner.options_.tls.get()),
        resolver_(owner.io_),
        timer_(owner.io_) {}

  const std::string& addr() const { return addr_; }
  size_t in_flight() const { return pending_.size(); }

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

void Client::Impl::Connection::start() {
  connect_deadline_ = Clock::now() + owner_.options_.connect_timeout;
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
  const Credentials& who = owner_.options_.credentials;
  if (!who.password.empty()) {
    std::vector<std::string_view> args{"AUTH"};
    if (!who.user.empty()) args.push_back(who.user);
    args.push_back(who.password);
    std::string auth;
    resp::write_command(auth, args);
    out_.insert(0, auth);
    auto r = std::make_unique<AuthRequest>(
        [this, addr = addr_](Status s) {  // runs inside on_read, on us
          fail(Status(s.code(), "AUTH at " + addr + ": " + s.message()));
        });
    r->deadline = Clock::now() + owner_.options_.timeout;
    if (!pending_.empty()) {
      r->deadline = std::min(r->deadline, pending_.front()->deadline);
    }
    pending_.push_front(std::move(r));
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
  std::string addr = router_->next_addr();
  resp::write_command(request->bytes, std::vector<std::string_view>(args));
  request->deadline = Clock::now() + options_.timeout;
  submit(std::move(addr), std::move(request));
  return future;
}

void Client::Impl::submit(std::string addr, std::unique_ptr<Request> request) {
  if (auto hp = parse_host_port(addr); !hp.ok()) {
    request->complete(hp.status());
    return;
  }
  bool post = false;
  {
    std::lock_guard lock(mu_);
    if (!closed_) {
      incoming_.push_back({std::move(addr), std::move(request)});
      post = !drain_posted_;
      drain_posted_ = true;
    }
  }
  if (request) {  // not queued: the client is closing
    request->complete(Status(ErrorCode::kClosed, "the client was closed"));
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
      s.request->complete(Status(ErrorCode::kClosed, "the client was closed"));
    } else {
      dispatch(std::move(s));
    }
  }
}

void Client::Impl::dispatch(Submission s) {
  auto& pool = pools_[s.addr];
  Connection* best = nullptr;
  for (const auto& c : pool) {
    if (best == nullptr || c->in_flight() < best->in_flight()) best = c.get();
    if (best->in_flight() == 0) break;
  }
  const size_t limit = std::max<size_t>(1, options_.max_connections_per_addr);
  if (best != nullptr && (best->in_flight() == 0 || pool.size() >= limit)) {
    best->enqueue(std::move(s.request));
    return;
  }
  auto hp = parse_host_port(s.addr);  // checked valid in submit()
  auto c = std::make_shared<Connection>(*this, s.addr, std::move(hp).value());
  pool.push_back(c);
  c->enqueue(std::move(s.request));
  c->start();
}

void Client::Impl::forget(Connection* c) {
  auto it = pools_.find(c->addr());
  if (it == pools_.end()) return;
  auto& pool = it->second;
  std::erase_if(pool, [c](const auto& p) { return p.get() == c; });
  if (pool.empty()) pools_.erase(it);
}

void Client::Impl::shutdown() {
  auto pools = std::move(pools_);
  pools_.clear();
  const Status closed(ErrorCode::kClosed, "the client was closed");
  for (auto& [addr, pool] : pools) {
    for (auto& c : pool) c->fail(closed);
  }
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
