// The original suite's traces, run against a Cluster and checked with
// GoogleTest assertions (ORIGINAL-TESTS.md, "Traces used by the sync
// tests"). Each trace issues its queries one at a time per client, so each
// query is exactly one QueryRequest from outside the actor system and one
// channel ref.
//
// Only the test's thread may call these.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "cluster.h"

namespace cmud::system_test {

// What a trace promises about the runtime statistics: at least `queries`
// external messages and channel refs, and at least `min_syncs` sync
// messages between query actors.
struct TraceCounts {
  uint64_t queries = 0;
  uint64_t min_syncs = 0;
};

// A trace round; `round` keeps keys of different rounds apart.
using Trace = std::function<TraceCounts(Cluster&, const std::string& round)>;

// Client helpers: the call must succeed (else the test fails).
void put_ok(client::Client& c, const std::string& key,
            const std::string& value);
std::optional<std::string> get_ok(client::Client& c, const std::string& key);
client::KeyValues list_ok(client::Client& c, const std::string& prefix);

// Put on client 0, wait the deadline, every client Gets it.
TraceCounts put_get(Cluster& c, const std::string& round = "");
// Every client Puts its own key (concurrently), wait the deadline, every
// client Gets every key.
TraceCounts put_all_get(Cluster& c, const std::string& round = "");

// Checks the counts of a trace run between `before` and now: external
// messages ≥ queries, channel refs ≥ queries, actor messages ≥ queries +
// min_syncs (each query's reply to its channel ref is an actor message too),
// and with several servers, that every server received remote bytes.
void expect_counts(const Cluster& c, const actor::Stats& before,
                   TraceCounts counts);

// 300 Puts one every 10 ms from client 0, or from every client at once
// (concurrent); wait the deadline; every client's List("") must be the same
// and hold exactly the 300 keys (and, from client 0 alone, their values).
void frequent_put(Cluster& c, bool concurrent);

// LWW1–4 (variant 1..4): conflicting Puts 10 ms apart on different actors;
// after the deadline every client sees the last writer's value.
// REQUIRES: at least 3 clients on distinct actors.
TraceCounts lww(Cluster& c, int variant);

// Tombstones: client 0 Puts a key (or Dels it, when put_first is false);
// 10 ms later another client (on the last server, if several; else client
// 1) does the other; after the deadline every client sees the later one
// (absent after a Del, the value after a Put), and List("") agrees.
TraceCounts put_then_del(Cluster& c, bool put_first);

// 100 random ops per client (fixed seed), all clients at once, deadline/50
// between ops; then every client's List("") is the same, holds exactly the
// keys Put, each with the last value one of the clients Put for it.
void stress(Cluster& c, uint64_t seed);

// Size: round 1 of `trace` costs r1 bytes; then 1000 sequential Puts
// filler<i> = "<i> marshmallows" on client 0; wait the deadline; client 1
// (and the last client) List("filler") has all 1000; round 2 costs
// r2 ≤ 2 × r1 bytes. Rate limit checked too.
void size_check(Cluster& c, const Trace& trace);

}  // namespace cmud::system_test
