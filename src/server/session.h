// A RESP connection to a query port.
#pragma once

#include <asio/ip/tcp.hpp>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "acl.h"
#include "cmud/actor/system.h"
#include "cmud/resp/resp.h"
#include "cmud/tls/tls.h"
#include "messages.h"
#include "pubsub.h"
#include "query_wire.h"
#include "stats.h"

namespace cmud::server {

// The allocator's bytes in use (glibc's mallinfo2: arena chunks and
// mmapped ones, Redis's used_memory; the resident set when another
// allocator replaced glibc's), read at most every 100 ms so that every
// write may ask. Thread-safe.
class MemoryGauge {
 public:
  // Reads now.
  static uint64_t allocated();
  // Whether allocated() has glibc's counts; if not (another allocator took
  // malloc's place: AddressSanitizer's, jemalloc) it is the resident set.
  static bool counted();
  // The process's resident set, read now.
  static uint64_t resident();
  // The last reading, read again if it is older than 100 ms.
  uint64_t used();

 private:
  std::atomic<uint64_t> used_{0};
  std::atomic<int64_t> read_ms_{-1'000'000};
};

// The limits of a running server that CONFIG SET may change (Redis's
// names), shared by every port. Thread-safe: each is read where used.
struct Settings {
  std::atomic<size_t> maxclients{10'000};
  // Client writes (commands Redis flags denyoom) are refused while the
  // allocator holds more than this; 0: no limit. Writes from other
  // servers are always applied, or the cluster could never converge.
  std::atomic<uint64_t> maxmemory{0};
  // Unparsed input one connection may hold (client-query-buffer-limit).
  std::atomic<size_t> query_buffer_limit{size_t{1} << 30};
  // Replies that may wait for one connection (0: no limit).
  std::atomic<size_t> output_buffer_limit{size_t{1} << 30};
  // One bulk string (proto-max-bulk-len).
  std::atomic<size_t> max_bulk{32u << 20};
  // SLOWLOG: commands that take at least this many microseconds (negative:
  // none), and how many are kept.
  std::atomic<int64_t> slowlog_slower_than{10'000};
  std::atomic<size_t> slowlog_max_len{128};
  // LATENCY: commands that take at least this many milliseconds (0: off).
  std::atomic<uint64_t> latency_threshold_ms{0};
  // INFO latencystats: per-command histograms, and the percentiles shown.
  std::atomic<bool> latency_tracking{true};
  void set_percentiles(std::vector<double> p) {
    std::lock_guard lock(percentiles_mu_);
    percentiles_ = std::move(p);
  }
  std::vector<double> percentiles() const {
    std::lock_guard lock(percentiles_mu_);
    return percentiles_;
  }
  MemoryGauge memory;
  // Whether client writes are refused now (maxmemory).
  bool out_of_memory() {
    uint64_t max = maxmemory.load(std::memory_order_relaxed);
    return max != 0 && memory.used() > max;
  }

 private:
  mutable std::mutex percentiles_mu_;
  std::vector<double> percentiles_{50, 99, 99.9};
};

// Connections of every query port of one server, against maxclients, and
// statistics. Thread-safe.
struct ClientCount {
  std::atomic<size_t> open{0};
  // Since start, for INFO stats: connections taken, commands run (added
  // once per batch a session parses, not per command).
  std::atomic<uint64_t> accepted{0};
  std::atomic<uint64_t> commands{0};
  // AUTH and HELLO AUTH refused (INFO's acl_access_denied_auth), and
  // commands a user's ACL refused (acl_access_denied_cmd, _key, _channel).
  std::atomic<uint64_t> auth_failures{0};
  std::atomic<uint64_t> denied_commands{0};
  std::atomic<uint64_t> denied_keys{0};
  std::atomic<uint64_t> denied_channels{0};
};

// SCAN cursors of every connection of one server: number <-> the key the
// next page starts after. A cursor is a position in key order, the same on
// every replica, so it works on any connection and any port of the server.
// The oldest are forgotten past kMax. Thread-safe.
class ScanCursors {
 public:
  static constexpr size_t kMax = 100'000;
  uint64_t save(std::string resume_key);
  // nullopt when unknown (never given, or forgotten).
  std::optional<std::string> load(uint64_t cursor) const;

 private:
  mutable std::mutex mu_;
  std::map<uint64_t, std::string> by_id_;  // ids grow: begin() is oldest
  uint64_t next_ = 1;
};

class Session;

// Leaves new elements uninitialised: a read buffer is written by the socket
// before anything reads it, so growing it need not zero it. Stateless.
template <class T>
struct UninitAllocator : std::allocator<T> {
  template <class U>
  struct rebind {
    using other = UninitAllocator<U>;
  };
  template <class U>
  void construct(U* p) noexcept {
    ::new (static_cast<void*>(p)) U;
  }
  template <class U, class... Args>
  void construct(U* p, Args&&... args) {
    ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
  }
};

// Milliseconds of the steady clock: connection ages (CLIENT LIST).
inline int64_t steady_now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Milliseconds since the epoch (wall clock): times users see.
inline int64_t unix_now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Nanoseconds of the steady clock: how long commands take.
inline uint64_t steady_now_ns() {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(
          std::chrono::steady_clock::now().time_since_epoch())
          .count());
}

// Every open connection of one server, for CLIENT LIST and CLIENT KILL:
// each session keeps a copy of its own row here, so no session is read
// from another thread. Thread-safe.
class ClientRegistry {
 public:
  // What a connection does from command to command, stored by its session
  // (relaxed, a few stores per batch) and read by CLIENT LIST. Thread-safe.
  struct Activity {
    std::atomic<int64_t> active_ms{0};       // steady clock: the last batch
    std::atomic<uint32_t> slot{UINT32_MAX};  // the last command (StatSlots)
    std::atomic<int32_t> multi{-1};  // commands queued in MULTI; -1: none
  };
  // The buffers of the connection asking (CLIENT INFO, its own CLIENT LIST
  // line): other connections show 0 (they are not read across threads).
  struct Buffers {
    size_t qbuf = 0;       // unparsed input, the running command included
    size_t qbuf_free = 0;  // room left in the read buffer
    size_t obl = 0;        // replies waiting to be written
    size_t tot_mem = 0;    // the buffers' capacity
  };
  struct Row {
    uint64_t id = 0;
    std::string addr;   // the client's host:port
    std::string laddr;  // ours
    int fd = -1;
    std::string name;
    int64_t opened_ms = 0;  // steady clock
    size_t sub = 0;
    size_t psub = 0;
    int resp = 2;
    std::string user = "default";
    bool monitor = false;
    std::shared_ptr<const Activity> activity;
    // CLIENT LIST's line (without the newline), Redis 7.0's fields.
    std::string line(int64_t now_ms, const Buffers& buffers) const;
    std::string line(int64_t now_ms) const { return line(now_ms, Buffers()); }
  };
  // Adds or replaces the row of row.id.
  void put(const Row& row, std::weak_ptr<Session> session,
           asio::any_io_executor executor);
  void remove(uint64_t id);
  std::vector<Row> rows() const;
  // Runs `action` on each session `match` picks, on its own worker; how
  // many it picked.
  size_t post(const std::function<bool(const Row&)>& match,
              std::function<void(Session&)> action);
  // Closes (on their own workers) the connections `match` picks; how many.
  size_t kill(const std::function<bool(const Row&)>& match);
  // Shuts every connection down (both ways), so that their clients see
  // the server go at once rather than a socket that never answers; the
  // sockets are closed when their sessions go. REQUIRES: no worker runs
  // (Server::stop, after the system closed), so no socket closes meanwhile.
  void shut_down_all();

