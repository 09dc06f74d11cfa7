#include "session.h"

#include <malloc.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/write.hpp>
#include <cstdio>
#include <cstring>
#include <utility>

#include "cmud/common/address.h"
#include "cmud/common/ascii.h"
#include "cmud/kv/store.h"
#include "commands.h"

namespace cmud::server {
namespace {

constexpr size_t kReadChunk = 16 * 1024;
// Stop reading while this much output waits for a slow client.
constexpr size_t kMaxPendingOutput = 8u << 20;
// Ops per QueryRequest, so one deep pipeline does not starve other clients.
constexpr size_t kMaxOpsPerRequest = 512;
// A read buffer larger than this is freed once everything in it is parsed.
constexpr size_t kShrinkAbove = 256 * 1024;
// A subscriber that lets this many bytes of messages wait is dropped
// (Redis's client-output-buffer-limit for pubsub clients: 32mb).
constexpr size_t kPubSubOutputLimit = 32u << 20;

std::atomic<uint64_t> next_session_id{1};

std::string endpoint_text(const asio::ip::tcp::endpoint& e) {
  return join_host_port(e.address().to_string(), e.port());
}

}  // namespace

std::string ClientRegistry::Row::line(int64_t now_ms,
                                      const Buffers& buffers) const {
  int64_t active = activity
                       ? activity->active_ms.load(std::memory_order_relaxed)
                       : opened_ms;
  uint32_t slot =
      activity ? activity->slot.load(std::memory_order_relaxed) : UINT32_MAX;
  int32_t multi =
      activity ? activity->multi.load(std::memory_order_relaxed) : -1;
  const StatSlots& slots = StatSlots::get();
  // Redis's flags: O monitor, P subscriber, x in MULTI, N none of them.
  std::string flags;
  if (monitor) flags += 'O';
  if (sub + psub > 0) flags += 'P';
  if (multi >= 0) flags += 'x';
  if (flags.empty()) flags = "N";
  return fmt::format(
      "id={} addr={} laddr={} fd={} name={} age={} idle={} flags={} db=0 "
      "sub={} psub={} ssub=0 multi={} qbuf={} qbuf-free={} argv-mem=0 "
      "multi-mem=0 rbs={} rbp=0 obl={} oll=0 omem=0 tot-mem={} events=r "
      "cmd={} user={} redir=-1 resp={}",
      id, addr, laddr, fd, name, (now_ms - opened_ms) / 1000,
      std::max<int64_t>(0, now_ms - active) / 1000, flags, sub, psub, multi,
      buffers.qbuf, buffers.qbuf_free, buffers.qbuf + buffers.qbuf_free,
      buffers.obl, buffers.tot_mem,
      slot < slots.size() ? slots.name(slot) : std::string("NULL"), user, resp);
}

void ClientRegistry::put(const Row& row, std::weak_ptr<Session> session,
                         asio::any_io_executor executor) {
  std::lock_guard lock(mu_);
  by_id_[row.id] = {row, std::move(session), std::move(executor)};
}

void ClientRegistry::remove(uint64_t id) {
  std::lock_guard lock(mu_);
  by_id_.erase(id);
}

std::vector<ClientRegistry::Row> ClientRegistry::rows() const {
  std::lock_guard lock(mu_);
  std::vector<Row> out;
  out.reserve(by_id_.size());
  for (const auto& [id, e] : by_id_) out.push_back(e.row);
  return out;
}

size_t ClientRegistry::post(const std::function<bool(const Row&)>& match,
                            std::function<void(Session&)> action) {
  std::lock_guard lock(mu_);
  size_t n = 0;
  for (const auto& [id, e] : by_id_) {
    if (!match(e.row)) continue;
    ++n;
    asio::post(e.executor, [w = e.session, action] {
      if (auto s = w.lock()) action(*s);
    });
  }
  return n;
}

size_t ClientRegistry::kill(const std::function<bool(const Row&)>& match) {
  return post(match, [](Session& s) { s.kill(); });
}

void Monitors::add(uint64_t id, std::weak_ptr<Session> session,
                   asio::any_io_executor executor) {
  std::lock_guard lock(mu_);
  if (by_id_
          .insert_or_assign(id, Entry{std::move(session), std::move(executor)})
          .second) {
    count_.fetch_add(1, std::memory_order_relaxed);
  }
}

void Monitors::remove(uint64_t id) {
  std::lock_guard lock(mu_);
  if (by_id_.erase(id) > 0) count_.fetch_sub(1, std::memory_order_relaxed);
}

void Monitors::feed(const std::shared_ptr<const std::string>& line) {
  std::lock_guard lock(mu_);
  for (const auto& [id, e] : by_id_) {
    asio::post(e.executor, [w = e.session, line] {
      if (auto s = w.lock()) s->push_monitor(*line);
    });
  }
}

void ClientRegistry::shut_down_all() {
  std::lock_guard lock(mu_);
  for (const auto& [id, e] : by_id_) {
    if (e.row.fd >= 0) ::shutdown(e.row.fd, SHUT_RDWR);
  }
}

Session::Session(asio::ip::tcp::socket socket, const PortInfo& port,
                 tls::Context* tls)
    : stream_(std::move(socket), tls),
      executor_(stream_.socket().get_executor()),
      port_(port),
      id_(next_session_id.fetch_add(1, std::memory_order_relaxed)),
      opened_ms_(steady_now_ms()) {
  sign_out();
  asio::error_code ec;
  stream_.socket().set_option(asio::ip::tcp::no_delay(true), ec);
  // write() sends directly; only what the kernel will not take now waits
  // on the reactor.
  stream_.socket().non_blocking(true, ec);
}

Session::~Session() {
  // First: no deliver() may run once members start going away.
  if (port_.pubsub != nullptr && subscriptions() > 0) {
    port_.pubsub->remove(this);
  }
  stop_monitor();
  if (port_.registry != nullptr && row_.id != 0) port_.registry->remove(id_);
  if (counted_) port_.clients->open.fetch_sub(1, std::memory_order_relaxed);
}

bool loopback_client(const asio::ip::address& remote) {
  if (remote.is_v6() && remote.to_v6().is_v4_mapped()) {
    return asio::ip::make_address_v4(asio::ip::v4_mapped, remote.to_v6())
        .is_loopback();
  }
  return remote.is_loopback();
}

bool beyond_loopback(const std::string& host) {
  if (host == "localhost") return false;
  asio::error_code ec;
  auto a = asio::ip::make_address(host, ec);
  return ec || !loopback_client(a);
}

void Session::start() {
  if (!stream_.tls()) {
    begin();
    return;
  }
  // A client that never finishes its handshake does not hold a place.
  auto deadline = std::make_shared<asio::steady_timer>(executor_);
  deadline->expires_after(port_.tls_handshake_timeout);
  deadline->async_wait([weak = weak_from_this()](const asio::error_code& ec) {
    auto self = weak.lock();
    if (!ec && self) self->close();
  });
  stream_.async_handshake(
      tls::Stream::kServer,
      [self = shared_from_this(), deadline](const asio::error_code& ec) {
        deadline->cancel();
        if (self->closed_) return;
        if (ec) {
          spdlog::debug("TLS handshake with a client of port {} failed: {}",
                        self->port_.tcp_port,
                        tls::describe_error(ec, self->stream_));
          self->close();
          return;
        }
        self->begin();
      });
}

void Session::begin() {
  // With a password, clients from anywhere may try it (as Redis's
  // protected mode, which guards only servers whose default user has
  // none).
  if (port_.protected_mode && authenticated_) {
    asio::error_code ec;
    auto remote = stream_.socket().remote_endpoint(ec);
    if (ec || !loopback_client(remote.address())) {
      out_ =
          "-DENIED cmud is running in protected mode: no client "
          "password is set, so only connections from the loopback interface "
          "are accepted. If this server must take clients from other "
          "machines, restart it with a password ('--requirepass-file FILE'), "
          "or, if it is not reachable from the internet, with "
          "'--protected-mode no'.\r\n";
      closing_ = true;
      write();
      return;
    }
  }
  if (port_.clients != nullptr) {
    port_.clients->accepted.fetch_add(1, std::memory_order_relaxed);
    size_t open = port_.clients->open.fetch_add(1, std::memory_order_relaxed);
    counted_ = true;
    if (open >= port_.settings->maxclients.load(std::memory_order_relaxed)) {
      // As Redis: the error, then the connection is closed.
      out_ = "-ERR max number of clients reached\r\n";
      closing_ = true;
      write();
      return;
    }
  }
  publish_row();
  read();
}

void Session::publish_row() {
  if (port_.registry == nullptr || closed_) return;
  if (row_.id == 0) {  // first time: what does not change
    asio::error_code ec;
    row_.id = id_;
    row_.addr = endpoint_text(stream_.socket().remote_endpoint(ec));
    row_.laddr = endpoint_text(stream_.socket().local_endpoint(ec));
    row_.fd = static_cast<int>(stream_.socket().native_handle());
    row_.opened_ms = opened_ms_;
  }
  row_.name = name_;
  row_.sub = channels_.size();
  row_.psub = patterns_.size();
  row_.resp = protocol_;
  row_.monitor = monitoring_;
  row_.activity = activity_;
  if (user_ != nullptr) row_.user = user_->name();
  port_.registry->put(row_, weak_from_this(), executor_);
}

void Session::sign_in(std::shared_ptr<const acl::User> user) {
  user_ = std::move(user);
  unrestricted_ = user_->unrestricted();
  acl_generation_ = port_.acl->generation();
  authenticated_ = true;
  if (row_.id != 0) publish_row();
}

void Session::sign_out() {
  acl_generation_ = port_.acl->generation();
  user_ = port_.acl->find("default");
  authenticated_ = user_ != nullptr && user_->enabled() && user_->nopass();
  if (user_ == nullptr) user_ = std::make_shared<const acl::User>("default");
  unrestricted_ = user_->unrestricted();
  if (row_.id != 0) publish_row();
}

bool Session::refresh_user() {
  uint64_t now = port_.acl->generation();
  if (now == acl_generation_) return true;
  acl_generation_ = now;
  auto again = port_.acl->find(user_->name());
  bool found = again != nullptr;
  if (!found) again = std::make_shared<const acl::User>(user_->name());
  user_ = std::move(again);
  unrestricted_ = user_->unrestricted();
  return found;
}

const acl::User& Session::user() {
  // Deleted (ACL DELUSER): its connections close, as in Redis; until then
  // it may do nothing.
  if (!refresh_user()) close_after_reply();
  return *user_;
}

void Session::recheck_user() {
  if (closed_) return;
  bool ok = refresh_user();
  for (bool pattern : {false, true}) {
    for (const std::string& name : subscribed(pattern)) {
      ok = ok && user_->may_use_channel(name, pattern);
    }
  }
  if (!ok) close();
}

namespace {

// Calls f(i) for every key argument args[i] of c, as the table places
// them, until it returns false; whether none did.
template <class F>
bool each_key(const Command& c, std::span<const std::string_view> args,
              const F& f) {
  if (c.keys.first <= 0) return true;
  size_t last = c.keys.last < 0
                    ? args.size() - static_cast<size_t>(-c.keys.last)
                    : static_cast<size_t>(c.keys.last);
  size_t step = static_cast<size_t>(std::max(c.keys.step, 1));
  for (size_t i = static_cast<size_t>(c.keys.first);
       i <= last && i < args.size(); i += step) {
    if (!f(i)) return false;
  }
  return true;
}

bool names_system_key(const Command& c,
                      std::span<const std::string_view> args) {
  const int first = c.keys.first;
  if (first <= 0) return false;
  if (c.keys.last == first) {  // most commands: one key, checked inline
    return static_cast<size_t>(first) < args.size() &&
           kv::is_system_key(args[static_cast<size_t>(first)]);
  }
  return !each_key(c, args,
                   [&](size_t i) { return !kv::is_system_key(args[i]); });
}

}  // namespace

inline bool Session::permitted(const Command& c,
                               std::span<const std::string_view> args,
                               std::string& error) {
  // Nearly every command, on every connection of a server without users:
  // no lookup, one pass over the keys.
  if (unrestricted_ && acl_generation_ == port_.acl->generation() &&
      !names_system_key(c, args)) {
    return true;
  }
  return check_permissions(c, args, error);
}

bool Session::check_permissions(const Command& c,
                                std::span<const std::string_view> args,
                                std::string& error) {
  static constexpr std::string_view kKeyDenied =
      "NOPERM this user has no permissions to access one of the keys used "
      "as arguments";
  // Counts a refusal for INFO and says false.
  auto deny = [&](std::atomic<uint64_t> ClientCount::*counter) {
    if (port_.clients != nullptr) {
      (port_.clients->*counter).fetch_add(1, std::memory_order_relaxed);
    }
    return false;
  };
  const acl::User& u = user();
  if (names_system_key(c, args)) {
    error = kKeyDenied;
    return deny(&ClientCount::denied_keys);
  }
  if (u.unrestricted()) return true;
  std::string sub;
  if (!acl::subcommands(c).empty() && args.size() > 1) {
    sub = ascii_lower(args[1]);
  }
  // Those that work before signing in (AUTH, HELLO, QUIT, RESET) are
  // always allowed, as in Redis.
  if ((c.flags & kFlagNoAuth) == 0 && !u.may_run(c, sub)) {
    error = "NOPERM this user has no permissions to run the '" +
            std::string(c.name) + (sub.empty() ? "" : "|" + sub) + "' command";
    return deny(&ClientCount::denied_commands);
  }
  if (!each_key(c, args, [&](size_t i) {
        return u.may_access_key(args[i], acl::key_access(c, args, i));
      })) {
    error = kKeyDenied;
    return deny(&ClientCount::denied_keys);
  }
  bool pattern = false;
  for (std::string_view channel : acl::channel_args(c, args, pattern)) {
    if (!u.may_use_channel(channel, pattern)) {
      error =
          "NOPERM this user has no permissions to access one of the channels "
          "used as arguments";
      return deny(&ClientCount::denied_channels);
    }
  }
  return true;
}

void Session::set_client_name(std::string_view name) {
  name_.assign(name);
  publish_row();
}

void Session::set_protocol(int protocol) {
  protocol_ = protocol;
  publish_row();
}

void Session::defer(const OpView& op, Format format, std::string context) {
  append_op(request_, op);
  Pending& p = pending_.emplace_back(Pending{.format = format,
                                             .context = std::move(context),
                                             .written = {},
                                             .protocol = protocol_,
                                             .tx = tx_});
  p.slot = call_.slot;
  if (call_.open) {
    p.first = true;
    p.at = call_.at;
    call_.open = false;
  }
}

void Session::count_now(std::string_view now,
                        std::span<const std::string_view> args,
                        uint64_t& last) {
  uint64_t t = steady_now_ns();
  std::optional<std::string_view> error;
  if (now.starts_with('-')) error = now;
  if (count_call(call_.slot - 1, t - last, error)) log_slow(t - last, args);
  last = t;
}

void Session::load_stat_settings() {
  const Settings& st = *port_.settings;
  track_latency_ = st.latency_tracking.load(std::memory_order_relaxed);
  uint64_t latency_ms = st.latency_threshold_ms.load(std::memory_order_relaxed);
  int64_t slower_us = st.slowlog_slower_than.load(std::memory_order_relaxed);
  uint64_t latency_ns = latency_ms > 0 ? latency_ms * 1'000'000 : UINT64_MAX;
  uint64_t slow_ns =
      slower_us >= 0 ? static_cast<uint64_t>(slower_us) * 1000 : UINT64_MAX;
  watch_ns_ = std::min(latency_ns, slow_ns);
}

bool Session::beyond_thresholds(size_t slot, uint64_t ns) {
  const Settings& st = *port_.settings;
  const StatSlots& slots = *port_.slots;
  uint64_t threshold = st.latency_threshold_ms.load(std::memory_order_relaxed);
  if (threshold > 0 && ns / 1'000'000 >= threshold) {
    port_.latency->add(slots.fast(slot) ? "fast-command" : "command",
                       ns / 1'000'000, unix_now_ms() / 1000);
  }
  int64_t slower = st.slowlog_slower_than.load(std::memory_order_relaxed);
  // EXEC is not logged itself; the commands it ran are (as in Redis).
  return slower >= 0 && ns / 1000 >= static_cast<uint64_t>(slower) &&
         slots.name(slot) != "exec";
}

void Session::log_slow(uint64_t ns, std::span<const std::string_view> args) {
  port_.slowlog->add(
      args, ns / 1000, row_.addr, name_,
      port_.settings->slowlog_max_len.load(std::memory_order_relaxed),
      secret_argument);
}

std::vector<std::string_view> Session::args_at(uint32_t at) {
  std::vector<std::string_view> args;
  if ((at & Call::kHeld) != 0) {
    size_t i = at & ~Call::kHeld;
    if (i < exec_held_.size()) {
      args.assign(exec_held_[i].begin(), exec_held_[i].end());
    }
    return args;
  }
  // The command is still in the read buffer: nothing reads or compacts it
  // while a request is out (read() waits for the reply).
  if (at >= in_len_) return args;
  resp::Limits limits;
  limits.max_bulk = SIZE_MAX;
  auto p = resp::parse_command(std::string_view(in_.data() + at, in_len_ - at),
                               limits, 0, 0);
  if (p.outcome == resp::Outcome::kComplete) {
    args.assign(p.args.begin(), p.args.end());
  }
  return args;
}

std::string Session::add_watched(std::span<const std::string_view> keys) {
  std::string context =
      std::to_string(watch_gen_) + " " + std::to_string(watched_.size());
  for (std::string_view k : keys) {
    watched_.push_back({std::string(k), std::nullopt});
  }
  return context;
}

void Session::set_watched(std::string_view context, const ResultView& states) {
  size_t space = context.find(' ');
  auto gen = strict_int(context.substr(0, space));
  auto start = strict_int(context.substr(space + 1));
  if (!gen || !start || static_cast<uint64_t>(*gen) != watch_gen_) return;
  for (size_t i = 0; i < states.items().size(); ++i) {
    size_t at = static_cast<size_t>(*start) + i;
    if (at < watched_.size()) {
      watched_[at].state = std::string(states.items()[i].value_or(""));
    }
  }
}

void Session::unwatch() {
  watched_.clear();
  ++watch_gen_;
}

void Session::format_check(Session& s, std::string_view context,
                           const ResultView& r, resp::ReplyWriter& w) {
  size_t space = context.find(' ');
  auto tx = strict_int(context.substr(0, space));
  auto count = strict_int(context.substr(space + 1));
  if (r.is_ok()) {
    w.array(static_cast<size_t>(count.value_or(0)));
  } else {
    w.null_array();
    s.aborted_tx_ = static_cast<uint64_t>(tx.value_or(0));
  }
}

bool Session::subscribe(std::string_view name, bool pattern) {
  auto& mine = pattern ? patterns_ : channels_;
  if (port_.pubsub == nullptr || !mine.emplace(name).second) return false;
  if (pattern) {
    port_.pubsub->psubscribe(this, name);
  } else {
    port_.pubsub->subscribe(this, name);
  }
  publish_row();
  return true;
}

bool Session::unsubscribe(std::string_view name, bool pattern) {
  auto& mine = pattern ? patterns_ : channels_;
  auto it = mine.find(name);
  if (it == mine.end()) return false;
  mine.erase(it);
  if (pattern) {
    port_.pubsub->punsubscribe(this, name);
  } else {
    port_.pubsub->unsubscribe(this, name);
  }
  publish_row();
  return true;
}

std::string Session::describe() {
  publish_row();
  ClientRegistry::Buffers b;
  b.qbuf = in_len_ > command_at_ ? in_len_ - command_at_ : 0;
  b.qbuf_free = in_.size() - in_len_;
  b.obl = out_.size();
  b.tot_mem = in_.capacity() + out_.capacity() + writing_.capacity();
  return row_.line(steady_now_ms(), b) + "\n";
}

std::vector<std::vector<std::string>> Session::end_multi() {
  in_multi_ = false;
  activity_->multi.store(-1, std::memory_order_relaxed);
  multi_failed_ = false;
  return std::exchange(queued_, {});
}

void Session::exec(std::vector<std::vector<std::string>> commands,
                   resp::ReplyWriter& w) {
  owe(std::move(w.buffer()));
  w.buffer().clear();
  // Keys whose WATCH state is known; one watched in this same request
  // cannot change before EXEC (the actor runs the request in one turn).
  std::vector<std::string_view> pairs;
  for (const auto& k : watched_) {
    if (!k.state) continue;
    pairs.push_back(k.key);
    pairs.push_back(*k.state);
  }
  if (!pairs.empty()) {
    tx_ = ++tx_seq_;
    defer(OpView::check(pairs), format_check,
          std::to_string(tx_) + " " + std::to_string(commands.size()));
  } else {
    std::string header;
    resp::ReplyWriter(header, protocol_).array(commands.size());
    owe(std::move(header));
  }
  unwatch();
  std::vector<std::string_view> args;
  // Each command is counted on its own, as in Redis (and EXEC's time
  // includes theirs); they are kept for the slow log until answered.
  const Call exec_call = call_;
  uint64_t last = steady_now_ns();
  for (auto& command : commands) {
    exec_held_.push_back(std::move(command));
    const auto& held = exec_held_.back();
    args.assign(held.begin(), held.end());
    std::string now;
    resp::ReplyWriter one(now, protocol_);
    // Looked up and checked when queued.
    const Command* c = find_command(args[0]);
    begin_call(port_.slots->slot(*c, args),
               Call::kHeld | static_cast<uint32_t>(exec_held_.size() - 1));
    c->run(*this, args, one);
    end_call(now, args, last);
    if (!now.empty()) owe(std::move(now));
  }
  call_ = exec_call;
  if (tx_ != 0) {
    defer(OpView::end_check(), [](Session&, std::string_view, const ResultView&,
                                  resp::ReplyWriter&) {});
    tx_ = 0;
  }
}

void Session::deliver(std::string_view pattern,
                      const std::shared_ptr<const PubSubMessage>& m) {
  asio::post(executor_, [self = weak_from_this(), p = std::string(pattern), m] {
    if (auto s = self.lock()) s->push_message(p, *m);
  });
}

void Session::push_message(const std::string& pattern, const PubSubMessage& m) {
  // Handed out before an UNSUBSCRIBE that ran since: not wanted any more.
  if (closed_ || (pattern.empty() ? channels_.count(m.channel) == 0
                                  : patterns_.count(pattern) == 0)) {
    return;
  }
  if (out_.size() + writing_.size() > kPubSubOutputLimit) {
    spdlog::warn(
        "closing a subscriber of port {}: {} bytes of messages wait for it, "
        "over the pubsub output limit {}",
        port_.tcp_port, out_.size() + writing_.size(), kPubSubOutputLimit);
    close();
    return;
  }
  std::string push;
  resp::ReplyWriter w(push, protocol_);
  if (pattern.empty()) {
    w.push(3);
    w.bulk("message");
  } else {
    w.push(4);
    w.bulk("pmessage");
    w.bulk(pattern);
  }
  w.bulk(m.channel);
  w.bulk(m.message);
  owe(std::move(push));
  write();
}

void Session::start_monitor() {
  if (port_.monitors == nullptr || monitoring_) return;
  monitoring_ = true;
  port_.monitors->add(id_, weak_from_this(), executor_);
  publish_row();
}

void Session::stop_monitor() {
  if (!monitoring_) return;
  monitoring_ = false;
  port_.monitors->remove(id_);
  publish_row();
}

void Session::push_monitor(const std::string& line) {
  if (closed_ || !monitoring_) return;
  if (out_.size() + writing_.size() > kPubSubOutputLimit) {
    spdlog::warn(
        "closing a MONITOR client of port {}: {} bytes wait for it, over {}",
        port_.tcp_port, out_.size() + writing_.size(), kPubSubOutputLimit);
    close();
    return;
  }
  owe(line);
  write();
}

namespace {

// Redis's quoting of one argument in MONITOR's line (sdscatrepr).
void append_quoted(std::string& out, std::string_view arg) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  for (char ch : arg) {
    auto b = static_cast<unsigned char>(ch);
    switch (ch) {
      case '\\':
      case '"':
        out += '\\';
        out += ch;
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\a':
        out += "\\a";
        break;
      case '\b':
        out += "\\b";
        break;
      default:
        if (b >= 0x20 && b < 0x7f) {
          out += ch;
        } else {
          out += "\\x";
          out += kHex[b >> 4];
          out += kHex[b & 15];
        }
    }
  }
  out += '"';
}

}  // namespace

