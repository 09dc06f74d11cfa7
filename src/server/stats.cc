#include "stats.h"

#include <algorithm>
#include <bit>
#include <chrono>

#include "acl.h"
#include "cmud/common/ascii.h"
#include "commands.h"

namespace cmud::server {

StatSlots::StatSlots() : table_(command_table().data()) {
  auto table = command_table();
  for (const Command& c : table) {
    names_.emplace_back(c.name);
    fast_.push_back((c.flags & kFlagFast) != 0);
  }
  for (const Command& c : table) {
    auto subs = acl::subcommands(c);
    first_sub_.push_back(subs.empty() ? 0 : names_.size());
    for (std::string_view sub : subs) {
      names_.push_back(std::string(c.name) + "|" + std::string(sub));
      fast_.push_back(false);
    }
  }
}

size_t StatSlots::slot(const Command& c,
                       std::span<const std::string_view> args) const {
  size_t i = static_cast<size_t>(&c - table_);
  if (first_sub_[i] == 0 || args.size() < 2) return i;
  auto subs = acl::subcommands(c);
  for (size_t k = 0; k < subs.size(); ++k) {
    if (iequals(args[1], subs[k])) return first_sub_[i] + k;
  }
  return i;
}

std::optional<size_t> StatSlots::find(std::string_view name) const {
  for (size_t i = 0; i < names_.size(); ++i) {
    if (iequals(names_[i], name)) return i;
  }
  return std::nullopt;
}

uint64_t LatencyBuckets::upper(size_t i) {
  if (i < kSub) return i;
  size_t msb = i / kSub + 3;
  uint64_t low = (kSub + i % kSub) << (msb - 4);
  return low + (uint64_t{1} << (msb - 4)) - 1;
}

CommandStats::CommandStats(size_t shards) {
  for (size_t i = 0; i < shards; ++i) {
    shards_.push_back(std::make_unique<Shard>(*this));
  }
}

CommandStats::Shard::Shard(const CommandStats& owner)
    : owner_(owner),
      counters_(std::make_unique<Counters[]>(StatSlots::get().size())) {}

CommandStats::Shard::~Shard() {
  for (size_t i = 0; i < StatSlots::get().size(); ++i) {
    delete[] counters_[i].histogram.load(std::memory_order_relaxed);
  }
}

void CommandStats::Shard::clear() {
  uint64_t gen = owner_.generation_.load(std::memory_order_acquire);
  // Readers skip this shard until the new generation is stored.
  for (size_t i = 0; i < StatSlots::get().size(); ++i) {
    Counters& c = counters_[i];
    c.calls.store(0, std::memory_order_relaxed);
    c.ns.store(0, std::memory_order_relaxed);
    c.rejected.store(0, std::memory_order_relaxed);
    c.failed.store(0, std::memory_order_relaxed);
    if (auto* h = c.histogram.load(std::memory_order_relaxed)) {
      for (size_t b = 0; b < LatencyBuckets::kCount; ++b) {
        h[b].store(0, std::memory_order_relaxed);
      }
    }
  }
  error_replies_.store(0, std::memory_order_relaxed);
  {
    std::lock_guard lock(errors_mu_);
    errors_.clear();
  }
  generation_.store(gen, std::memory_order_release);
}

std::atomic<uint64_t>* CommandStats::Shard::make_histogram(Counters& c) {
  auto* h = new std::atomic<uint64_t>[LatencyBuckets::kCount]();
  c.histogram.store(h, std::memory_order_release);
  return h;
}

void CommandStats::Shard::error_reply(std::string_view reply) {
  catch_up();
  bump(error_replies_);
  if (reply.starts_with('-')) reply.remove_prefix(1);
  // Redis's rule: the code is the first word if the reply has a space in
  // its first 32 bytes, else ERR.
  size_t space = reply.substr(0, 32).find(' ');
  std::string_view code =
      space == std::string_view::npos ? "ERR" : reply.substr(0, space);
  std::lock_guard lock(errors_mu_);
  auto it = errors_.find(code);
  if (it != errors_.end()) {
    ++it->second;
  } else if (errors_.size() < kMaxErrorCodes) {
    errors_.emplace(std::string(code), 1);
  }
}

CommandStats::Totals CommandStats::totals(size_t slot) const {
  Totals t;
  for (const auto& s : shards_) {
    if (!current(*s)) continue;
    const Shard::Counters& c = s->counters_[slot];
    t.calls += c.calls.load(std::memory_order_relaxed);
    t.ns += c.ns.load(std::memory_order_relaxed);
    t.rejected += c.rejected.load(std::memory_order_relaxed);
    t.failed += c.failed.load(std::memory_order_relaxed);
    if (const auto* h = c.histogram.load(std::memory_order_acquire)) {
      t.histogram.resize(LatencyBuckets::kCount);
      for (size_t b = 0; b < LatencyBuckets::kCount; ++b) {
        t.histogram[b] += h[b].load(std::memory_order_relaxed);
      }
    }
  }
  return t;
}

std::map<std::string, uint64_t, std::less<>> CommandStats::errors() const {
  std::map<std::string, uint64_t, std::less<>> all;
  for (const auto& s : shards_) {
    if (!current(*s)) continue;
    std::lock_guard lock(s->errors_mu_);
    for (const auto& [code, n] : s->errors_) all[code] += n;
  }
  return all;
}

uint64_t CommandStats::error_replies() const {
  uint64_t n = 0;
  for (const auto& s : shards_) {
    if (current(*s)) n += s->error_replies_.load(std::memory_order_relaxed);
  }
  return n;
}

void SlowLog::add(std::span<const std::string_view> args, uint64_t us,
                  std::string_view addr, std::string_view name, size_t max_len,
                  bool (*secret)(std::span<const std::string_view>, size_t)) {
  Entry e;
  e.time = static_cast<int64_t>(
      std::chrono::duration_cast<std::chrono::seconds>(
          std::chrono::system_clock::now().time_since_epoch())
          .count());
  e.us = us;
  e.addr = addr;
  e.name = name;
  size_t kept = std::min(args.size(), kMaxArgs);
  for (size_t i = 0; i < kept; ++i) {
    if (kept < args.size() && i == kMaxArgs - 1) {
      e.args.push_back("... (" + std::to_string(args.size() - i) +
                       " more arguments)");
      break;
    }
    if (secret != nullptr && secret(args, i)) {
      e.args.emplace_back("(redacted)");
    } else if (args[i].size() > kMaxArgBytes) {
      e.args.push_back(std::string(args[i].substr(0, kMaxArgBytes)) + "... (" +
                       std::to_string(args[i].size() - kMaxArgBytes) +
                       " more bytes)");
    } else {
      e.args.emplace_back(args[i]);
    }
  }
  std::lock_guard lock(mu_);
  e.id = next_id_++;
  entries_.push_front(std::move(e));
  while (entries_.size() > max_len) entries_.pop_back();
}

std::vector<SlowLog::Entry> SlowLog::latest(size_t count) const {
  std::lock_guard lock(mu_);
  count = std::min(count, entries_.size());
  return {entries_.begin(), entries_.begin() + static_cast<ptrdiff_t>(count)};
}

size_t SlowLog::size() const {
  std::lock_guard lock(mu_);
  return entries_.size();
}

void SlowLog::reset() {
  std::lock_guard lock(mu_);
  entries_.clear();
}

void LatencyMonitor::add(std::string_view event, uint64_t ms, int64_t now_s) {
  std::lock_guard lock(mu_);
  auto it = events_.find(event);
  if (it == events_.end()) {
    it = events_.emplace(std::string(event), Event{}).first;
    it->second.name = event;
  }
  Event& e = it->second;
  e.max = std::max(e.max, ms);
  // One sample per second: the largest.
  if (!e.history.empty() && e.history.back().time == now_s) {
    e.history.back().ms = std::max(e.history.back().ms, ms);
    return;
  }
  e.history.push_back({now_s, ms});
  if (e.history.size() > kHistory) e.history.pop_front();
}

std::vector<LatencyMonitor::Event> LatencyMonitor::events() const {
  std::lock_guard lock(mu_);
  std::vector<Event> all;
  for (const auto& [name, e] : events_) all.push_back(e);
  return all;
}

std::optional<LatencyMonitor::Event> LatencyMonitor::event(
    std::string_view name) const {
  std::lock_guard lock(mu_);
  auto it = events_.find(name);
  if (it == events_.end()) return std::nullopt;
  return it->second;
}

size_t LatencyMonitor::reset(std::span<const std::string_view> names) {
  std::lock_guard lock(mu_);
  if (names.empty()) {
    size_t n = events_.size();
    events_.clear();
    return n;
  }
  size_t n = 0;
  for (std::string_view name : names) {
    auto it = events_.find(name);
    if (it == events_.end()) continue;
    events_.erase(it);
    ++n;
  }
  return n;
}

bool secret_argument(std::span<const std::string_view> args, size_t i) {
  if (args.empty() || i == 0 || i >= args.size()) return false;
  if (iequals(args[0], "auth")) return true;
  if (iequals(args[0], "hello")) {
    // HELLO [protover] AUTH user password: the two after AUTH.
    return (i >= 2 && iequals(args[i - 1], "auth")) ||
           (i >= 3 && iequals(args[i - 2], "auth"));
  }
  if (iequals(args[0], "acl") && args.size() > 1 &&
      iequals(args[1], "signup")) {
    return i == 3;  // ACL SIGNUP name password
  }
  if (iequals(args[0], "acl") && args.size() > 1 &&
      iequals(args[1], "setuser") && i >= 3) {
    char first = args[i].empty() ? '\0' : args[i][0];
    return first == '>' || first == '<' || first == '#' || first == '!';
  }
  return false;
}

}  // namespace cmud::server