 private:
  struct Entry {
    Row row;
    std::weak_ptr<Session> session;
    asio::any_io_executor executor;
  };
  mutable std::mutex mu_;
  std::map<uint64_t, Entry> by_id_;
};

// The connections in MONITOR mode of one server: every command any
// connection runs is handed to them as one line. Thread-safe.
class Monitors {
 public:
  void add(uint64_t id, std::weak_ptr<Session> session,
           asio::any_io_executor executor);
  void remove(uint64_t id);
  // Whether any connection monitors (one relaxed load: asked per command).
  bool any() const { return count_.load(std::memory_order_relaxed) > 0; }
  // Hands `line` to every monitor, on its own worker.
  void feed(const std::shared_ptr<const std::string>& line);

 private:
  struct Entry {
    std::weak_ptr<Session> session;
    asio::any_io_executor executor;
  };
  mutable std::mutex mu_;
  std::map<uint64_t, Entry> by_id_;
  std::atomic<size_t> count_{0};
};

// What every session of one query port shares. Immutable after start-up
// (what it points to is thread-safe).
struct PortInfo {
  actor::System* system = nullptr;
  ActorRef actor;                  // the query actor this port serves
  uint16_t tcp_port = 0;           // the port the client connected to
  resp::Limits limits;             // but max_bulk: settings->max_bulk
  Settings* settings = nullptr;    // the server's; outlives every session
  ClientCount* clients = nullptr;  // shared by the server's ports
  bool protected_mode = true;      // only loopback clients (ServerConfig)
  std::chrono::milliseconds tls_handshake_timeout{10'000};
  // The server's users (outlives every session): a connection starts as
  // "default", signed in when that user is on and has no password.
  acl::Table* acl = nullptr;
  std::string aclfile{};       // --aclfile, for ACL LOAD and SAVE; empty: none
  std::string signup_rules{};  // ACL SIGNUP's template; empty: off
  // Persistence (ServerConfig::data_dir, fsync), for CONFIG GET and INFO.
  bool appendonly = false;
  std::string_view appendfsync = "everysec";
  std::string data_dir{};
  PubSub* pubsub = nullptr;            // the server's; outlives every session
  ScanCursors* cursors = nullptr;      // likewise
  ClientRegistry* registry = nullptr;  // likewise
  Monitors* monitors = nullptr;        // likewise
  // Statistics (every one set: sessions do not check): the server's, and
  // the shard of this port's actor (written only by that actor's worker,
  // where this port's sessions run).
  const StatSlots* slots = nullptr;
  CommandStats* stats = nullptr;
  CommandStats::Shard* stats_shard = nullptr;
  SlowLog* slowlog = nullptr;
  LatencyMonitor* latency = nullptr;
};

// Whether protected mode lets a client from `remote` in: loopback only
// (127.0.0.0/8, ::1, and IPv4 loopback mapped into IPv6).
bool loopback_client(const asio::ip::address& remote);
// Whether listening on `host` reaches beyond this machine (anything but a
// loopback address or "localhost").
bool beyond_loopback(const std::string& host);

struct Command;

// One client connection. It runs on the worker of its query actor and only
// there (socket, buffers and callbacks all use that worker's executor), so
// it needs no locks. Pipelined commands are parsed as far as they go; their
// store operations travel to the actor as one QueryRequest, and replies are
// written in command order. Pub/sub messages come from any thread through
// deliver(), which posts them to the session's executor.
class Session final : public std::enable_shared_from_this<Session>,
                      public PubSub::Subscriber {
 public:
  // With `tls` the connection speaks TLS under that context (which
  // outlives the session).
  Session(asio::ip::tcp::socket socket, const PortInfo& port,
          tls::Context* tls = nullptr);
  ~Session();
  // Serves the connection, or, past maxclients, answers Redis's error and
  // closes it. A TLS connection first completes its handshake, within
  // PortInfo::tls_handshake_timeout. REQUIRES: called on the socket's
  // executor.
  void start();

  // For command handlers.
  const PortInfo& port() const { return port_; }
  // Writes the reply of a deferred op from its result; `context` is what
  // the command kept for that (INFO: the sections asked for; else empty).
  using Format = void (*)(Session&, std::string_view context, const ResultView&,
                          resp::ReplyWriter&);
  // Adds an op to the request being built; `format` writes its reply. The
  // op's views are copied into the request at once.
  void defer(const OpView& op, Format format, std::string context = {});
  void close_after_reply() { closing_ = true; }
  // Sends the ops deferred so far now, so that the commands after them wait
  // for their reply (an ACL change the next command may rely on).
  void send_now() {
    if (request_.count > 0 && !awaiting_) send_request();
  }
  // SCAN cursors (the server's ScanCursors).
  uint64_t save_cursor(std::string resume_key) {
    return port_.cursors->save(std::move(resume_key));
  }
  std::optional<std::string> load_cursor(uint64_t cursor) const {
    return port_.cursors->load(cursor);
  }
  const std::string& client_name() const { return name_; }
  void set_client_name(std::string_view name);
  // Unique among this process's connections (HELLO, CLIENT ID).
  uint64_t id() const { return id_; }
  // CLIENT INFO's line (and this connection's line in CLIENT LIST).
  std::string describe();
  // CLIENT KILL: closes the connection. REQUIRES: on its worker.
  void kill() { close(); }
  // Whether the connection may run commands other than AUTH, HELLO, QUIT
  // and RESET: from the start without a password, else after AUTH.
  bool authenticated() const { return authenticated_; }
  // Signs the connection in as `user` (AUTH, HELLO AUTH).
  void sign_in(std::shared_ptr<const acl::User> user);
  // Back to the default user, signed in only if it needs no password
  // (RESET, a new connection).
  void sign_out();
  // The user the connection runs as (ACL WHOAMI), as it is now: a change
  // made since by ACL SETUSER anywhere in the cluster is in force at once.
  const acl::User& user();
  // The user changed (acl::Table::on_changed): closes the connection if the
  // user is gone, or if it subscribes to a channel or pattern the user may
  // no longer use (as Redis does). REQUIRES: on its worker.
  void recheck_user();
  // CLIENT REPLY: whether commands are answered (kSkipNext: the next one
  // is not, then replies are on again). The command that changes it
  // answers only when it turns replies on.
  enum class ReplyMode : uint8_t { kOn, kOff, kSkipNext };
  void set_reply_mode(ReplyMode mode);
  // The protocol replies use: 2, or 3 after HELLO 3.
  int protocol() const { return protocol_; }
  void set_protocol(int protocol);

  // MONITOR: from now on every command of the server's connections is
  // written to this one (RESET ends it).
  void start_monitor();
  void stop_monitor();
  // Writes a line of another connection's command (Monitors::feed).
  void push_monitor(const std::string& line);

  // Pub/sub: adds or drops one subscription (a channel, or a pattern);
  // false when there was nothing to do.
  bool subscribe(std::string_view name, bool pattern);
  bool unsubscribe(std::string_view name, bool pattern);
  const std::set<std::string, std::less<>>& subscribed(bool pattern) const {
    return pattern ? patterns_ : channels_;
  }
  // Channels and patterns together (the count subscribe replies carry).
  size_t subscriptions() const { return channels_.size() + patterns_.size(); }
  void deliver(std::string_view pattern,
               const std::shared_ptr<const PubSubMessage>& m) override;

  // Transactions (MULTI): commands queued until EXEC runs them in one
  // request, so the query actor runs them in one turn.
  bool in_multi() const { return in_multi_; }
  void begin_multi() {
    in_multi_ = true;
    activity_->multi.store(0, std::memory_order_relaxed);
  }
  // Leaves MULTI; the commands queued, or nothing after DISCARD.
  std::vector<std::vector<std::string>> end_multi();
  // A queued command was refused (unknown, wrong arity): EXEC aborts.
  bool multi_failed() const { return multi_failed_; }
  // EXEC: writes the array header into `w`, then runs each command,
  // answering in order after everything written before. With keys
  // watched, the actor first checks them: if one changed, nothing runs and
  // EXEC answers a null array.
  void exec(std::vector<std::vector<std::string>> commands,
            resp::ReplyWriter& w);
  // WATCH (on this connection's replica): adds keys; returns the context
  // WATCH's reply hands to set_watched() with the actor's states.
  std::string add_watched(std::span<const std::string_view> keys);
  void set_watched(std::string_view context, const ResultView& states);
  void unwatch();

 private:
  // A reply owed, in order: a deferred op's result, or a reply already
  // written that must wait for the ones before it.
  struct Pending {
    Format format = nullptr;  // set: the op's result, formatted by it
    std::string context;      // for format
    std::string written;      // format null: the reply itself
    int protocol = 2;         // the one in force when it was asked
    // Statistics: the command's slot + 1 (0: none); `first`: the
    // command's first op, which counts the call; where its arguments are
    // (Call::at). (Ordered to pack.)
    uint32_t slot = 0;
    uint64_t tx = 0;  // the EXEC it belongs to, when one checks
    uint32_t at = 0;
    bool silent = false;  // CLIENT REPLY OFF or SKIP: not written
    bool first = false;
  };
  // The command being run, for its statistics.
  struct Call {
    static constexpr uint32_t kHeld = 1u << 31;  // at: exec_held_ index
    uint32_t slot = 0;                           // + 1; 0: no command
    // Where its arguments are: an offset into in_ (which keeps the request's
    // commands until the reply), or kHeld | an index into exec_held_.
    uint32_t at = 0;
    bool open = false;  // no op deferred yet
  };

  // start() once a TLS handshake is done (at once when plain).
  void begin();
  void read();
  // A plain socket became readable with no input pending: reads into a
  // fresh buffer.
  void read_ready();
  void process();
  // After a command run while replies were off or skipped (`mode`, as it
  // was before the command): drops what it answered (`now`, and the
  // replies owed from index `owed` on).
  // `pushes`: the command answers with (un)subscribe confirmations.
  void silence(ReplyMode mode, size_t owed, std::string& now, bool pushes);
  static bool confirms_subscriptions(const Command& c);
  // Queues a reply already written, after the ones still owed.
  void owe(std::string reply);
  void send_request();
  void on_reply(Result<QueryReply> reply);
  void write();
  // Closes a connection whose waiting replies passed the output limit;
  // true if it did.
  bool over_output_limit();
  // Whether maxmemory refuses c now (a write that grows the store, or an
  // EXEC of one).
  bool denied_for_memory(const Command& c);
  // Whether the user may run c with these arguments (its ACL: the
  // command, its keys, its channels; and no client reaches the system key
  // space); otherwise writes Redis's NOPERM error into `error`.
  bool permitted(const Command& c, std::span<const std::string_view> args,
                 std::string& error);
  // permitted() beyond its fast path.
  bool check_permissions(const Command& c,
                         std::span<const std::string_view> args,
                         std::string& error);
  // Looks the user up again if any user changed since; false when it is
  // gone (deleted), and then user_ may do nothing.
  bool refresh_user();
  // Answers a command refused before it runs (NOAUTH, OOM): in MULTI it
  // makes EXEC abort; a refused EXEC aborts the transaction now.
  void refuse(const Command& c, std::string_view error, resp::ReplyWriter& w);
  // Closes the socket: after QUIT once replies are out, on a protocol
  // error, or when the peer or the socket fails. Idempotent.
  void close();
  // Hands the command to the server's monitors (MONITOR's line: time,
  // client address, the arguments quoted; passwords redacted).
  void feed_monitors(const Command& c, std::span<const std::string_view> args);
  // Copies this connection's state into the server's ClientRegistry.
  void publish_row();
  // c's statistics slot; the last command's is kept (a pipeline repeats
  // one command).
  size_t slot_of(const Command& c, std::span<const std::string_view> args) {
    if (&c == slot_command_) return slot_;
    size_t slot = port_.slots->slot(c, args);
    if (port_.slots->plain(slot)) {
      slot_command_ = &c;
      slot_ = slot;
    }
    return slot;
  }
  // Statistics: a command of `slot` is about to run, its arguments at `at`.
  void begin_call(size_t slot, uint32_t at) {
    call_ = {.slot = static_cast<uint32_t>(slot + 1), .at = at, .open = true};
    activity_->slot.store(static_cast<uint32_t>(slot),
                          std::memory_order_relaxed);
  }
  // It returned; `now` holds what it answered at once. A command answered
  // at once is counted now, its time running from `last`, which becomes
  // the clock's reading. One that deferred an op is counted when the op's
  // result comes back, its time being the op's on the actor.
  void end_call(std::string_view now, std::span<const std::string_view> args,
                uint64_t& last) {
    if (call_.open) count_now(now, args, last);
    call_.slot = 0;
  }
  void count_now(std::string_view now, std::span<const std::string_view> args,
                 uint64_t& last);
  // Counts a call of `slot` that took ns (its error reply, if it failed);
  // true when it belongs in the slow log.
  bool count_call(size_t slot, uint64_t ns,
                  std::optional<std::string_view> error) {
    port_.stats_shard->call(slot, ns, track_latency_);
    if (error) [[unlikely]] {
      port_.stats_shard->failed(slot);
      port_.stats_shard->error_reply(*error);
    }
    return ns >= watch_ns_ && beyond_thresholds(slot, ns);
  }
  // count_call() past the smaller threshold: records a latency event if
  // over latency-monitor-threshold; true if over slowlog-log-slower-than.
  bool beyond_thresholds(size_t slot, uint64_t ns);
  // Reads the settings count_call() needs (once per batch).
  void load_stat_settings();
  void log_slow(uint64_t ns, std::span<const std::string_view> args);
  // Counts the command of a deferred op whose result came back: its op
  // took took_ns in the actor; `error` when it failed.
  void account(const Pending& p, uint64_t took_ns,
               std::optional<std::string_view> error);
  // The arguments of a deferred command (Call::at), parsed again.
  std::vector<std::string_view> args_at(uint32_t at);
  // The reply of an EXEC's key check: the array header, or a null array
  // and the transaction's replies dropped. `context` is "tx count".
  static void format_check(Session& s, std::string_view context,
                           const ResultView& r, resp::ReplyWriter& w);
  // Writes a pub/sub message to the client, if it still subscribes.
  void push_message(const std::string& pattern, const PubSubMessage& m);

  tls::Stream stream_;
  const asio::any_io_executor executor_;  // the socket's, for deliver()
  const PortInfo& port_;
  // Received bytes: [in_pos_, in_len_) unparsed. Released whenever all is
  // parsed (plain sockets), so an idle connection holds no buffer.
  std::vector<char, UninitAllocator<char>> in_;
  size_t in_pos_ = 0;
  size_t in_len_ = 0;
  // Unparsed input below this cannot complete a command (parse's `need`).
  size_t need_ = 0;
  // Where the parse of that command stopped (CommandParse::resume_*),
  // relative to its first byte, so compaction keeps it valid.
  size_t resume_pos_ = 0;
  size_t resume_args_ = 0;
  bool counted_ = false;  // holds a place in port_.clients
  std::string out_;       // replies not yet handed to the socket
  std::string writing_;   // the write in flight
  bool reading_ = false;
  bool awaiting_ = false;  // a QueryRequest is out
  bool closing_ = false;   // close once replies are written
  bool closed_ = false;
  QueryRequest request_;
  std::vector<Pending> pending_;
  ResultView result_;  // reused while formatting replies
  std::string name_;
  const uint64_t id_;
  const int64_t opened_ms_;
  ClientRegistry::Row row_;  // what publish_row() last put
  std::shared_ptr<ClientRegistry::Activity> activity_ =
      std::make_shared<ClientRegistry::Activity>();
  size_t command_at_ = 0;  // in_ offset of the command being run
  int protocol_ = 2;
  bool authenticated_ = false;
  std::shared_ptr<const acl::User> user_;
  bool unrestricted_ = false;  // user_->unrestricted(), kept at hand
  std::string denied_;  // permitted()'s error, kept to spare an allocation
  uint64_t acl_generation_ = 0;  // of port_.acl when user_ was looked up
  struct Watched {
    std::string key;
    std::optional<std::string> state;  // nullopt until WATCH's reply
  };
  std::vector<Watched> watched_;
  uint64_t watch_gen_ = 0;  // bumped by unwatch(): older replies are moot
  uint64_t tx_ = 0;         // the checked EXEC being queued, if any
  uint64_t tx_seq_ = 0;
  uint64_t aborted_tx_ = 0;  // its check failed: drop its replies
  bool in_multi_ = false;
  bool multi_failed_ = false;
  bool monitoring_ = false;
  ReplyMode reply_mode_ = ReplyMode::kOn;
  bool reply_mode_set_ = false;  // by the command being run
  std::vector<std::vector<std::string>> queued_;
  Call call_;
  const Command* slot_command_ = nullptr;  // slot_of()'s cache
  size_t slot_ = 0;
  // The settings of statistics, as of this batch (load_stat_settings).
  bool track_latency_ = true;
  uint64_t watch_ns_ = 0;  // below this no threshold is reached
  // The commands of EXECs whose replies are owed (for SLOWLOG).
  std::vector<std::vector<std::string>> exec_held_;
  std::set<std::string, std::less<>> channels_;
  std::set<std::string, std::less<>> patterns_;
};

}  // namespace cmud::server