void Session::feed_monitors(const Command& c,
                            std::span<const std::string_view> args) {
  // As Redis: administrative commands are not shown, and neither are
  // passwords (ACL commands carry them, and AUTH and HELLO AUTH).
  if ((c.flags & kFlagAdmin) != 0 || c.name == "acl") return;
  auto now = std::chrono::system_clock::now().time_since_epoch();
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(now).count();
  char stamp[40];
  std::snprintf(stamp, sizeof stamp, "+%lld.%06lld [0 ",
                static_cast<long long>(us / 1'000'000),
                static_cast<long long>(us % 1'000'000));
  auto line = std::make_shared<std::string>(stamp);
  *line += row_.addr;
  *line += ']';
  bool redact = false;
  for (size_t i = 0; i < args.size(); ++i) {
    *line += ' ';
    if (redact) {
      *line += "\"(redacted)\"";
      continue;
    }
    append_quoted(*line, i == 0 ? std::string_view(c.name) : args[i]);
    // AUTH's arguments; HELLO's after AUTH.
    redact =
        c.name == "auth" || (c.name == "hello" && iequals(args[i], "auth"));
  }
  *line += "\r\n";
  port_.monitors->feed(line);
}

uint64_t ScanCursors::save(std::string resume_key) {
  std::lock_guard lock(mu_);
  if (by_id_.size() >= kMax) by_id_.erase(by_id_.begin());
  uint64_t id = next_++;
  by_id_.emplace(id, std::move(resume_key));
  return id;
}

