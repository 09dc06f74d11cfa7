#include "traces.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <future>
#include <iostream>
#include <map>
#include <random>
#include <set>
#include <thread>
#include <vector>

namespace cmud::system_test {
namespace {

using Clock = std::chrono::steady_clock;

std::string dump(const client::KeyValues& kvs, size_t max = 20) {
  std::string out = "{";
  for (size_t i = 0; i < kvs.size() && i < max; ++i) {
    if (i > 0) out += ", ";
    out += kvs[i].first + "=" + kvs[i].second;
  }
  if (kvs.size() > max) out += ", … (" + std::to_string(kvs.size()) + ")";
  return out + "}";
}

client::KeyValues to_key_values(const std::map<std::string, std::string>& m) {
  return client::KeyValues(m.begin(), m.end());
}

// Runs fn(i) for every client i on its own thread and joins them all.
void on_every_client(Cluster& c, const std::function<void(size_t)>& fn) {
  std::vector<std::thread> threads;
  threads.reserve(c.client_count());
  for (size_t i = 0; i < c.client_count(); ++i) {
    threads.emplace_back([&fn, i] { fn(i); });
  }
  for (auto& t : threads) t.join();
}

// Every client's List(prefix) equals `expected`.
void expect_every_list(Cluster& c, const std::string& prefix,
                       const client::KeyValues& expected) {
  for (size_t i = 0; i < c.client_count(); ++i) {
    auto got = list_ok(c.client(i), prefix);
    EXPECT_EQ(got, expected)
        << "client " << i << " (server " << c.server_of(i) << ") List(\""
        << prefix << "\") = " << dump(got) << ", expected " << dump(expected);
  }
}

}  // namespace

void put_ok(client::Client& c, const std::string& key,
            const std::string& value) {
  Status s = c.put(key, value);
  EXPECT_TRUE(s.ok()) << "Put(" << key << ") failed: " << s.to_string();
}

std::optional<std::string> get_ok(client::Client& c, const std::string& key) {
  auto r = c.get(key);
  EXPECT_TRUE(r.ok()) << "Get(" << key
                      << ") failed: " << r.status().to_string();
  return r.ok() ? *r : std::nullopt;
}

client::KeyValues list_ok(client::Client& c, const std::string& prefix) {
  auto r = c.list(prefix);
  EXPECT_TRUE(r.ok()) << "List(" << prefix
                      << ") failed: " << r.status().to_string();
  return r.ok() ? *r : client::KeyValues{};
}

TraceCounts put_get(Cluster& c, const std::string& round) {
  const std::string key = "putget" + round;
  const std::string value = "value of " + key;
  put_ok(c.client(0), key, value);
  std::this_thread::sleep_for(c.deadline());
  for (size_t i = 0; i < c.client_count(); ++i) {
    EXPECT_EQ(get_ok(c.client(i), key), value)
        << "client " << i << " (server " << c.server_of(i)
        << ") does not see the Put of client 0 after " << c.deadline().count()
        << " ms";
  }
  uint64_t n = c.actor_count();
  return {.queries = 1 + c.client_count(), .min_syncs = n - 1};
}

TraceCounts put_all_get(Cluster& c, const std::string& round) {
  const size_t clients = c.client_count();
  auto key = [&](size_t i) {
    return "putallget" + round + "/" + std::to_string(i);
  };
  std::vector<std::future<Status>> puts;
  for (size_t i = 0; i < clients; ++i) {
    puts.push_back(
        c.client(i).put_async(key(i), "from client " + std::to_string(i)));
  }
  for (size_t i = 0; i < clients; ++i) {
    Status s = puts[i].get();
    EXPECT_TRUE(s.ok()) << "client " << i << " Put: " << s.to_string();
  }
  std::this_thread::sleep_for(c.deadline());
  for (size_t i = 0; i < clients; ++i) {
    for (size_t j = 0; j < clients; ++j) {
      EXPECT_EQ(get_ok(c.client(i), key(j)), "from client " + std::to_string(j))
          << "client " << i << " (server " << c.server_of(i)
          << ") does not see the Put of client " << j << " (server "
          << c.server_of(j) << ") after " << c.deadline().count() << " ms";
    }
  }
  uint64_t n = c.actor_count();
  return {.queries = clients + clients * clients, .min_syncs = n * (n - 1)};
}

void expect_counts(const Cluster& c, const actor::Stats& before,
                   TraceCounts counts) {
  actor::Stats d = since(c.stats(), before);
  std::cout << "[ counts   ] external " << d.messages_sent_external
            << ", channel refs " << d.channel_refs_used << ", actor "
            << d.messages_sent_actor << " (q " << counts.queries
            << ", min syncs " << counts.min_syncs << "), bytes " << d.bytes_sent
            << "\n";
  EXPECT_GE(d.messages_sent_external, counts.queries)
      << "fewer messages from outside the actor system than queries";
  EXPECT_GE(d.channel_refs_used, counts.queries)
      << "fewer channel refs than queries";
  // Replies to channel refs are actor messages too: one per query.
  EXPECT_GE(d.messages_sent_actor, counts.queries + counts.min_syncs)
      << "fewer actor messages than " << counts.queries << " replies + "
      << counts.min_syncs << " syncs";
  if (c.server_count() > 1) {
    for (size_t i = 0; i < c.server_count(); ++i) {
      EXPECT_GT(c.stats(i).remote_bytes_received, 0u)
          << "server " << i << " received nothing from other servers";
    }
  }
}

void frequent_put(Cluster& c, bool concurrent) {
  constexpr int kPuts = 300;
  constexpr auto kPeriod = 10ms;
  auto key = [](int j) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "freq/%03d", j);
    return std::string(buf);
  };
  auto value = [](size_t client, int j) {
    return "client " + std::to_string(client) + " put " + std::to_string(j);
  };
  auto writer = [&](size_t client) {
    auto start = Clock::now();
    for (int j = 0; j < kPuts; ++j) {
      std::this_thread::sleep_until(start + j * kPeriod);
      put_ok(c.client(client), key(j), value(client, j));
    }
  };
  if (concurrent) {
    on_every_client(c, writer);
  } else {
    writer(0);
  }
  std::this_thread::sleep_for(c.deadline());

  auto first = list_ok(c.client(0), "");
  if (!concurrent) {
    std::map<std::string, std::string> expected;
    for (int j = 0; j < kPuts; ++j) expected[key(j)] = value(0, j);
    EXPECT_EQ(first, to_key_values(expected)) << "client 0: " << dump(first);
  } else {
    ASSERT_EQ(first.size(), size_t{kPuts}) << dump(first);
    for (int j = 0; j < kPuts; ++j) {
      EXPECT_EQ(first[j].first, key(j));
      bool from_some_client = false;
      for (size_t i = 0; i < c.client_count(); ++i) {
        from_some_client |= first[j].second == value(i, j);
      }
      EXPECT_TRUE(from_some_client) << first[j].first << "=" << first[j].second;
    }
  }
  expect_every_list(c, "", first);
  c.expect_rate_within_limit();
}

