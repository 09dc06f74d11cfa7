#include "cmud/server/server.h"

#include <malloc.h>
#include <spdlog/spdlog.h>
#include <asio/ip/tcp.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <cctype>
#include <charconv>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "acl.h"
#include "cmud/actor/listen.h"
#include "cmud/common/address.h"
#include "cmud/common/ascii.h"
#include "cmud/common/files.h"
#include "messages.h"
#include "replicas.h"
#include "session.h"

namespace cmud::server {

using asio::ip::tcp;

namespace {

// After a failed accept (say, out of file descriptors) wait before retrying.
constexpr std::chrono::milliseconds kAcceptBackoff{100};

std::string to_json(const ServerDesc& d,
                    const std::optional<std::string>& client,
                    const std::optional<std::string>& tls_port,
                    bool tls_query_ports) {
  nlohmann::json j;
  j["address"] = d.address;
  j["actors"] = d.actors;
  j["query"] = d.query;
  j["incarnation"] = d.incarnation;
  if (client) j["client"] = *client;
  if (tls_port) j["tls_port"] = *tls_port;
  if (tls_query_ports) j["tls"] = true;
  return j.dump();
}

}  // namespace

std::optional<uint64_t> parse_memory_value(std::string_view v) {
  size_t digits = 0;
  while (digits < v.size() && v[digits] >= '0' && v[digits] <= '9') ++digits;
  if (digits == 0 || digits > 19) return std::nullopt;
  uint64_t n = std::stoull(std::string(v.substr(0, digits)));
  std::string unit = ascii_lower(v.substr(digits));
  static constexpr std::pair<std::string_view, uint64_t> kUnits[] = {
      {"", 1},           {"b", 1},
      {"k", 1000},       {"kb", 1024},
      {"m", 1000000},    {"mb", 1024 * 1024},
      {"g", 1000000000}, {"gb", 1024 * 1024 * 1024}};
  for (const auto& [name, scale] : kUnits) {
    if (unit == name) {
      if (n > UINT64_MAX / scale) return std::nullopt;
      return n * scale;
    }
  }
  return std::nullopt;
}

namespace {

// A file's contents without trailing whitespace (`what` names it in the
// error when it cannot be read).
Result<std::string> read_trimmed(const std::string& path,
                                 const std::string& what) {
  std::ifstream f(path, std::ios::binary);
  if (!f) {
    return Status(ErrorCode::kInvalidArgument,
                  "cannot read the " + what + " file " + path);
  }
  std::string text((std::istreambuf_iterator<char>(f)),
                   std::istreambuf_iterator<char>());
  while (!text.empty() &&
         std::isspace(static_cast<unsigned char>(text.back()))) {
    text.pop_back();
  }
  return text;
}

}  // namespace

Result<std::string> read_password_file(const std::string& path) {
  auto password = read_trimmed(path, "password");
  if (!password.ok()) return password;
  if (password->empty() || password->size() > 4096) {
    return Status(ErrorCode::kInvalidArgument,
                  "the password in " + path + " has " +
                      std::to_string(password->size()) +
                      " bytes; it needs 1 to 4096");
  }
  return password;
}

Result<std::string> read_cluster_secret(const std::string& path) {
  auto read = read_trimmed(path, "cluster secret");
  if (!read.ok()) return read;
  std::string secret = std::move(read).value();
  if (secret.size() < 16 || secret.size() > 4096) {
    return Status(ErrorCode::kInvalidArgument,
                  "the cluster secret in " + path + " has " +
                      std::to_string(secret.size()) +
                      " bytes; it needs 16 to 4096 (e.g. 'openssl rand -hex "
                      "32')");
  }
  return secret;
}

Result<std::string> join_target_address(const std::string& target) {
  std::string address;
  if (!target.empty() && target.front() == '{') {
    auto j = nlohmann::json::parse(target, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_object() || !j.contains("address") ||
        !j["address"].is_string()) {
      return Status(ErrorCode::kInvalidArgument,
                    "join target is not a server description (JSON with an "
                    "\"address\"): " +
                        target.substr(0, 80));
    }
    address = j["address"].get<std::string>();
  } else {
    address = target;
  }
  auto hp = parse_host_port(address);
  if (!hp.ok()) {
    return Status(ErrorCode::kInvalidArgument,
                  "join target is not host:port or a server description: " +
                      hp.status().message());
  }
  return hp->to_string();
}

class Server::Impl {
 public:
  explicit Impl(ServerConfig config) : config_(std::move(config)) {}
  ~Impl() { stop(); }