std::optional<std::string> ScanCursors::load(uint64_t cursor) const {
  std::lock_guard lock(mu_);
  auto it = by_id_.find(cursor);
  if (it == by_id_.end()) return std::nullopt;
  return it->second;
}

void Session::read() {
  if (reading_ || closed_ || closing_ || awaiting_ ||
      out_.size() > kMaxPendingOutput) {
    return;
  }
  if (in_pos_ > 0 && in_pos_ >= in_len_ / 2) {
    std::memmove(in_.data(), in_.data() + in_pos_, in_len_ - in_pos_);
    in_len_ -= in_pos_;
    in_pos_ = 0;
  }
  if (in_len_ == 0 && !stream_.tls()) {
    // Nothing pending: wait with no buffer, so an idle connection holds
    // none (as Redis frees idle query buffers); read_ready() takes one.
    if (!in_.empty()) decltype(in_)().swap(in_);
    reading_ = true;
    stream_.socket().async_wait(
        asio::ip::tcp::socket::wait_read,
        [self = shared_from_this()](const asio::error_code& ec) {
          self->reading_ = false;
          if (ec) {
            self->close();
            return;
          }
          self->read_ready();
        });
    return;
  }
  // A buffer that grew for one big command goes back once it is parsed.
  if (in_len_ == 0 && in_.size() > kShrinkAbove) {
    decltype(in_)().swap(in_);
  }
  // Grows only when full, and then geometrically, up to what the command in
  // progress needs: never to a size the client only announced.
  if (in_.size() - in_len_ < kReadChunk) {
    size_t doubled = std::min(in_.size() * 2, std::max(need_, kReadChunk));
    in_.resize(std::max(in_len_ + kReadChunk, doubled));
  }
  reading_ = true;
  stream_.async_read_some(
      asio::buffer(in_.data() + in_len_, in_.size() - in_len_),
      [self = shared_from_this()](const asio::error_code& ec, size_t n) {
        self->reading_ = false;
        if (ec) {
          self->close();
          return;
        }
        self->in_len_ += n;
        self->process();
      });
}

