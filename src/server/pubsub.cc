#include "pubsub.h"

#include <algorithm>

#include "cmud/resp/resp.h"

namespace cmud::server {

bool PubSub::add(Index& index, bool pattern, Subscriber* s,
                 std::string_view name) {
  Held& h = held_[s];
  auto& mine = pattern ? h.patterns : h.channels;
  if (!mine.emplace(name).second) return false;
  index[std::string(name)].insert(s);
  return true;
}

bool PubSub::drop(Index& index, bool pattern, Subscriber* s,
                  std::string_view name) {
  auto h = held_.find(s);
  if (h == held_.end()) return false;
  auto& mine = pattern ? h->second.patterns : h->second.channels;
  auto it = mine.find(std::string(name));
  if (it == mine.end()) return false;
  mine.erase(it);
  auto at = index.find(std::string(name));
  if (at != index.end()) {
    at->second.erase(s);
    if (at->second.empty()) index.erase(at);
  }
  if (h->second.channels.empty() && h->second.patterns.empty()) {
    held_.erase(h);
  }
  return true;
}

bool PubSub::subscribe(Subscriber* s, std::string_view channel) {
  std::lock_guard lock(mu_);
  return add(channels_, false, s, channel);
}

bool PubSub::unsubscribe(Subscriber* s, std::string_view channel) {
  std::lock_guard lock(mu_);
  return drop(channels_, false, s, channel);
}

bool PubSub::psubscribe(Subscriber* s, std::string_view pattern) {
  std::lock_guard lock(mu_);
  return add(patterns_, true, s, pattern);
}

bool PubSub::punsubscribe(Subscriber* s, std::string_view pattern) {
  std::lock_guard lock(mu_);
  return drop(patterns_, true, s, pattern);
}

void PubSub::remove(Subscriber* s) {
  std::lock_guard lock(mu_);
  auto h = held_.find(s);
  if (h == held_.end()) return;
  // Copies: drop() erases from these sets and, at the end, h itself.
  std::vector<std::string> channels(h->second.channels.begin(),
                                    h->second.channels.end());
  std::vector<std::string> patterns(h->second.patterns.begin(),
                                    h->second.patterns.end());
  for (const auto& c : channels) drop(channels_, false, s, c);
  for (const auto& p : patterns) drop(patterns_, true, s, p);
}

namespace {

constexpr uint32_t kNotifyAll = kNotifyGeneric | kNotifyString | kNotifyList |
                                kNotifySet | kNotifyHash | kNotifyZset |
                                kNotifyExpired | kNotifyEvicted |
                                kNotifyStream | kNotifyModule;
// Letters in Redis's order of CONFIG GET.
constexpr std::pair<char, uint32_t> kNotifyLetters[] = {
    {'g', kNotifyGeneric},  {'$', kNotifyString},  {'l', kNotifyList},
    {'s', kNotifySet},      {'h', kNotifyHash},    {'z', kNotifyZset},
    {'x', kNotifyExpired},  {'e', kNotifyEvicted}, {'t', kNotifyStream},
    {'d', kNotifyModule},   {'n', kNotifyNew},     {'K', kNotifyKeyspace},
    {'E', kNotifyKeyevent}, {'m', kNotifyKeyMiss}};

}  // namespace

std::optional<uint32_t> parse_notify_flags(std::string_view letters) {
  uint32_t flags = 0;
  for (char c : letters) {
    if (c == 'A') {
      flags |= kNotifyAll;
      continue;
    }
    auto it = std::find_if(std::begin(kNotifyLetters), std::end(kNotifyLetters),
                           [c](const auto& l) { return l.first == c; });
    if (it == std::end(kNotifyLetters)) return std::nullopt;
    flags |= it->second;
  }
  return flags;
}

std::string notify_flags_text(uint32_t flags) {
  std::string out;
  bool all = (flags & kNotifyAll) == kNotifyAll;
  if (all) out += 'A';
  for (const auto& [letter, bit] : kNotifyLetters) {
    if ((flags & bit) != 0 && !(all && (bit & kNotifyAll) != 0)) out += letter;
  }
  return out;
}

void PubSub::notify(uint32_t type, std::string_view event,
                    std::string_view key) {
  uint32_t f = notify_.load(std::memory_order_relaxed);
  if ((f & type) == 0) return;
  if ((f & kNotifyKeyspace) != 0) {
    publish("__keyspace@0__:" + std::string(key), event);
  }
  if ((f & kNotifyKeyevent) != 0) {
    publish("__keyevent@0__:" + std::string(event), key);
  }
}

size_t PubSub::publish(std::string_view channel, std::string_view message) {
  std::lock_guard lock(mu_);
  ++published_;
  auto at = channels_.find(std::string(channel));
  bool any = at != channels_.end() || !patterns_.empty();
  if (!any) return 0;
  auto m = std::make_shared<const PubSubMessage>(
      PubSubMessage{std::string(channel), std::string(message)});
  size_t receivers = 0;
  if (at != channels_.end()) {
    for (Subscriber* s : at->second) s->deliver({}, m);
    receivers += at->second.size();
  }
  // As Redis: every pattern is tried, so the cost grows with the patterns.
  for (const auto& [pattern, subs] : patterns_) {
    if (!resp::glob_match(pattern, channel)) continue;
    for (Subscriber* s : subs) s->deliver(pattern, m);
    receivers += subs.size();
  }
  return receivers;
}

std::vector<std::string> PubSub::channels(
    std::optional<std::string_view> pattern) const {
  std::lock_guard lock(mu_);
  std::vector<std::string> out;
  for (const auto& [name, subs] : channels_) {
    if (!pattern || resp::glob_match(*pattern, name)) out.push_back(name);
  }
  std::sort(out.begin(), out.end());
  return out;
}

size_t PubSub::numsub(std::string_view channel) const {
  std::lock_guard lock(mu_);
  auto at = channels_.find(std::string(channel));
  return at == channels_.end() ? 0 : at->second.size();
}

size_t PubSub::numpat() const {
  std::lock_guard lock(mu_);
  return patterns_.size();
}

size_t PubSub::subscribers() const {
  std::lock_guard lock(mu_);
  return held_.size();
}

uint64_t PubSub::published() const {
  std::lock_guard lock(mu_);
  return published_;
}

}  // namespace cmud::server