  Status start();
  void stop();

  const std::string& description() const { return description_; }
  const std::string& address() const { return system_->address(); }
  const std::vector<std::string>& query_addrs() const { return desc_.query; }
  const std::optional<std::string>& client_addr() const { return client_addr_; }
  const std::optional<std::string>& tls_addr() const { return tls_addr_; }
  actor::Stats stats() const { return system_->stats(); }
  uint64_t incarnation() const { return incarnation_; }

 private:
  void accept_on(size_t actor);
  // The client port (spread round-robin) and the TLS port alike.
  void accept_spread(tcp::acceptor& acceptor, tls::Context* tls);
  // The server context of TLS query ports (the cluster's is the actor
  // system's).
  Status make_tls_contexts();
  // The users of the configuration (aclfile, requirepass) into acl_.
  Status configure_users();
  void backoff(asio::io_context::executor_type ex, std::function<void()> f);

  ServerConfig config_;
  // Sessions point at these; they outlive the system, whose io_contexts
  // own the sessions.
  std::vector<std::unique_ptr<PortInfo>> ports_;
  // The server side of TLS query connections; null without TLS.
  std::shared_ptr<tls::Context> tls_server_;
  ClientCount clients_;
  Settings settings_;
  std::shared_ptr<PubSub> pubsub_ = std::make_shared<PubSub>();
  std::shared_ptr<acl::Table> acl_ = std::make_shared<acl::Table>();
  ScanCursors cursors_;
  ClientRegistry registry_;
  Monitors monitors_;
  std::unique_ptr<CommandStats> stats_;  // one shard per query actor
  SlowLog slowlog_;
  LatencyMonitor latency_;
  std::unique_ptr<actor::System> system_;
  // Declared after system_: destroyed before the io_contexts they use.
  std::vector<std::unique_ptr<tcp::acceptor>> acceptors_;
  std::unique_ptr<tcp::acceptor> client_acceptor_;
  std::unique_ptr<tcp::acceptor> tls_acceptor_;
  std::atomic<size_t> next_client_actor_{0};
  ServerDesc desc_;
  std::optional<std::string> client_addr_;
  std::optional<std::string> tls_addr_;
  std::string description_;
  uint64_t incarnation_ = 0;
  std::once_flag stop_once_;
};

Status Server::Impl::start() {
  // Buffers of 1 MiB and more (a big command's input, a big value) are
  // mapped on their own and go back to the system when freed. Left to
  // itself glibc raises this threshold after the first such free, and
  // the next ones then stay in the heap: 24 clients that each sent 30 MiB
  // of a never-finished command left ~96 MB resident, now ~64 MB (what the
  // per-thread arenas keep; docs/PERFORMANCE.md). Process-wide, and
  // harmless for anything else in the process.
  mallopt(M_MMAP_THRESHOLD, 1 << 20);
  incarnation_ = config_.incarnation;
  if (incarnation_ == 0 && !config_.data_dir.empty()) {
    // Persisted before any port opens: no start reuses an identity.
    PosixFileSystem fs;
    auto next = next_incarnation(fs, config_.data_dir);
    if (!next.ok()) return next.status();
    incarnation_ = *next;
  }
  while (incarnation_ == 0) {
    // A later start gets a higher number (members take a description from
    // gossip only when its number is higher); two in one ms still differ.
    std::random_device rd;
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::system_clock::now().time_since_epoch())
                        .count();
    incarnation_ = (static_cast<uint64_t>(ms) << 16) | (rd() & 0xffffu);
  }
  settings_.maxclients = config_.max_clients;
  settings_.maxmemory = config_.maxmemory;
  settings_.query_buffer_limit = config_.client_query_buffer_limit;
  settings_.output_buffer_limit = config_.client_output_buffer_limit;
  settings_.max_bulk = config_.limits.max_bulk;
  constexpr size_t kMaxBulkThatSyncs = 60u << 20;  // under the 64 MiB frame
  if (config_.limits.max_bulk > kMaxBulkThatSyncs) {
    return Status(ErrorCode::kInvalidArgument,
                  "proto-max-bulk-len can be at most " +
                      std::to_string(kMaxBulkThatSyncs) +
                      " bytes: a value must fit one sync frame");
  }
  if (config_.max_clients == 0) {
    return Status(ErrorCode::kInvalidArgument, "maxclients must be positive");
  }
  if (config_.protected_mode && config_.cluster_secret.empty() &&
      !config_.tls_cluster && beyond_loopback(config_.host)) {
    return Status(ErrorCode::kInvalidArgument,
                  "protected mode: listening on " + config_.host +
                      " without a cluster secret would let anyone who "
                      "reaches the actor-system port join the cluster and "
                      "rewrite the store; give every server "
                      "--cluster-secret-file FILE or TLS between servers "
                      "(--tls-cluster), or, on a closed network, "
                      "--protected-mode no");
  }
  if (config_.member_timeout.count() <= 1000) {
    return Status(ErrorCode::kInvalidArgument,
                  "the member timeout must be over 1000 ms (servers gossip "
                  "once a second)");
  }
  if (config_.max_clock_skew.count() <= 0) {
    return Status(ErrorCode::kInvalidArgument,
                  "the maximum clock skew must be positive");
  }
  size_t n = config_.actors;
  if (n == 0) n = std::max(1u, std::thread::hardware_concurrency());
  if (n > 1024) {
    return Status(ErrorCode::kInvalidArgument, "at most 1024 actors");
  }
  if (config_.port != 0 && config_.port + n > 65535) {
    return Status(ErrorCode::kInvalidArgument,
                  "ports " + std::to_string(config_.port) + ".." +
                      std::to_string(config_.port + n) + " exceed 65535");
  }
  Status tls_ok = make_tls_contexts();
  if (!tls_ok.ok()) return tls_ok;
  std::vector<std::string> join;
  for (const auto& t : config_.join) {
    auto a = join_target_address(t);
    if (!a.ok()) return a.status();
    join.push_back(*a);
  }
  for (const auto& f : config_.forget) {
    if (auto hp = parse_host_port(f); !hp.ok()) {
      return Status(
          ErrorCode::kInvalidArgument,
          "--forget wants host:port of a member's cluster port: " + f);
    }
  }