void Session::read_ready() {
  if (closed_) return;
  in_.resize(kReadChunk);
  asio::error_code ec;
  size_t n = stream_.socket().read_some(asio::buffer(in_), ec);
  if (ec == asio::error::would_block || ec == asio::error::try_again) {
    read();  // woken for nothing: wait again
    return;
  }
  if (ec) {
    close();
    return;
  }
  in_len_ = n;
  process();
}

void Session::process() {
  if (closed_) return;
  uint64_t commands = 0;
  // The limits CONFIG SET may change, as they are now.
  Settings& settings = *port_.settings;
  const size_t query_limit =
      settings.query_buffer_limit.load(std::memory_order_relaxed);
  resp::Limits limits = port_.limits;
  limits.max_bulk = settings.max_bulk.load(std::memory_order_relaxed);
  // No reply owed refers to an EXEC's commands any more.
  if (pending_.empty()) exec_held_.clear();
  CommandStats::Shard* stats = port_.stats_shard;
  load_stat_settings();
  // A command answered here runs from the last clock reading: this one, or
  // the end of the last command timed here.
  uint64_t last = steady_now_ns();
  activity_->active_ms.store(static_cast<int64_t>(last / 1'000'000),
                             std::memory_order_relaxed);
  while (!awaiting_ && !closing_ && request_.count < kMaxOpsPerRequest) {
    const size_t start = in_pos_;
    command_at_ = start;
    std::string_view rest(in_.data() + in_pos_, in_len_ - in_pos_);
    if (rest.size() > query_limit) {
      // As Redis's client-query-buffer-limit: this client is dropped.
      std::string now = "-ERR query buffer of " + std::to_string(rest.size()) +
                        " bytes is over client-query-buffer-limit (" +
                        std::to_string(query_limit) + ")\r\n";
      owe(std::move(now));
      closing_ = true;
      break;
    }
    // Not enough for the command in progress yet: don't parse it again.
    if (rest.size() < need_) break;
    auto p = resp::parse_command(rest, limits, resume_pos_, resume_args_);
    if (p.outcome == resp::Outcome::kNeedMore) {
      need_ = p.need;
      resume_pos_ = p.resume_pos;
      resume_args_ = p.resume_args;
      break;
    }
    need_ = 0;
    resume_pos_ = 0;
    resume_args_ = 0;
    std::string now;  // a reply written at once, in order with the others
    resp::ReplyWriter w(now, protocol_);
    if (p.outcome == resp::Outcome::kError) {
      // Framing is lost: answer, then close this connection only.
      w.error("ERR " + p.error);
      stats->error_reply(now);
      closing_ = true;
    } else {
      in_pos_ += p.consumed;
      if (p.args.empty()) continue;
      ++commands;
      const ReplyMode mode = reply_mode_;
      const size_t owed = pending_.size();
      reply_mode_set_ = false;
      const Command* c = find_command(p.args[0]);
      bool rejected = true;  // answered with an error before running
      if (c == nullptr) {
        write_unknown_command(p.args, w);
        multi_failed_ = in_multi_;
      } else if (!check_arity(*c, p.args, w) ||
                 !check_subscribed_context(*c, *this, w)) {
        multi_failed_ = in_multi_;
      } else if (!authenticated_ && (c->flags & kFlagNoAuth) == 0) {
        refuse(*c, "NOAUTH Authentication required.", w);
      } else if (!permitted(*c, p.args, denied_)) {
        refuse(*c, denied_, w);
      } else if (denied_for_memory(*c)) {
        refuse(*c, "OOM command not allowed when used memory > 'maxmemory'.",
               w);
      } else if (in_multi_ && (c->flags & kFlagNoMulti) != 0) {
        refuse(*c, "ERR Command not allowed inside a transaction", w);
      } else {
        rejected = false;
        if (port_.monitors != nullptr && port_.monitors->any()) {
          feed_monitors(*c, p.args);
        }
        if (in_multi_ && !runs_in_multi(*c)) {
          // Counted when EXEC runs it.
          queued_.emplace_back(p.args.begin(), p.args.end());
          activity_->multi.store(static_cast<int32_t>(queued_.size()),
                                 std::memory_order_relaxed);
          activity_->slot.store(
              static_cast<uint32_t>(port_.slots->slot(*c, p.args)),
              std::memory_order_relaxed);
          w.simple("QUEUED");
        } else {
          begin_call(slot_of(*c, p.args), static_cast<uint32_t>(start));
          c->run(*this, p.args, w);
          end_call(now, p.args, last);
        }
      }
      if (rejected) {
        if (c != nullptr) stats->rejected(port_.slots->slot(*c, p.args));
        stats->error_reply(now);
      }
      if (mode != ReplyMode::kOn || reply_mode_set_) [[unlikely]] {
        silence(mode, owed, now, c != nullptr && confirms_subscriptions(*c));
      }
    }
    if (!now.empty()) owe(std::move(now));
  }
  if (commands > 0 && port_.clients != nullptr) {
    port_.clients->commands.fetch_add(commands, std::memory_order_relaxed);
  }
  if (request_.count > 0 && !awaiting_) send_request();
  write();
  read();
}

