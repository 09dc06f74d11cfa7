// visibility-bench: how long until a Put is visible elsewhere, under a
// steady Put load.
//
// Local: one server with --actors query actors; a writer Puts on actor 0 and
// readers poll every other actor. Remote: two servers joined with
// --latency-ms emulated one-way latency; a writer Puts on server A and
// readers poll every actor of server B. Prints p50/p99/max visibility and
// the largest per-pair message rate the servers saw.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <deque>
#include <mutex>
#include <thread>

#include "cmud/client/client.h"
#include "cmud/server/server.h"

namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

struct Options {
  size_t actors = 2;
  int rate = 200;      // Puts per second
  double seconds = 5;  // load duration
  int64_t latency_ms = 250;
};

struct Result {
  std::vector<double> ms;  // one sample per (Put, reader)
  size_t missing = 0;      // never seen within the timeout
};

std::unique_ptr<cmud::server::Server> start(size_t actors,
                                            std::vector<std::string> join,
                                            int64_t latency_ms) {
  cmud::server::ServerConfig c;
  c.port = 0;
  c.actors = actors;
  c.join = std::move(join);
  c.emulated_latency = std::chrono::milliseconds(latency_ms);
  auto s = cmud::server::Server::start(c);
  if (!s.ok()) {
    std::fprintf(stderr, "visibility-bench: %s\n",
                 s.status().to_string().c_str());
    std::exit(1);
  }
  return std::move(s).value();
}

cmud::client::Client pinned(const std::string& addr) {
  return cmud::client::Client(
      std::make_shared<cmud::client::FixedRouter>(addr));
}

// Writer Puts "vis/<i>" at `rate` per second on `writer_addr`; one reader
// per address polls (MGET) for every key written, recording when it shows.
Result measure(const std::string& writer_addr,
               const std::vector<std::string>& reader_addrs, const Options& o,
               std::chrono::milliseconds timeout) {
  struct Written {
    std::string key;
    Clock::time_point at;
  };
  std::mutex mu;
  std::deque<Written> written;  // guarded by mu
  bool done = false;            // guarded by mu
  Result result;
  std::mutex result_mu;

  std::vector<std::thread> readers;
  for (const auto& addr : reader_addrs) {
    readers.emplace_back([&, addr] {
      auto client = pinned(addr);
      std::vector<Written> waiting;
      size_t next = 0;  // index into `written` of the next key to pick up
      while (true) {
        bool finished;
        {
          std::lock_guard lock(mu);
          for (; next < written.size(); ++next)
            waiting.push_back(written[next]);
          finished = done;
        }
        if (waiting.empty()) {
          if (finished) break;
          std::this_thread::sleep_for(500us);
          continue;
        }
        // Sync keeps each writer's order, so stop at the first key not
        // visible yet: usually one or two GETs a round.
        std::vector<Written> still;
        size_t i = 0;
        for (; i < waiting.size(); ++i) {
          auto r = client.get(waiting[i].key);
          auto now = Clock::now();
          if (r.ok() && r->has_value()) {
            std::lock_guard lock(result_mu);
            result.ms.push_back(
                std::chrono::duration<double, std::milli>(now - waiting[i].at)
                    .count());
          } else if (now - waiting[i].at > timeout) {
            std::lock_guard lock(result_mu);
            ++result.missing;
          } else {
            break;
          }
        }
        still.assign(waiting.begin() + static_cast<std::ptrdiff_t>(i),
                     waiting.end());
        waiting.swap(still);
        std::this_thread::sleep_for(500us);
      }
    });
  }

  auto writer = pinned(writer_addr);
  auto period = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(1.0 / o.rate));
  auto start = Clock::now();
  auto end = start + std::chrono::duration_cast<Clock::duration>(
                         std::chrono::duration<double>(o.seconds));
  for (int64_t i = 0; Clock::now() < end; ++i) {
    std::this_thread::sleep_until(start + i * period);
    std::string key = "vis/" + std::to_string(i);
    auto at = Clock::now();
    auto s = writer.put(key, std::string(32, 'v'));
    if (!s.ok()) {
      std::fprintf(stderr, "put failed: %s\n", s.to_string().c_str());
      continue;
    }
    std::lock_guard lock(mu);
    written.push_back({key, at});
  }
  {
    std::lock_guard lock(mu);
    done = true;
  }
  for (auto& t : readers) t.join();
  return result;
}

void report(const char* name, Result r, uint64_t max_pair) {
  std::sort(r.ms.begin(), r.ms.end());
  auto pct = [&](double p) {
    if (r.ms.empty()) return 0.0;
    return r.ms[std::min(
        r.ms.size() - 1,
        static_cast<size_t>(p * static_cast<double>(r.ms.size())))];
  };
  std::printf(
      "%-7s samples=%zu missing=%zu p50=%.1fms p99=%.1fms max=%.1fms "
      "max_pair_msgs_per_sec=%llu\n",
      name, r.ms.size(), r.missing, pct(0.50), pct(0.99),
      r.ms.empty() ? 0.0 : r.ms.back(),
      static_cast<unsigned long long>(max_pair));
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"visibility-bench: Put-to-visible latency, local and remote"};
  app.add_option("--actors", o.actors, "query actors per server")
      ->capture_default_str();
  app.add_option("--rate", o.rate, "Puts per second")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));
  app.add_option("--seconds", o.seconds, "load duration")
      ->capture_default_str()
      ->check(CLI::Range(0.5, 600.0));
  app.add_option("--latency-ms", o.latency_ms,
                 "emulated one-way latency between the two servers")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  {
    auto s = start(o.actors, {}, 0);
    const auto& q = s->query_addrs();
    std::vector<std::string> readers(q.begin() + 1, q.end());
    auto r = measure(q[0], readers, o, 500ms);
    report("local", std::move(r), s->stats().max_pair_msgs_per_sec);
  }
  {
    auto a = start(o.actors, {}, o.latency_ms);
    auto b = start(o.actors, {a->description()}, o.latency_ms);
    std::this_thread::sleep_for(std::chrono::milliseconds(3 * o.latency_ms));
    auto r = measure(a->query_addrs()[0], b->query_addrs(), o, 2000ms);
    report("remote", std::move(r),
           std::max(a->stats().max_pair_msgs_per_sec,
                    b->stats().max_pair_msgs_per_sec));
  }
  return 0;
}