  actor::SystemConfig sc;
  sc.host = config_.host;
  sc.port = config_.port;
  sc.workers = n;
  sc.serialize_local_messages = config_.serialize_local_messages;
  sc.emulated_latency = config_.emulated_latency;
  sc.cluster_secret = config_.cluster_secret;
  if (config_.tls_cluster) sc.cluster_tls = config_.tls;
  sc.on_error = config_.on_error;
  sc.name = "cmud-server";
  auto sys = actor::System::create(std::move(sc));
  if (!sys.ok()) return sys.status();
  system_ = std::move(sys).value();

  // Every port listens before anything runs, so a busy one fails start-up.
  for (size_t i = 0; i < n; ++i) {
    uint16_t port =
        config_.port == 0 ? 0 : static_cast<uint16_t>(config_.port + 1 + i);
    auto acc = actor::listen_tcp(system_->executor(i), config_.host, port);
    if (!acc.ok()) return acc.status();
    acceptors_.push_back(std::make_unique<tcp::acceptor>(std::move(*acc)));
  }
  if (config_.client_port) {
    auto acc = actor::listen_tcp(system_->executor(0), config_.host,
                                 *config_.client_port);
    if (!acc.ok()) return acc.status();
    client_acceptor_ = std::make_unique<tcp::acceptor>(std::move(*acc));
    client_addr_ =
        join_host_port(config_.host, client_acceptor_->local_endpoint().port());
  }
  if (config_.tls_port) {
    auto acc = actor::listen_tcp(system_->executor(0), config_.host,
                                 *config_.tls_port);
    if (!acc.ok()) return acc.status();
    tls_acceptor_ = std::make_unique<tcp::acceptor>(std::move(*acc));
    tls_addr_ =
        join_host_port(config_.host, tls_acceptor_->local_endpoint().port());
  }