void Session::set_reply_mode(ReplyMode mode) {
  reply_mode_ = mode;
  reply_mode_set_ = true;
}

void Session::silence(ReplyMode mode, size_t owed, std::string& now,
                      bool pushes) {
  // CLIENT REPLY ON answers even when replies were off: it turned them on.
  bool on_again = reply_mode_set_ && reply_mode_ == ReplyMode::kOn;
  if (mode != ReplyMode::kOn && !on_again) {
    // (Un)subscribe confirmations are pushes, not replies, in RESP2 too:
    // they are still sent, as Redis does (a client waits for them); an
    // error is a reply.
    if (!pushes || now.starts_with('-')) now.clear();
    for (size_t i = owed; i < pending_.size(); ++i) pending_[i].silent = true;
  }
  // SKIP silences one command, the one after it.
  if (mode == ReplyMode::kSkipNext && !reply_mode_set_) {
    reply_mode_ = ReplyMode::kOn;
  }
}

bool Session::confirms_subscriptions(const Command& c) {
  return c.name == "subscribe" || c.name == "unsubscribe" ||
         c.name == "psubscribe" || c.name == "punsubscribe";
}

void Session::owe(std::string reply) {
  if (pending_.empty()) {
    out_ += reply;
  } else {
    pending_.push_back({.format = nullptr,
                        .context = {},
                        .written = std::move(reply),
                        .protocol = protocol_,
                        .tx = tx_});
  }
}

