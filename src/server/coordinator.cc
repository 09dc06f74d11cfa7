#include "coordinator.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <iterator>

#include "cmud/actor/system.h"
#include "cmud/common/hash.h"
#include "cmud/durable/recovery.h"
#include "cmud/kv/version.h"
#include "replicas.h"

namespace cmud::server {
namespace {

// Unanswered joins are asked again this often (the peer may not be up yet).
constexpr std::chrono::milliseconds kJoinRetry{1000};
// Every known server hears our member list this often.
constexpr std::chrono::milliseconds kGossipInterval{1000};
// Control messages to one query actor in any second (to_actors): under
// the cluster's 10 per pair, with room for the timing of the window.
constexpr size_t kControlPerSecond = 8;

}  // namespace

Coordinator::Coordinator(actor::Context& ctx, ServerDesc self,
                         std::vector<ActorRef> queries,
                         std::vector<std::string> join,
                         std::vector<Forgotten> forgotten,
                         std::chrono::milliseconds repair_interval,
                         std::chrono::milliseconds member_timeout,
                         bool want_state, std::string data_dir,
                         uint64_t snapshot_bytes,
                         std::chrono::milliseconds gc_grace)
    : ctx_(ctx),
      self_(std::move(self)),
      queries_(std::move(queries)),
      join_(std::move(join)),
      repair_interval_(repair_interval),
      member_timeout_(member_timeout),
      gc_grace_(gc_grace),
      want_state_(want_state),
      data_dir_(std::move(data_dir)) {
  state_.last_save_s = ctx.wall_ms() / 1000;
  state_.snapshot_bytes = snapshot_bytes;
  claims_.assign(queries_.size(), {0, 0});
  outbox_.resize(queries_.size());
  for (auto& f : forgotten) {
    // --forget is the latest word on its address: no forget gossiped from
    // before this start undoes it.
    if (f.incarnation == 0) f.at_ms = ctx.wall_ms();
    if (f.address != self_.address) forgotten_[f.address] = std::move(f);
  }
}

void Coordinator::heard(const std::string& address) {
  heard_ms_[address] = ctx_.monotonic_ms();
  if (down_.erase(address) > 0) {
    ctx_.log().info("server {} answers again", address);
    to_actors(ServerState{address, true});
  }
}

bool Coordinator::admitted(const ServerDesc& d, bool first_hand) {
  auto it = forgotten_.find(d.address);
  if (it == forgotten_.end()) return true;
  Forgotten& f = it->second;
  if (f.incarnation == 0) {
    // --forget: the start the cluster knows now is the one forgotten.
    f.incarnation = d.incarnation;
    f.at_ms = ctx_.wall_ms();
    ctx_.log().info("forgot server {} (incarnation {}), as --forget asked",
                    d.address, d.incarnation);
    save_members();
    return false;
  }
  // A description of the forgotten start, or one older than it that
  // someone still gossips, is not learned again. A new start is, from
  // itself (even with a lower number: its data directory may be new) or
  // from anyone when its number is higher.
  if (d.incarnation == f.incarnation ||
      (!first_hand && d.incarnation < f.incarnation)) {
    return false;
  }
  if (!known_.contains(d.address)) {
    ctx_.log().info(
        "server {} is back as a new start (incarnation {}; {} "
        "was forgotten)",
        d.address, d.incarnation, f.incarnation);
  }
  return true;
}

void Coordinator::merge_forgotten(const std::vector<Forgotten>& list) {
  bool changed = false;
  for (const auto& f : list) {
    if (f.incarnation == 0) continue;
    if (f.address == self_.address) {
      if (f.incarnation == self_.incarnation && !self_forgotten_) {
        self_forgotten_ = true;
        ctx_.log().error(
            "the cluster forgot this server (CLUSTER FORGET while it did not "
            "answer): nobody syncs with it any more; restart it to join "
            "again");
      }
      continue;
    }
    auto [it, fresh] = forgotten_.try_emplace(f.address, f);
    Forgotten& mine = it->second;
    if (!fresh &&
        (mine.at_ms > f.at_ms ||
         (mine.at_ms == f.at_ms && mine.incarnation >= f.incarnation))) {
      continue;
    }
    mine = f;
    changed = true;
    auto k = known_.find(f.address);
    if (k != known_.end() && k->second.incarnation == f.incarnation) {
      ctx_.log().info(
          "server {} (incarnation {}) was forgotten by another "
          "member; forgetting it too",
          f.address, f.incarnation);
      remove_server(f.address);
    }
  }
  if (changed) save_members();
}

// A forgotten start that still runs (it was cut off, not dead) hears why
// nobody answers it: only the record of its own forget, nothing else.
void Coordinator::tell_forgotten(const ServerDesc& d) {
  auto it = forgotten_.find(d.address);
  if (it == forgotten_.end() || it->second.incarnation != d.incarnation) {
    return;
  }
  Gossip g;
  g.from = self_;
  g.forgotten.push_back(it->second);
  ctx_.tell(ActorRef(d.address, kCoordinatorId), std::move(g));
}

void Coordinator::on_forget(const ForgetServer& f) {
  auto it = known_.find(f.address);
  if (it == known_.end()) return;
  if (!down_.contains(f.address)) {
    ctx_.log().warn("not forgetting server {}: it answers again", f.address);
    return;
  }
  uint64_t incarnation = it->second.incarnation;
  forgotten_[f.address] = Forgotten{f.address, incarnation, ctx_.wall_ms()};
  ctx_.log().warn(
      "forgot server {} (incarnation {}); only a new start of it can join "
      "again",
      f.address, incarnation);
  remove_server(f.address);
}

void Coordinator::remove_server(const std::string& address) {
  if (auto it = known_.find(address); it != known_.end()) retire(it->second);
  known_.erase(address);
  heard_ms_.erase(address);
  down_.erase(address);
  pending_.erase(address);
  warned_.erase(address);
  member_claims_.erase(address);
  to_actors(RemoveServer{address});
  save_members();
}

std::vector<Forgotten> Coordinator::forgotten_list() const {
  std::vector<Forgotten> out;
  for (const auto& [addr, f] : forgotten_) {
    if (f.incarnation != 0) out.push_back(f);
  }
  return out;
}

void Coordinator::publish_members() {
  Members m;
  int64_t now = ctx_.monotonic_ms();
  for (const auto& [addr, d] : known_) {
    auto h = heard_ms_.find(addr);
    m.members.push_back(MemberView{
        addr, d.query, d.incarnation, !down_.contains(addr),
        h == heard_ms_.end()
            ? 0
            : static_cast<uint64_t>(std::max<int64_t>(0, now - h->second)),
        d.actors});
  }
  for (const auto& [addr, f] : forgotten_) m.forgotten.push_back(f);
  m.self_forgotten = self_forgotten_;
  m.horizon_hlc = horizon_;
  m.sources = sources_;
  m.sources_digest = sources_digest_;
  m.ended_starts = retired_.size();
  m.ended_dropped = ended_dropped_;
  to_actors(m);
}

void Coordinator::on_start() {
  started_ms_ = ctx_.monotonic_ms();
  refresh_sources();
  publish_members();
  ctx_.tell_after(ctx_.self(), GossipTick{}, kGossipInterval);
  if (repair_interval_.count() > 0) {
    ctx_.tell_after(ctx_.self(), RepairTick{}, repair_interval_);
  }
  for (auto& address : join_) {
    if (address != self_.address) request_join(address, want_state_);
  }
}

Status Coordinator::on_message(actor::Message& msg) {
  return actor::match(
      msg, [&](StartCoordinator&) { on_start(); },
      [&](JoinRequest& r) { on_join_request(r); },
      [&](JoinReply& r) { on_join_reply(r); }, [&](JoinTick&) { on_tick(); },
      [&](RepairTick&) { on_repair_tick(); }, [&](Gossip& g) { on_gossip(g); },
      [&](GossipTick&) { on_gossip_tick(); },
      [&](ForgetServer& f) { on_forget(f); }, [&](Claim& c) { on_claim(c); },
      [&](StartSnapshot& s) { on_start_snapshot(s); },
      [&](LogRotated& r) { on_log_rotated(r); },
      [&](SnapshotWritten&) { on_snapshot_written(); },
      [&](ControlFlush&) {
        flush_pending_ = false;
        flush_control();
      });
}

void Coordinator::flush_control() {
  const int64_t now = ctx_.monotonic_ms();
  int64_t wake = -1;
  for (Outbox& o : outbox_) {
    // The runtime counts a pair's messages over 1001 ms (both ends).
    while (!o.sent_ms.empty() && now - o.sent_ms.front() > 1000) {
      o.sent_ms.pop_front();
    }
    while (!o.queued.empty() && o.sent_ms.size() < kControlPerSecond) {
      auto send = std::move(o.queued.front());
      o.queued.pop_front();
      send();
      o.sent_ms.push_back(now);
    }
    if (!o.queued.empty()) {
      int64_t at = o.sent_ms.front() + 1001;
      wake = wake < 0 ? at : std::min(wake, at);
    }
  }
  if (wake >= 0 && !flush_pending_) {
    flush_pending_ = true;
    ctx_.tell_after(
        ctx_.self(), ControlFlush{},
        std::chrono::milliseconds(std::max<int64_t>(1, wake - now)));
  }
}

void Coordinator::on_gossip_tick() {
  int64_t now = ctx_.monotonic_ms();
  for (const auto& [addr, d] : known_) {
    auto [it, fresh] = heard_ms_.try_emplace(addr, now);
    if (!down_.contains(addr) && now - it->second > member_timeout_.count()) {
      down_.insert(addr);
      ctx_.log().warn("server {} is down (no word for {} ms)", addr,
                      now - it->second);
      to_actors(ServerState{addr, false});
    }
  }
  const std::vector<Forgotten> forgotten = forgotten_list();
  refresh_sources();
  update_horizon();
  std::vector<ServerDesc> retired;
  std::vector<uint64_t> retired_age;
  for (const auto& [key, r] : retired_) {
    retired.push_back(r.first);
    retired_age.push_back(static_cast<uint64_t>(now - r.second));
  }
  for (const auto& [addr, d] : known_) {
    Gossip g;
    g.from = self_;
    g.complete_hlc = own_claim();
    g.sources_digest = sources_digest_;
    for (const auto& [other, od] : known_) {
      if (other != addr) g.known.push_back(od);
    }
    g.forgotten = forgotten;
    g.retired = retired;
    g.retired_age_ms = retired_age;
    ctx_.tell(ActorRef(addr, kCoordinatorId), std::move(g));
  }
  publish_members();  // the time since each was heard from
  ctx_.tell_after(ctx_.self(), GossipTick{}, kGossipInterval);
}

// A member we did not know (say, we restarted without --join, or it joined
// through another member) is added: sync starts both ways, and repair
// brings each side what the other missed.
void Coordinator::on_gossip(Gossip& g) {
  if (g.from.address == self_.address) return;
  merge_forgotten(g.forgotten);
  if (!admitted(g.from, /*first_hand=*/true)) {
    tell_forgotten(g.from);
    return;
  }
  heard(g.from.address);
  pending_.erase(g.from.address);
  if (add_server(g.from, false, /*first_hand=*/true)) {
    ctx_.log().info("server {} found by gossip", g.from.address);
  }
  member_claims_[g.from.address] =
      MemberClaim{g.from.incarnation, g.complete_hlc, g.sources_digest};
  for (size_t i = 0; i < g.retired.size() && i < g.retired_age_ms.size(); ++i) {
    const ServerDesc& d = g.retired[i];
    auto k = known_.find(d.address);
    bool current =
        (k != known_.end() && k->second.incarnation == d.incarnation) ||
        (d.address == self_.address && d.incarnation == self_.incarnation);
    // (One we know as current: its next start comes by gossip too.)
    if (!current) {
      retire(d, static_cast<int64_t>(
                    std::min<uint64_t>(g.retired_age_ms[i], INT64_MAX / 2)));
    }
  }
  for (const auto& d : g.known) {
    if (d.address == self_.address || !admitted(d, /*first_hand=*/false)) {
      continue;
    }
    if (add_server(d, false, /*first_hand=*/false)) {
      ctx_.log().info("server {} found by gossip", d.address);
    }
  }
}

void Coordinator::on_claim(const Claim& c) {
  if (c.index < claims_.size()) {
    claims_[c.index] = {c.complete_hlc, c.sources_digest};
  }
}

uint64_t Coordinator::own_claim() const {
  if (claims_.empty()) return 0;
  uint64_t least = UINT64_MAX;
  for (auto [hlc, digest] : claims_) {
    // Made over other sources than ours now: it covers less, or more.
    least = std::min(least, digest == sources_digest_ ? hlc : 0);
  }
  return least;
}

void Coordinator::update_horizon() {
  // Members marked down hold it back too (what they hold is not known),
  // for the grace period.
  uint64_t h = own_claim();
  // Told to join a cluster and knowing none of it yet: the others hold
  // writes we never saw (our claims cover only our own actors' writes).
  if (!join_.empty() && known_.empty()) h = 0;
  // Told of none, and never heard of one since this start: we may be a
  // restarted member whose peers are cut off from us, not a cluster of
  // one. Their writes, which we never saw, would lie below a horizon over
  // our own actors alone, as if tombstones we freed had passed them (and
  // key lists would tell them to drop them). So a lone start waits the
  // grace period, as for a member that is down.
  if (known_.empty() && !knew_member_ &&
      ctx_.monotonic_ms() - started_ms_ < gc_grace_.count()) {
    h = 0;
  }
  for (const auto& [addr, d] : known_) {
    if (excluded(addr)) continue;
    auto it = member_claims_.find(addr);
    if (it == member_claims_.end() || it->second.incarnation != d.incarnation ||
        it->second.sources_digest != sources_digest_) {
      h = 0;
      break;
    }
    h = std::min(h, it->second.hlc);
  }
  horizon_ = std::max(horizon_, h);
}

bool Coordinator::excluded(const std::string& address) const {
  if (!down_.contains(address)) return false;
  auto h = heard_ms_.find(address);
  return h != heard_ms_.end() &&
         ctx_.monotonic_ms() - h->second > gc_grace_.count();
}

void Coordinator::retire(const ServerDesc& d, int64_t age_ms) {
  if (age_ms >= gc_grace_.count()) return;
  const int64_t ended = ctx_.monotonic_ms() - age_ms;
  if (retired_.size() >= kMaxEndedStarts &&
      !retired_.contains({d.address, d.incarnation}) &&
      std::all_of(retired_.begin(), retired_.end(),
                  [&](const auto& r) { return r.second.second >= ended; })) {
    return;  // would be the first to go (refresh_sources): gossip from
             // a member that kept it must not bring it back each round
  }
  auto [it, fresh] = retired_.try_emplace({d.address, d.incarnation}, d, ended);
  // Heard again with an older start time: the earlier one stands.
  if (!fresh) {
    it->second.second =
        std::min(it->second.second, ctx_.monotonic_ms() - age_ms);
  }
}

void Coordinator::refresh_sources() {
  int64_t now = ctx_.monotonic_ms();
  std::erase_if(retired_, [&](const auto& r) {
    return now - r.second.second >= gc_grace_.count();
  });
  if (retired_.size() > kMaxEndedStarts) {
    const size_t excess = retired_.size() - kMaxEndedStarts;
    std::vector<std::pair<int64_t, decltype(retired_)::key_type>> by_end;
    for (const auto& [key, r] : retired_) by_end.emplace_back(r.second, key);
    std::nth_element(by_end.begin(), by_end.begin() + (excess - 1),
                     by_end.end());
    for (size_t i = 0; i < excess; ++i) retired_.erase(by_end[i].second);
    ended_dropped_ += excess;
    ctx_.log().warn(
        "{} more starts ended within the grace period than the {} kept; "
        "the earliest ended no longer hold the horizon back ({} so far)",
        excess, kMaxEndedStarts, ended_dropped_);
  }
  sources_.clear();
  auto add = [&](const ServerDesc& d) {
    for (uint64_t id : d.actors) {
      sources_.push_back(
          kv::origin_of(ActorRef(d.address, id).uid(), d.incarnation));
    }
  };
  add(self_);
  for (const auto& [addr, d] : known_) {
    if (!excluded(addr)) add(d);
  }
  for (const auto& [key, r] : retired_) add(r.first);
  std::sort(sources_.begin(), sources_.end());
  sources_.erase(std::unique(sources_.begin(), sources_.end()), sources_.end());
  sources_digest_ =
      fnv1a_64(std::string_view(reinterpret_cast<const char*>(sources_.data()),
                                sources_.size() * sizeof(uint64_t)));
}

void Coordinator::on_repair_tick() {
  // Sent alone too: the tick also frees expired values (the actors open
  // repair rounds only while they know another server).
  to_actors(RepairTick{});
  ctx_.tell_after(ctx_.self(), RepairTick{}, repair_interval_);
}

void Coordinator::on_join_request(JoinRequest& r) {
  if (r.from.address == self_.address) return;
  // A forgotten start asks in vain.
  if (!admitted(r.from, /*first_hand=*/true)) {
    tell_forgotten(r.from);
    return;
  }
  heard(r.from.address);
  if (add_server(r.from, r.want_state, /*first_hand=*/true)) {
    ctx_.log().info("server {} joined", r.from.address);
  }
  JoinReply reply;
  reply.desc = self_;
  for (const auto& [addr, d] : known_) {
    if (addr != r.from.address) reply.known.push_back(d);
  }
  reply.forgotten = forgotten_list();
  ctx_.tell(ActorRef(r.from.address, kCoordinatorId), std::move(reply));
}

void Coordinator::on_join_reply(JoinReply& r) {
  pending_.erase(r.desc.address);
  merge_forgotten(r.forgotten);
  if (!admitted(r.desc, /*first_hand=*/true)) return;
  heard(r.desc.address);
  if (add_server(r.desc, false, /*first_hand=*/true)) {
    ctx_.log().info("joined server {}", r.desc.address);
  }
  // Servers it knows that we do not: join them too (they sync with us and
  // send us what they originated; the full state came from the first).
  for (const auto& d : r.known) {
    if (d.address != self_.address && !known_.contains(d.address) &&
        !pending_.contains(d.address) && admitted(d, /*first_hand=*/false)) {
      request_join(d.address, /*want_state=*/false);
    }
  }
}

bool Coordinator::add_server(const ServerDesc& d, bool full_state,
                             bool first_hand) {
  auto [it, fresh] = known_.try_emplace(d.address, d);
  knew_member_ = true;
  // Another start of a member: from itself, or (second hand) a newer one;
  // a stale description someone still gossips does not undo it.
  bool restarted = !fresh && it->second.incarnation != d.incarnation &&
                   (first_hand || d.incarnation > it->second.incarnation);
  if (restarted) {
    ctx_.log().info("server {} restarted (incarnation {} -> {})", d.address,
                    it->second.incarnation, d.incarnation);
    retire(it->second);
    it->second = d;
  }
  if (fresh || restarted || full_state) {
    to_actors(AddServer{d, full_state});
  }
  if (fresh || restarted) save_members();
  return fresh;
}

// Not synced: a member list lost to a crash costs only a --join next time
// (and forgets are gossiped by every member).
void Coordinator::save_members() {
  if (data_dir_.empty()) return;
  std::vector<std::string> members;
  for (const auto& [address, d] : known_) members.push_back(address);
  std::vector<Forgotten> forgotten;
  for (const auto& [address, f] : forgotten_) forgotten.push_back(f);
  const std::string text = format_members(members, forgotten);
  FileSystem& fs = ctx_.system().files();
  const std::string path = data_dir_ + "/" + std::string(kMembersFile);
  const std::string aside = path + ".tmp";
  (void)fs.remove(aside);
  Status s;
  if (auto f = fs.open_append(aside); f.ok()) {
    s = (*f)->append(text);
  } else {
    s = f.status();
  }
  if (s.ok()) s = fs.rename(aside, path);
  if (!s.ok()) {
    ctx_.log().warn("cannot keep the member list in {}: {}", data_dir_,
                    s.message());
  }
}

void Coordinator::request_join(const std::string& address, bool want_state) {
  pending_[address] = want_state;
  ctx_.tell(ActorRef(address, kCoordinatorId), JoinRequest{self_, want_state});
  schedule_tick();
}

void Coordinator::on_tick() {
  tick_pending_ = false;
  for (const auto& [address, want_state] : pending_) {
    if (warned_.insert(address).second) {
      ctx_.log().warn("no answer yet from server {}; asking again every {} ms",
                      address, kJoinRetry.count());
    }
    ctx_.tell(ActorRef(address, kCoordinatorId),
              JoinRequest{self_, want_state});
  }
  if (!pending_.empty()) schedule_tick();
}

void Coordinator::schedule_tick() {
  if (tick_pending_) return;
  tick_pending_ = true;
  ctx_.tell_after(ctx_.self(), JoinTick{}, kJoinRetry);
}

// What the background job reads and returns; the coordinator touches it
// only before the job starts and after SnapshotWritten.
struct Coordinator::SnapshotJob {
  std::vector<std::string> logs;
  Status status;
  uint64_t bytes = 0;
  uint64_t keys = 0;
};

void Coordinator::on_start_snapshot(const StartSnapshot& s) {
  if (data_dir_.empty()) return;
  if (saving_) {
    again_ |= s.again;
    return;
  }
  begin_snapshot();
}

void Coordinator::begin_snapshot() {
  saving_ = true;
  rotations_ = queries_.size();
  to_actors(RotateLog{ctx_.self()});
}

void Coordinator::on_log_rotated(LogRotated& r) {
  if (!saving_ || rotations_ == 0) return;
  sealed_.insert(sealed_.end(), std::make_move_iterator(r.sealed.begin()),
                 std::make_move_iterator(r.sealed.end()));
  if (--rotations_ > 0) return;
  job_ = std::make_shared<SnapshotJob>();
  job_->logs = sealed_;
  // Off the workers: the job reads the last snapshot and the sealed
  // segments and writes the next snapshot; queries go on meanwhile.
  FileSystem& fs = ctx_.system().files();
  ctx_.run_background(
      [job = job_, &fs, dir = data_dir_] {
        auto r = durable::recover(fs, dir, /*repair=*/false, &job->logs);
        if (!r.ok()) {
          job->status = r.status();
          return;
        }
        job->status = durable::compact(fs, dir, **r, /*always=*/true);
        job->bytes = (*r)->snapshot_bytes;
        job->keys = (*r)->store.live_size();
      },
      SnapshotWritten{});
}

void Coordinator::on_snapshot_written() {
  if (!job_) return;
  ++state_.completed;
  state_.ok = job_->status.ok();
  if (state_.ok) {
    state_.error.clear();
    state_.last_save_s = ctx_.wall_ms() / 1000;
    state_.snapshot_bytes = job_->bytes;
    sealed_.clear();
    ctx_.log().info("snapshot written: {} keys, {} bytes", job_->keys,
                    job_->bytes);
  } else {
    state_.error = job_->status.message();
    ctx_.log().error("cannot write a snapshot in {}: {}", data_dir_,
                     state_.error);
  }
  job_.reset();
  saving_ = false;
  to_actors(state_);
  if (again_) {
    again_ = false;
    begin_snapshot();
  }
}

}  // namespace cmud::server