  std::vector<std::string> query_ports;
  for (size_t i = 0; i < n; ++i) {
    query_ports.push_back(
        join_host_port(config_.host, acceptors_[i]->local_endpoint().port()));
  }
  SyncOptions sync;
  sync.spacing = config_.sync_spacing;
  sync.incarnation = incarnation_;
  sync.admit.max_skew_ms =
      static_cast<uint64_t>(config_.max_clock_skew.count());
  sync.member_timeout = config_.member_timeout;
  sync.gc_grace = config_.gc_grace;
  // A start no member knows yet writes at its own clock, which may trail
  // ours by the skew we admit, and is known within a member timeout.
  sync.unknown_source_margin = config_.max_clock_skew + config_.member_timeout;
  sync.max_log_bytes = static_cast<size_t>(config_.max_sync_lag_bytes);
  sync.data_dir = config_.data_dir;
  sync.fsync = config_.fsync;
  sync.pubsub = pubsub_;
  if (Status st = configure_users(); !st.ok()) return st;
  sync.acl = acl_;
  auto replicas =
      start_replicas(*system_, std::move(query_ports), sync, std::move(join),
                     config_.repair_log, config_.forget);
  if (!replicas.ok()) return replicas.status();
  for (const auto& w : replicas->recovery_warnings) spdlog::warn("{}", w);
  if (!config_.data_dir.empty()) {
    spdlog::info("read back {} from {} (appendfsync {})", replicas->recovery,
                 config_.data_dir, durable::fsync_name(config_.fsync));
  }
  desc_ = replicas->desc;
  stats_ = std::make_unique<CommandStats>(n);
  for (size_t i = 0; i < n; ++i) {
    auto p = std::make_unique<PortInfo>();
    p->system = system_.get();
    p->actor = replicas->queries[i];
    p->tcp_port = acceptors_[i]->local_endpoint().port();
    p->limits = config_.limits;
    p->settings = &settings_;
    p->clients = &clients_;
    p->protected_mode = config_.protected_mode;
    p->tls_handshake_timeout = config_.tls_handshake_timeout;
    p->acl = acl_.get();
    p->aclfile = config_.aclfile;
    p->signup_rules = config_.signup_rules;
    p->appendonly = !config_.data_dir.empty();
    p->appendfsync = durable::fsync_name(config_.fsync);
    p->data_dir = config_.data_dir;
    p->pubsub = pubsub_.get();
    p->cursors = &cursors_;
    p->registry = &registry_;
    p->monitors = &monitors_;
    p->slots = &StatSlots::get();
    p->stats = stats_.get();
    p->stats_shard = &stats_->shard(i);
    p->slowlog = &slowlog_;
    p->latency = &latency_;
    ports_.push_back(std::move(p));
  }

  for (size_t i = 0; i < n; ++i) {
    asio::post(system_->executor(i), [this, i] { accept_on(i); });
  }
  tls::Context* query_tls =
      config_.tls_query_ports ? tls_server_.get() : nullptr;
  if (client_acceptor_) {
    asio::post(system_->executor(0), [this, query_tls] {
      accept_spread(*client_acceptor_, query_tls);
    });
  }
  if (tls_acceptor_) {
    asio::post(system_->executor(0),
               [this] { accept_spread(*tls_acceptor_, tls_server_.get()); });
  }
  description_ =
      to_json(desc_, client_addr_, tls_addr_, config_.tls_query_ports);
  return {};
}

void Server::Impl::backoff(asio::io_context::executor_type ex,
                           std::function<void()> f) {
  auto t = std::make_shared<asio::steady_timer>(ex, kAcceptBackoff);
  t->async_wait([t, f = std::move(f)](const asio::error_code& ec) {
    if (!ec) f();
  });
}

void Server::Impl::accept_on(size_t i) {
  acceptors_[i]->async_accept(
      [this, i](const asio::error_code& ec, tcp::socket socket) {
        if (ec == asio::error::operation_aborted) return;
        if (ec) {
          spdlog::warn("accept on query port {}: {}", ports_[i]->tcp_port,
                       ec.message());
          backoff(system_->executor(i), [this, i] { accept_on(i); });
          return;
        }
        std::make_shared<Session>(
            std::move(socket), *ports_[i],
            config_.tls_query_ports ? tls_server_.get() : nullptr)
            ->start();
        accept_on(i);
      });
}