void Session::send_request() {
  awaiting_ = true;
  auto self = shared_from_this();
  QueryRequest request = std::move(request_);
  request_ = QueryRequest();
  // The actor may run, and the reply arrive, before request() returns.
  port_.system->request(
      port_.actor, std::move(request), executor_,
      [self](Result<QueryReply> r) { self->on_reply(std::move(r)); });
}

void Session::on_reply(Result<QueryReply> r) {
  awaiting_ = false;
  if (closed_) return;
  QueryReply* reply = r.ok() ? &*r : nullptr;
  resp::ReplyWriter w(out_);
  size_t deferred = 0;
  for (const auto& p : pending_) deferred += p.format != nullptr ? 1 : 0;
  // (A view of the reply's own string: `reply->error : ""` would copy it
  // into a temporary that dies with the statement.)
  std::string_view failed =
      reply != nullptr ? std::string_view(reply->error) : std::string_view();
  bool ok = reply != nullptr && (reply->count == deferred || !failed.empty());
  codec::Reader in(ok ? std::string_view(reply->results) : "");
  for (auto& p : pending_) {
    w.set_protocol(p.protocol);
    // A transaction whose watched keys changed answers nothing of its own.
    bool dropped = (p.tx != 0 && p.tx == aborted_tx_) || p.silent;
    const size_t before = out_.size();
    bool ran = false;  // p's op ran: its command is counted
    std::optional<std::string_view> error;
    if (p.format == nullptr) {
      if (!dropped) out_ += p.written;  // written at once, after earlier ones
    } else if (!failed.empty()) {
      // A checked EXEC answers the error once, for all of it.
      if (p.tx == 0 && !p.silent) w.error(failed);
      ran = true;
      error = failed;
    } else if (ok && read_result(in, result_)) {
      // A skipped op, or one of an aborted transaction, did not run: no
      // reply, and its command is not counted.
      const bool skipped = result_.skipped();
      ran = !skipped && !(p.tx != 0 && p.tx == aborted_tx_);
      if (auto e = result_.error()) {
        error = *e;
        if (!dropped) w.error(*e);
      } else if (!dropped && !skipped) {
        p.format(*this, p.context, result_, w);
        if (out_.size() > before && out_[before] == '-') [[unlikely]] {
          error = std::string_view(out_).substr(before);
        }
      }
    } else {
      ok = false;
      w.error("ERR internal error: bad reply from the query actor");
    }
    if (ran && p.slot != 0) {
      const uint64_t ns = failed.empty() ? result_.took_ns() : 0;
      if (p.first && !error && ns < watch_ns_) [[likely]] {
        port_.stats_shard->call(p.slot - 1, ns, track_latency_);
      } else {
        account(p, ns, error);
      }
    }
    // Checked as replies are written, not once a whole pipeline is.
    if (over_output_limit()) {
      pending_.clear();
      return;
    }
  }
  pending_.clear();
  exec_held_.clear();
  process();
}

