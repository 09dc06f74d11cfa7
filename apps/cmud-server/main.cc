// cmud-server: runs one storage server until SIGINT/SIGTERM (SIGHUP is
// ignored).
#include <malloc.h>
#include <CLI/CLI.hpp>

#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>

#include "cmud/server/server.h"

int main(int argc, char** argv) {
  // Each query actor fills a replica of millions of small entries (at a
  // start, from the data directory, in parallel): growing a worker's heap
  // 64 MiB at a time, not a few pages, spares it most of the page-fault
  // and heap-growth stalls. Pages stay unused until touched.
  mallopt(M_TOP_PAD, 64 << 20);
  cmud::server::ServerConfig config;
  std::string desc_file;
  uint16_t client_port = 0;
  int64_t latency_ms = 0;
  std::vector<std::string> positional;

  CLI::App app{
      "cmud-server: one CMUD storage server. The actor system listens on "
      "--port, query actor i (Redis protocol) on port+1+i. Prints "
      "'description: <json>' once every port listens."};
  app.add_option("--port", config.port, "base port (actor system)")
      ->capture_default_str();
  app.add_option("--actors", config.actors,
                 "query actors, 1 to 1024 (default: one per core)")
      ->check(CLI::Range(size_t{1}, size_t{1024}));
  app.add_option("--join", config.join,
                 "a server to join: its description (JSON) or the host:port "
                 "of its actor system (repeatable)");
  app.add_option("--forget", config.forget,
                 "a dead member to forget for good, host:port of its actor "
                 "system (repeatable; as CLUSTER FORGET)");
  app.add_option("--host", config.host, "address to listen on")
      ->capture_default_str();
  app.add_option("--client-port", client_port,
                 "extra port spreading connections over all query actors");
  app.add_option("--emulate-latency-ms", latency_ms,
                 "one-way latency added to traffic to other servers")
      ->check(CLI::Range(0, 60000));
  app.add_option("--maxclients", config.max_clients,
                 "connections over all query ports (as Redis's maxclients)")
      ->check(CLI::Range(size_t{1}, size_t{1} << 20))
      ->capture_default_str();
  std::string maxmemory = "0";
  app.add_option("--maxmemory", maxmemory,
                 "refuse client writes that grow the store (-OOM) while the "
                 "allocator holds more than this (bytes, or 100mb, 2gb...; "
                 "0: no limit); writes from other servers are always taken")
      ->check([](const std::string& v) {
        return cmud::server::parse_memory_value(v)
                   ? std::string()
                   : "not a memory value (e.g. 512mb): " + v;
      })
      ->capture_default_str();
  app.add_option("--client-query-buffer-limit",
                 config.client_query_buffer_limit,
                 "unparsed input one connection may hold, in bytes")
      ->check(CLI::Range(size_t{1} << 20, size_t{1} << 34))
      ->capture_default_str();
  app.add_option("--client-output-buffer-limit",
                 config.client_output_buffer_limit,
                 "replies one connection may leave unread, in bytes, before "
                 "it is closed (0: no limit)")
      ->check(CLI::Range(size_t{0}, size_t{1} << 40))
      ->capture_default_str();
  app.add_option("--proto-max-bulk-len", config.limits.max_bulk,
                 "largest bulk string (value) a client may send, in bytes")
      ->check(CLI::Range(size_t{1} << 10, size_t{60} << 20))
      ->capture_default_str();
  std::string secret_file;
  app.add_option("--cluster-secret-file", secret_file,
                 "a file holding the cluster secret (every server of the "
                 "cluster the same; e.g. 'openssl rand -hex 32 > FILE'); "
                 "servers without it cannot connect")
      ->check(CLI::ExistingFile);
  std::string requirepass_file;
  auto* requirepass = app.add_option(
      "--requirepass", config.requirepass,
      "a password query clients must give (AUTH, or HELLO ... AUTH "
      "default PASS) before any other command; other users of this machine "
      "can read it in the process list, so prefer --requirepass-file");
  auto* requirepass_from_file =
      app.add_option("--requirepass-file", requirepass_file,
                     "a file holding that password (trailing whitespace "
                     "ignored)")
          ->check(CLI::ExistingFile)
          ->excludes(requirepass);
  app.add_option("--aclfile", config.aclfile,
                 "Redis's ACL file: one 'user NAME RULE...' per line (e.g. "
                 "'user alice on >secret ~app:* +@read'), read at start and "
                 "by ACL LOAD, written by ACL SAVE; it defines the default "
                 "user too")
      ->check(CLI::ExistingFile)
      ->excludes(requirepass)
      ->excludes(requirepass_from_file);
  app.add_option("--signup-rules", config.signup_rules,
                 "turns ACL SIGNUP on: anyone allowed it (e.g. the default "
                 "user with +acl|signup) may make a user with a password, "
                 "from these ACL SETUSER rules with {user} replaced by the "
                 "name (e.g. '%W~game/player/{user} %R~game/* +@read "
                 "+set')");
  app.add_option("--tls-cert-file", config.tls.cert_file,
                 "PEM certificate (chain) of this server, for TLS query "
                 "ports and TLS links between servers")
      ->check(CLI::ExistingFile);
  app.add_option("--tls-key-file", config.tls.key_file,
                 "PEM private key of that certificate")
      ->check(CLI::ExistingFile);
  app.add_option("--tls-ca-cert-file", config.tls.ca_cert_file,
                 "PEM CA certificates that client certificates and other "
                 "servers' certificates must chain to")
      ->check(CLI::ExistingFile);
  std::string auth_clients = "yes";
  app.add_option("--tls-auth-clients", auth_clients,
                 "TLS query clients must show a certificate signed by the CA "
                 "(yes), may (optional: verified if shown), or need not (no)")
      ->check(CLI::IsMember({"yes", "no", "optional"}, CLI::ignore_case))
      ->capture_default_str();
  app.add_flag("--tls", config.tls_query_ports,
               "every query port (and --client-port) speaks TLS only");
  uint16_t tls_port = 0;
  app.add_option("--tls-port", tls_port,
                 "an extra TLS port whose connections are spread over the "
                 "actors, beside the plain query ports")
      ->check(CLI::Range(1, 65535));
  app.add_flag("--tls-cluster", config.tls_cluster,
               "links between servers use TLS, each side verifying the "
               "other's certificate against the CA (every server of the "
               "cluster must have it)");
  int64_t max_skew_ms = 60000;
  app.add_option("--max-clock-skew-ms", max_skew_ms,
                 "hold back versions from other servers more than this far "
                 "ahead of this server's clock")
      ->check(CLI::Range(int64_t{1}, int64_t{86400000}))
      ->capture_default_str();
  std::string protected_mode = "yes";
  app.add_option("--protected-mode", protected_mode,
                 "yes: refuse to listen beyond loopback without a cluster "
                 "secret, and without a password take query clients from "
                 "loopback only (as Redis)")
      ->check(CLI::IsMember({"yes", "no"}))
      ->capture_default_str();
  app.add_option("--data-dir", config.data_dir,
                 "a directory for this server's durable state (its "
                 "identity, the write-ahead logs and the snapshot); turns "
                 "persistence on: a restart brings the store back");
  std::string fsync = "everysec";
  app.add_option("--fsync", fsync,
                 "with --data-dir, when logged writes reach the disk: "
                 "always (before each reply; one fsync per batch of "
                 "writes), everysec (at most ~1 s of writes lost in a "
                 "crash), no (when the kernel writes them back)")
      ->check(CLI::IsMember({"always", "everysec", "no"}))
      ->capture_default_str();
  app.add_flag("--repair-log", config.repair_log,
               "start even if a log or the snapshot is damaged in the "
               "middle, keeping what precedes the damage (other servers "
               "repair the rest)");
  int64_t member_timeout_ms = 5000;
  app.add_option("--member-timeout-ms", member_timeout_ms,
                 "mark another server down after this long without a word "
                 "from it (servers gossip once a second)")
      ->check(CLI::Range(int64_t{1001}, int64_t{3'600'000}))
      ->capture_default_str();
  int64_t gc_grace_s = 3600;
  app.add_option("--gc-grace-seconds", gc_grace_s,
                 "how long a server that is down, or a start that ended, "
                 "holds back the collection of deleted keys; one that comes "
                 "back later has its older writes refused. A server that "
                 "has known no other member since it started waits as long "
                 "before it frees any")
      ->check(CLI::Range(int64_t{1}, int64_t{30} * 86400))
      ->capture_default_str();
  uint64_t max_sync_lag_mb = 64;
  app.add_option("--max-sync-lag-mb", max_sync_lag_mb,
                 "what each query actor keeps for peers that lag behind its "
                 "writes; past it they catch up by repair")
      ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 20))
      ->capture_default_str();
  app.add_option("--desc-file", desc_file,
                 "also write the description JSON to this file");
  app.add_option("descriptions", positional,
                 "descriptions of servers to join (like --join)");
  CLI11_PARSE(app, argc, argv);

  config.join.insert(config.join.end(), positional.begin(), positional.end());
  config.protected_mode = protected_mode == "yes";
  config.maxmemory = *cmud::server::parse_memory_value(maxmemory);
  config.fsync = *cmud::durable::parse_fsync(fsync);  // checked above
  if (client_port != 0) config.client_port = client_port;
  if (tls_port != 0) config.tls_port = tls_port;
  config.tls.auth_clients = *cmud::tls::parse_auth_clients(auth_clients);
  config.emulated_latency = std::chrono::milliseconds(latency_ms);
  config.max_clock_skew = std::chrono::milliseconds(max_skew_ms);
  config.member_timeout = std::chrono::milliseconds(member_timeout_ms);
  config.gc_grace = std::chrono::seconds(gc_grace_s);
  config.max_sync_lag_bytes = max_sync_lag_mb << 20;
  if (!secret_file.empty()) {
    auto secret = cmud::server::read_cluster_secret(secret_file);
    if (!secret.ok()) {
      std::fprintf(stderr, "cmud-server: %s\n",
                   secret.status().message().c_str());
      return 2;
    }
    config.cluster_secret = std::move(*secret);
  }
  if (!requirepass_file.empty()) {
    auto password = cmud::server::read_password_file(requirepass_file);
    if (!password.ok()) {
      std::fprintf(stderr, "cmud-server: %s\n",
                   password.status().message().c_str());
      return 2;
    }
    config.requirepass = std::move(*password);
  }

  // Block the stop signals before any thread starts; wait for them below.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
  // As Redis: the terminal that started it may close, and a paused server
  // whose process group is orphaned gets SIGHUP from the kernel.
  std::signal(SIGHUP, SIG_IGN);

  auto server = cmud::server::Server::start(std::move(config));
  if (!server.ok()) {
    std::fprintf(stderr, "cmud-server: %s\n",
                 server.status().to_string().c_str());
    return 1;
  }
  const std::string& desc = (*server)->description();
  if (!desc_file.empty()) {
    std::ofstream f(desc_file);
    f << desc << "\n";
    if (!f) {
      std::fprintf(stderr, "cmud-server: cannot write %s\n", desc_file.c_str());
      return 1;
    }
  }
  std::fprintf(stderr, "cmud-server: actor system on %s; query ports",
               (*server)->address().c_str());
  for (const auto& q : (*server)->query_addrs()) {
    std::fprintf(stderr, " %s", q.c_str());
  }
  if ((*server)->client_addr()) {
    std::fprintf(stderr, "; client port %s", (*server)->client_addr()->c_str());
  }
  std::fprintf(stderr, "\n");
  std::printf("description: %s\n", desc.c_str());
  std::fflush(stdout);

  int sig = 0;
  sigwait(&stop, &sig);
  std::fprintf(stderr, "cmud-server: stopping (%s)\n",
               sig == SIGINT ? "SIGINT" : "SIGTERM");
  (*server)->stop();
  return 0;
}