void Server::Impl::accept_spread(tcp::acceptor& acceptor, tls::Context* tls) {
  size_t k = next_client_actor_++ % ports_.size();
  acceptor.async_accept(system_->executor(k), [this, k, &acceptor, tls](
                                                  const asio::error_code& ec,
                                                  tcp::socket socket) {
    if (ec == asio::error::operation_aborted) return;
    if (ec) {
      asio::error_code lec;
      spdlog::warn("accept on port {}: {}", acceptor.local_endpoint(lec).port(),
                   ec.message());
      backoff(system_->executor(0),
              [this, &acceptor, tls] { accept_spread(acceptor, tls); });
      return;
    }
    // The socket belongs to actor k's worker; start it there.
    auto s = std::make_shared<Session>(std::move(socket), *ports_[k], tls);
    asio::post(system_->executor(k), [s] { s->start(); });
    accept_spread(acceptor, tls);
  });
}

Status Server::Impl::configure_users() {
  std::vector<acl::User> users;
  if (!config_.aclfile.empty()) {
    if (!config_.requirepass.empty()) {
      return Status(ErrorCode::kInvalidArgument,
                    "--requirepass and --aclfile both define the default "
                    "user: give its password in the ACL file");
    }
    PosixFileSystem fs;
    auto text = fs.read(config_.aclfile);
    if (!text.ok()) {
      return Status(ErrorCode::kInvalidArgument,
                    "cannot read the ACL file: " + text.status().message());
    }
    auto parsed = acl::parse_acl_file(*text, config_.aclfile);
    if (!parsed.ok()) return parsed.status();
    users = std::move(*parsed);
  } else if (!config_.requirepass.empty()) {
    acl::User d("default");
    std::string password = ">" + config_.requirepass;
    Status st = d.apply_all(std::vector<std::string_view>{
        "on", password, "allkeys", "allchannels", "allcommands"});
    if (!st.ok()) return st;
    users.push_back(std::move(d));
  }
  if (!config_.signup_rules.empty()) {
    if (auto u = acl::signup_user(config_.signup_rules, "x", "x"); !u.ok()) {
      return Status(ErrorCode::kInvalidArgument,
                    "--signup-rules: " + u.status().message());
    }
  }
  acl_->configure(std::move(users));
  // As Redis: the connections of a user deleted anywhere in the cluster
  // close, and so do its subscribers to channels it may no longer use.
  acl_->on_changed([this](const std::string& name) {
    registry_.post(
        [&](const ClientRegistry::Row& row) { return row.user == name; },
        [](Session& s) { s.recheck_user(); });
  });
  return {};
}

Status Server::Impl::make_tls_contexts() {
  if (!config_.tls_query_ports && !config_.tls_port) return {};
  auto ctx = tls::server_context(config_.tls);
  if (!ctx.ok()) return ctx.status();
  tls_server_ = *ctx;
  return {};
}

void Server::Impl::stop() {
  std::call_once(stop_once_, [this] {
    if (system_) system_->close();  // no worker runs after this
    // Clients see the server go now, not when it is destroyed.
    registry_.shut_down_all();
    asio::error_code ec;
    for (auto& a : acceptors_) a->close(ec);
    if (client_acceptor_) client_acceptor_->close(ec);
    if (tls_acceptor_) tls_acceptor_->close(ec);
  });
}

Result<std::unique_ptr<Server>> Server::start(ServerConfig config) {
  auto impl = std::make_unique<Impl>(std::move(config));
  Status s = impl->start();
  if (!s.ok()) return s;
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Server::~Server() = default;

const std::string& Server::description() const { return impl_->description(); }
const std::string& Server::address() const { return impl_->address(); }
const std::vector<std::string>& Server::query_addrs() const {
  return impl_->query_addrs();
}
const std::optional<std::string>& Server::client_addr() const {
  return impl_->client_addr();
}
const std::optional<std::string>& Server::tls_addr() const {
  return impl_->tls_addr();
}
actor::Stats Server::stats() const { return impl_->stats(); }

uint64_t Server::incarnation() const { return impl_->incarnation(); }
void Server::stop() { impl_->stop(); }

}  // namespace cmud::server