void Session::account(const Pending& p, uint64_t ns,
                      std::optional<std::string_view> error) {
  const size_t slot = p.slot - 1;
  if (p.first) [[likely]] {
    if (count_call(slot, ns, error)) log_slow(ns, args_at(p.at));
  } else {
    port_.stats_shard->add_time(slot, ns);
    if (error) {
      port_.stats_shard->failed(slot);
      port_.stats_shard->error_reply(*error);
    }
  }
}

uint64_t MemoryGauge::resident() {
  long pages = 0, resident = 0;
  if (FILE* f = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
    std::fclose(f);
  }
  return static_cast<uint64_t>(resident) *
         static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
}

namespace {
uint64_t glibc_allocated() {
  struct mallinfo2 mi = ::mallinfo2();
  return static_cast<uint64_t>(mi.uordblks) + static_cast<uint64_t>(mi.hblkhd);
}
}  // namespace

bool MemoryGauge::counted() { return glibc_allocated() > 0; }

uint64_t MemoryGauge::allocated() {
  uint64_t bytes = glibc_allocated();
  // Another allocator took malloc's place (AddressSanitizer's, jemalloc):
  // glibc's counts stay empty, so the resident set stands in.
  return bytes > 0 ? bytes : resident();
}

uint64_t MemoryGauge::used() {
  int64_t now = steady_now_ms();
  int64_t last = read_ms_.load(std::memory_order_relaxed);
  // One caller per 100 ms reads again; the others take the last reading.
  if (now - last >= 100 &&
      read_ms_.compare_exchange_strong(last, now, std::memory_order_relaxed)) {
    used_.store(allocated(), std::memory_order_relaxed);
  }
  return used_.load(std::memory_order_relaxed);
}

