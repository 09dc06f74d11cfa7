#include "cluster.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <utility>

namespace cmud::system_test {

actor::Stats add(const actor::Stats& a, const actor::Stats& b) {
  actor::Stats s;
  s.messages_sent = a.messages_sent + b.messages_sent;
  s.messages_sent_external =
      a.messages_sent_external + b.messages_sent_external;
  s.messages_sent_actor = a.messages_sent_actor + b.messages_sent_actor;
  s.bytes_sent = a.bytes_sent + b.bytes_sent;
  s.remote_bytes_received = a.remote_bytes_received + b.remote_bytes_received;
  s.channel_refs_used = a.channel_refs_used + b.channel_refs_used;
  s.max_pair_msgs_per_sec =
      std::max(a.max_pair_msgs_per_sec, b.max_pair_msgs_per_sec);
  return s;
}

actor::Stats since(const actor::Stats& later, const actor::Stats& earlier) {
  actor::Stats s;
  s.messages_sent = later.messages_sent - earlier.messages_sent;
  s.messages_sent_external =
      later.messages_sent_external - earlier.messages_sent_external;
  s.messages_sent_actor =
      later.messages_sent_actor - earlier.messages_sent_actor;
  s.bytes_sent = later.bytes_sent - earlier.bytes_sent;
  s.remote_bytes_received =
      later.remote_bytes_received - earlier.remote_bytes_received;
  s.channel_refs_used = later.channel_refs_used - earlier.channel_refs_used;
  s.max_pair_msgs_per_sec = later.max_pair_msgs_per_sec;
  return s;
}

std::function<void(const Status&)> ErrorCollector::handler() {
  return [this](const Status& s) {
    if (!collecting_) return;
    std::lock_guard lock(mu_);
    errors_.push_back(s.to_string());
  };
}

std::vector<std::string> ErrorCollector::errors() const {
  std::lock_guard lock(mu_);
  return errors_;
}

Budget::Budget(std::chrono::milliseconds limit)
    : limit_(limit), start_(std::chrono::steady_clock::now()) {}

Budget::~Budget() {
  auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - start_);
  EXPECT_LE(took.count(), limit_.count())
      << "the test took " << took.count() << " ms; its budget is "
      << limit_.count() << " ms";
}

Cluster::Cluster(ClusterOptions options) : options_(options) {}

Cluster::Cluster(const std::vector<size_t>& shape, ClusterOptions options)
    : options_(options) {
  for (size_t actors : shape) {
    if (!add_server(actors)) break;
  }
}

Cluster::~Cluster() {
  std::vector<std::string> found = errors();
  for (auto& c : collectors_) c->stop_collecting();
  clients_.clear();  // closes their connections first
  // Newest first, so no server outlives one that joined it.
  for (auto it = servers_.rbegin(); it != servers_.rend(); ++it) {
    (*it)->stop();
  }
  servers_.clear();
  if (!allow_errors_ && !found.empty()) {
    std::string all;
    for (const auto& e : found) all += "\n  " + e;
    ADD_FAILURE() << found.size() << " runtime error(s) reported:" << all;
  }
}

bool Cluster::add_server(size_t actors) {
  server::ServerConfig config;
  config.port = 0;
  config.actors = actors;
  for (const auto& s : servers_) config.join.push_back(s->description());
  config.emulated_latency = options_.latency;
  config.serialize_local_messages = true;
  auto collector = std::make_unique<ErrorCollector>();
  config.on_error = collector->handler();
  auto started = server::Server::start(std::move(config));
  if (!started.ok()) {
    ADD_FAILURE() << "server " << servers_.size()
                  << " did not start: " << started.status().to_string();
    ok_ = false;
    return false;
  }
  size_t index = servers_.size();
  collectors_.push_back(std::move(collector));
  servers_.push_back(std::move(started).value());
  const auto& addrs = servers_.back()->query_addrs();
  if (addrs.size() != actors) {
    ADD_FAILURE() << "server " << index << " has " << addrs.size()
                  << " query ports, expected " << actors;
    ok_ = false;
    return false;
  }
  for (size_t k = 0; k < actors * options_.clients_per_actor; ++k) {
    clients_.push_back(PinnedClient{
        index, std::make_unique<client::Client>(
                   std::make_shared<client::FixedRouter>(addrs[k % actors]))});
  }
  return true;
}

size_t Cluster::actor_count() const {
  size_t n = 0;
  for (const auto& s : servers_) n += s->query_addrs().size();
  return n;
}

std::vector<size_t> Cluster::clients_of(size_t s) const {
  std::vector<size_t> out;
  for (size_t i = 0; i < clients_.size(); ++i) {
    if (clients_[i].server == s) out.push_back(i);
  }
  return out;
}

actor::Stats Cluster::stats() const {
  actor::Stats total;
  for (const auto& s : servers_) total = add(total, s->stats());
  return total;
}

void Cluster::expect_rate_within_limit() const {
  for (size_t i = 0; i < servers_.size(); ++i) {
    EXPECT_LE(servers_[i]->stats().max_pair_msgs_per_sec, kMaxPairMsgsPerSec)
        << "server " << i << ": an ordered actor pair sent more than "
        << kMaxPairMsgsPerSec << " messages within one second";
  }
}

std::vector<std::string> Cluster::errors() const {
  std::vector<std::string> out;
  for (size_t i = 0; i < collectors_.size(); ++i) {
    for (const auto& e : collectors_[i]->errors()) {
      out.push_back("server " + std::to_string(i) + ": " + e);
    }
  }
  return out;
}

}  // namespace cmud::system_test