TraceCounts lww(Cluster& c, int variant) {
  const std::string key = "lww/sandwich";
  uint64_t puts = 2;
  put_ok(c.client(0), key, "cheese");
  auto first = Clock::now();
  std::this_thread::sleep_until(first + kLwwGranularity);
  put_ok(c.client(1), key, "mustard");
  auto mustard_done = Clock::now();
  std::string expected = "mustard";
  if (variant > 1) {
    // 20 ms after the first, and at least 10 ms after the mustard was
    // taken: a loaded machine may take longer than 10 ms to answer it, and
    // a write taken in the same millisecond on another server is a tie.
    std::this_thread::sleep_until(
        std::max(first + 2 * kLwwGranularity, mustard_done + kLwwGranularity));
    size_t writer = variant == 2 ? 1 : variant == 3 ? 2 : 0;
    expected = variant == 4 ? "cheese" : "pickles";
    put_ok(c.client(writer), key, expected);
    ++puts;
  }
  std::this_thread::sleep_for(c.deadline());
  for (size_t i = 0; i < c.client_count(); ++i) {
    EXPECT_EQ(get_ok(c.client(i), key), expected)
        << "client " << i << " (server " << c.server_of(i) << "), LWW"
        << variant;
  }
  uint64_t n = c.actor_count();
  return {.queries = puts + c.client_count(), .min_syncs = n - 1};
}