void Session::refuse(const Command& c, std::string_view error,
                     resp::ReplyWriter& w) {
  if (c.name == "exec") {
    // A refused EXEC ends the transaction, in Redis's words.
    end_multi();
    unwatch();
    w.error("EXECABORT Transaction discarded because of: " +
            std::string(error));
  } else {
    w.error(error);
    multi_failed_ = in_multi_;  // EXEC will abort
  }
}

bool Session::denied_for_memory(const Command& c) {
  bool grows = (c.flags & kFlagDenyOom) != 0;
  if (!grows && c.name == "exec") {
    // EXEC is refused when what it would run is.
    for (const auto& q : queued_) {
      const Command* qc = find_command(q[0]);
      if (qc != nullptr && (qc->flags & kFlagDenyOom) != 0) grows = true;
    }
  }
  return grows && port_.settings->out_of_memory();
}

bool Session::over_output_limit() {
  size_t waiting = out_.size() + writing_.size();
  size_t limit =
      port_.settings->output_buffer_limit.load(std::memory_order_relaxed);
  if (limit == 0 || waiting <= limit) return false;
  spdlog::warn(
      "closing a client of port {}: {} bytes of replies wait for it, over "
      "client-output-buffer-limit {}",
      port_.tcp_port, waiting, limit);
  close();
  return true;
}

void Session::write() {
  if (closed_ || !writing_.empty() || over_output_limit()) return;
  if (out_.empty()) {
    if (closing_ && !awaiting_) close();
    return;
  }
  // Replies usually fit the socket buffer: one send, no completion to run
  // later (which would cost another turn of the event loop). TLS writes go
  // through the stream's engine, always asynchronously.
  asio::error_code ec;
  size_t n = 0;
  if (!stream_.tls()) n = stream_.socket().send(asio::buffer(out_), 0, ec);
  if (ec == asio::error::would_block || ec == asio::error::try_again) {
    n = 0;
    ec = {};
  }
  if (ec) {
    close();
    return;
  }
  if (n == out_.size()) {
    out_.clear();
    if (closing_ && !awaiting_) close();
    return;
  }
  out_.erase(0, n);
  writing_.swap(out_);
  stream_.async_write(
      asio::buffer(writing_),
      [self = shared_from_this()](const asio::error_code& ec, size_t) {
        self->writing_.clear();
        if (ec) {
          self->close();
          return;
        }
        self->write();
        self->read();
      });
}

void Session::close() {
  if (closed_) return;
  closed_ = true;
  if (port_.registry != nullptr && row_.id != 0) port_.registry->remove(id_);
  if (port_.pubsub != nullptr && subscriptions() > 0) {
    port_.pubsub->remove(this);
    channels_.clear();
    patterns_.clear();
  }
  stop_monitor();
  stream_.close();
}

}  // namespace cmud::server