TraceCounts put_then_del(Cluster& c, bool put_first) {
  const std::string key = "tomb/stone";
  const size_t second =
      c.server_count() > 1 ? c.clients_of(c.server_count() - 1).at(0) : 1;
  auto del_ok = [&](client::Client& cl) {
    auto r = cl.del(key);
    EXPECT_TRUE(r.ok()) << "Del(" << key << "): " << r.status().to_string();
  };
  if (put_first) {
    put_ok(c.client(0), key, "alive");
  } else {
    del_ok(c.client(0));
  }
  auto first = Clock::now();
  std::this_thread::sleep_until(first + kLwwGranularity);
  if (put_first) {
    del_ok(c.client(second));
  } else {
    put_ok(c.client(second), key, "alive again");
  }
  std::this_thread::sleep_for(c.deadline());
  std::optional<std::string> expected;
  if (!put_first) expected = "alive again";
  client::KeyValues listed;
  if (expected) listed.emplace_back(key, *expected);
  for (size_t i = 0; i < c.client_count(); ++i) {
    EXPECT_EQ(get_ok(c.client(i), key), expected)
        << "client " << i << " (server " << c.server_of(i) << ")";
  }
  expect_every_list(c, "", listed);
  uint64_t n = c.actor_count();
  return {.queries = 2 + 2 * c.client_count(), .min_syncs = n - 1};
}

void stress(Cluster& c, uint64_t seed) {
  constexpr int kOps = 100;
  constexpr int kKeys = 50;
  constexpr int kValues = 10;
  constexpr int kPrefixes = 5;
  enum class Kind { kGet, kPut, kList };
  struct Op {
    Kind kind;
    std::string key;  // or prefix
    std::string value;
  };
  // Every op is drawn up front from the seed, so runs are repeatable.
  std::mt19937_64 rng(seed);
  const size_t clients = c.client_count();
  std::vector<std::vector<Op>> ops(clients);
  // last[k][i]: the last value client i Put for key k.
  std::map<std::string, std::map<size_t, std::string>> last;
  for (size_t i = 0; i < clients; ++i) {
    for (int n = 0; n < kOps; ++n) {
      Op op;
      switch (rng() % 3) {
        case 0:
          op.kind = Kind::kGet;
          op.key = "key" + std::to_string(rng() % kKeys);
          break;
        case 1:
          op.kind = Kind::kPut;
          op.key = "key" + std::to_string(rng() % kKeys);
          op.value = "value" + std::to_string(rng() % kValues);
          last[op.key][i] = op.value;
          break;
        default:
          op.kind = Kind::kList;
          op.key = "key" + std::to_string(rng() % kPrefixes);
          break;
      }
      ops[i].push_back(std::move(op));
    }
  }
  const auto pause = c.deadline() / 50;
  std::atomic<int64_t> busy_us{0};
  std::atomic<int64_t> max_us{0};
  auto started = Clock::now();
  on_every_client(c, [&](size_t i) {
    for (const Op& op : ops[i]) {
      auto op_start = Clock::now();
      switch (op.kind) {
        case Kind::kGet: {
          auto v = get_ok(c.client(i), op.key);
          if (v) {
            EXPECT_TRUE(v->starts_with("value")) << op.key << "=" << *v;
          }
          break;
        }
        case Kind::kPut:
          put_ok(c.client(i), op.key, op.value);
          break;
        case Kind::kList: {
          auto items = list_ok(c.client(i), op.key);
          for (size_t k = 0; k < items.size(); ++k) {
            EXPECT_TRUE(items[k].first.starts_with(op.key)) << items[k].first;
            if (k > 0) {
              EXPECT_LT(items[k - 1].first, items[k].first);
            }
          }
          break;
        }
      }
      int64_t us = std::chrono::duration_cast<std::chrono::microseconds>(
                       Clock::now() - op_start)
                       .count();
      busy_us += us;
      int64_t seen = max_us.load();
      while (us > seen && !max_us.compare_exchange_weak(seen, us)) {
      }
      std::this_thread::sleep_for(pause);
    }
  });
  std::cout << "[ stress   ] " << clients * kOps << " ops in "
            << std::chrono::duration_cast<std::chrono::milliseconds>(
                   Clock::now() - started)
                   .count()
            << " ms; per op " << busy_us / (clients * kOps) << " us mean, "
            << max_us << " us max\n";
  std::this_thread::sleep_for(c.deadline());

  auto all = list_ok(c.client(0), "");
  std::set<std::string> keys_put;
  for (const auto& [k, by_client] : last) keys_put.insert(k);
  std::set<std::string> keys_listed;
  for (const auto& [k, v] : all) {
    keys_listed.insert(k);
    auto it = last.find(k);
    if (it == last.end()) continue;
    bool some_last_put = false;
    for (const auto& [client, value] : it->second) {
      some_last_put |= value == v;
    }
    EXPECT_TRUE(some_last_put)
        << k << "=" << v << " is no client's last Put of " << k;
  }
  EXPECT_EQ(keys_listed, keys_put);
  expect_every_list(c, "", all);
  c.expect_rate_within_limit();
}

void size_check(Cluster& c, const Trace& trace) {
  constexpr int kFillers = 1000;
  // The cheapest of three rounds: the servers' timers (repair rounds, each
  // second) fall into some rounds' windows and add bytes that have nothing
  // to do with the round; they cannot fall into all three.
  auto cheapest = [&](const std::string& round) {
    uint64_t least = UINT64_MAX;
    for (const char* run : {"a", "b", "c"}) {
      actor::Stats before = c.stats();
      TraceCounts counts = trace(c, round + run);
      expect_counts(c, before, counts);
      least = std::min(least, since(c.stats(), before).bytes_sent);
    }
    return least;
  };
  uint64_t r1 = cheapest("1");

  std::map<std::string, std::string> fillers;
  for (int i = 0; i < kFillers; ++i) {
    std::string key = "filler" + std::to_string(i);
    std::string value = std::to_string(i) + " marshmallows";
    put_ok(c.client(0), key, value);
    fillers[key] = value;
  }
  std::this_thread::sleep_for(c.deadline());
  for (size_t i : {size_t{1}, c.client_count() - 1}) {
    auto got = list_ok(c.client(i), "filler");
    EXPECT_EQ(got, to_key_values(fillers))
        << "client " << i << " (server " << c.server_of(i) << ") lists "
        << got.size() << " of " << kFillers << " fillers";
  }

  uint64_t r2 = cheapest("2");
  std::cout << "[ size     ] r1 = " << r1 << " bytes, r2 = " << r2
            << " bytes\n";
  ::testing::Test::RecordProperty("r1_bytes", std::to_string(r1));
  ::testing::Test::RecordProperty("r2_bytes", std::to_string(r2));
  EXPECT_LE(r2, 2 * r1) << "a round after 1000 more keys cost " << r2
                        << " bytes against " << r1
                        << " before: sync is not incremental";
  c.expect_rate_within_limit();
}

}  // namespace cmud::system_test
