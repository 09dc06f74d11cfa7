// Sync strategy.
//
// Every query actor holds a full replica (kv::Store) and answers queries from
// it at once. Writes are versioned by a hybrid logical clock plus the
// writer's uid and merged last-writer-wins, so replicas that saw the same
// writes agree whatever the order. Each applied write that must travel gets a
// record in the store's change log, tagged with where it must still go: a
// Put taken here goes to the other local actors and to other servers; a write
// that arrived from another server goes to the local actors only (it reached
// this server once and is spread here); a write from a local peer goes
// nowhere. Each destination keeps a cursor into the log, so a batch carries
// exactly what that receiver has not been sent, and a key written many times
// between two batches travels once (only its newest record counts). Each
// actor sends to every local peer and, for each other server, to one actor
// there (its own index modulo that server's size): one copy per remote
// server, which that actor spreads locally.
//
// Timing: a Put on an idle actor is flushed at once (visible elsewhere within
// milliseconds); every flush schedules a timer `spacing` (102 ms) later,
// which flushes again if more work arrived and otherwise lets the actor go
// idle. So flushes, and therefore messages per ordered pair, timer included,
// are at least 102 ms apart: never more than 10 in any second, and a write
// waits at most one spacing under sustained load. A peer that lags the log
// by more than max_log_bytes is moved to its end (drop_laggards) and gets
// the rest by repair. When a server joins, each
// actor streams it, in bounded chunks inside the same batches, every entry it
// originated, plus (when the newcomer asked for state) its hash share of the
// whole store; writes after that point travel through the log as usual.
//
// Repair: delivery is at most once, so a batch lost to a reset connection,
// a partition or a crash is never sent again. Anti-entropy (repair.h) finds
// what is missing: every repair interval (1 s) the coordinator tells each
// actor to open a round with each other server and each local peer (backing
// off to every 8 s while rounds find nothing), a digest of its share of
// the key space; the peer answers only where digests differ, descending to
// the keys that differ, and both push the entries the other lacks or holds
// older. The records and entries ride in the same batches (never an extra
// message, so the 102 ms spacing still bounds every pair), and a repaired
// entry goes through kv::admit like any other.
//
// Tombstones: matching digests also teach each actor what its replica is
// known to hold (repair::Knowledge), and so do the sync streams: batches
// are numbered per link and carry claims (SyncBatch::claims, add_claims,
// learn_claims), so bounds move while writes never pause; a receiver that
// lost a batch asks its sender to bridge the hole (ask_bridges). Each actor
// claims it to the coordinator, whose horizon (the least claim of every
// member) comes back with Members.
// Tombstones below it are freed a bounded step per turn (kv::Store::
// collect), writes below it that a replica lacks are refused as stale, and
// key lists carry it, so a peer drops what the others freed
// (docs/ARCHITECTURE.md, tombstone collection).
#include "query_actor.h"

#include <spdlog/spdlog.h>
#include <algorithm>
#include <array>
#include <functional>
#include <limits>

#include "cmud/actor/system.h"
#include "cmud/common/ascii.h"
#include "cmud/kv/counter.h"
#include "cmud/resp/resp.h"
#include "coordinator.h"
#include "query_wire.h"
#include "repair.h"

namespace cmud::server {

using actor::Message;

namespace {

size_t entry_bytes(const kv::Entry& e) {
  return e.key().size() + e.value().size() + 24;
}

void append(SyncBatch& b, const kv::Entry& e) {
  kv::append_entry(b.entries, e);
  ++b.count;
}

}  // namespace

QueryActor::QueryActor(actor::Context& ctx, size_t index, SyncOptions options,
                       std::string server, const std::vector<ActorRef>& local,
                       std::shared_ptr<const durable::Recovered> recovered,
                       std::unique_ptr<kv::Store> replica)
    : ctx_(ctx),
      index_(index),
      options_(options),
      origin_(kv::origin_of(ctx.self().uid(), options.incarnation)),
      server_(std::move(server)),
      clock_([&ctx] { return ctx.wall_ms(); }),
      local_count_(local.size()),
      started_ms_(ctx.monotonic_ms()) {
  // RANDOMKEY's draws: different per actor and start, and replayable on
  // the simulator (incarnations come from its seed there).
  random_.seed(options_.incarnation * 0x9e3779b97f4a7c15ull + index_);
  known_ = repair::Knowledge(origin_);
  for (const auto& ref : local) {
    if (ref == ctx_.self()) continue;
    local_.push_back(Dest{ref, false, 0, std::nullopt});
    // Our log holds every write of ours since this start: our first claim
    // to a local peer starts at 0.
    local_.back().mark = Dest::Mark{0, 0};
  }
  if (recovered) {
    // Not logged again (the files hold it) and not sent anywhere: repair
    // compares it with the other servers once the cluster answers.
    if (replica) {
      store_.swap(*replica);
    } else {
      store_.copy_from(recovered->store);
    }
    // The clock starts above everything written before, even if the wall
    // clock went back meanwhile.
    clock_.observe(recovered->max_hlc);
    if (options_.acl) {
      (void)store_.walk(kv::kSystemPrefix, false, [&](const kv::Entry& e) {
        if (!kv::is_system_key(e.key())) return false;
        options_.acl->apply(e.key(), e.value(), e.version(), e.deleted());
        return true;
      });
    }
  }
  if (!options_.data_dir.empty()) {
    log_ = std::make_unique<durable::Log>(
        ctx.system().files(), options_.data_dir,
        "log-" + std::to_string(options_.incarnation) + "-" +
            std::to_string(index_));
    last_sync_ms_ = ctx.monotonic_ms();
    // The start wrote the snapshot LASTSAVE reports first.
    snapshot_.last_save_s = ctx.wall_ms() / 1000;
    if (recovered) snapshot_.snapshot_bytes = recovered->snapshot_bytes;
  }
}

void QueryActor::on_rotate_log(const RotateLog& r) {
  // A snapshot starts: what this actor logged so far is sealed for it,
  // including writes waiting for the end of this pass.
  snapshot_running_ = true;
  grown_asked_ = false;
  LogRotated out;
  if (log_) {
    commit();
    if (Status s = log_->sync(); !s.ok()) log_failed(s);
    out.sealed = log_->rotate();
  }
  ctx_.reply(r, std::move(out));
}

void QueryActor::on_snapshot_state(SnapshotState& s) {
  snapshot_ = std::move(s);
  snapshot_running_ = false;
  std::erase_if(save_waiters_, [&](SaveWaiter& w) {
    if (w.want > snapshot_.completed) return false;
    send(w.reply, snapshot_.ok ? std::string()
                               : "ERR the snapshot failed: " + snapshot_.error);
    return true;
  });
}

Status QueryActor::on_message(Message& msg) {
  return actor::match(
      msg, [&](QueryRequest& q) { return on_query(q); },
      [&](SyncBatch& b) { return on_sync(b); }, [&](SyncTick&) { on_tick(); },
      [&](AddServer& a) { on_add_server(a); },
      [&](RepairTick&) {
        on_repair_tick();
        claim();
      },
      [&](ServerState& st) { on_server_state(st); },
      [&](RemoveServer& r) { on_remove_server(r); },
      [&](Members& m) { on_members(std::move(m)); },
      [&](ReadReplica& r) { on_read_replica(r); },
      [&](RotateLog& r) { on_rotate_log(r); },
      [&](SnapshotState& s) { on_snapshot_state(s); },
      [&](LogSynced&) { on_log_synced(); });
}

void QueryActor::on_read_replica(const ReadReplica& r) {
  ReplicaEntries out;
  out.floor_hlc = store_.floor().hlc;
  out.floor_origin = store_.floor().origin;
  out.complete_hlc = complete_below();
  out.horizon_hlc = members_.horizon_hlc;
  out.collected = store_.collected();
  auto add = [&](const kv::Entry& e) {
    kv::append_entry(out.entries, e);
    ++out.count;
    return true;
  };
  if (r.all) {
    (void)store_.walk("", /*after=*/false, add);
  } else {
    for (const auto& k : r.keys) {
      if (const kv::Entry* e = store_.find(k)) add(*e);
    }
  }
  if (log_) {
    replies_.push_back({r.reply_to, std::move(out), false});  // as reads
  } else {
    ctx_.reply(r, std::move(out));
  }
}

namespace {

// The key an op looks up, to warm ahead; empty when it has none or many.
std::string_view point_key(const OpView& op) {
  switch (op.kind()) {
    case OpKind::kGet:
    case OpKind::kSet:
    case OpKind::kIncr:
    case OpKind::kIncrFloat:
    case OpKind::kSetWith:
    case OpKind::kExpire:
    case OpKind::kTtl:
    case OpKind::kEdit:
      return op.key();
    case OpKind::kMGet:
    case OpKind::kDel:
    case OpKind::kExists:
      return op.keys().size() == 1 ? op.keys()[0] : std::string_view();
    default:
      return {};
  }
}

}  // namespace

Status QueryActor::on_query(QueryRequest& q) {
  QueryReply reply;
  reply.results.reserve(q.ops.size() + 64);
  codec::Reader in(q.ops);
  // Decoded first, so that the store can warm the keys of a pipeline ahead
  // and a malformed request changes nothing. Every op takes at least one
  // byte, which bounds a corrupt count before anything is allocated for it.
  bool sane = q.count <= q.ops.size();
  if (sane && ops_.size() < q.count) ops_.resize(q.count);
  for (uint32_t i = 0; i < q.count; ++i) {
    if (!sane || !read_op(in, ops_[i])) {
      // Answer anyway, so the front end is not left waiting.
      ctx_.reply(q, QueryReply());
      return Status(ErrorCode::kDecode, "malformed query request");
    }
  }
  if (log_ && !disk_error_.empty() &&
      std::any_of(ops_.begin(), ops_.begin() + q.count, [](const OpView& op) {
        return op.kind() == OpKind::kSet || op.kind() == OpKind::kDel ||
               op.kind() == OpKind::kFlush || op.kind() == OpKind::kIncr ||
               op.kind() == OpKind::kIncrFloat ||
               op.kind() == OpKind::kSetWith || op.kind() == OpKind::kExpire ||
               op.kind() == OpKind::kEdit || op.kind() == OpKind::kMSet;
      })) {
    // The log failed: refuse writes (reads go on) until a retry, at most
    // once a second, finds the disk working again.
    if (ctx_.monotonic_ms() < disk_failed_ms_ + 1000) {
      reply.error =
          "MISCONF Errors writing to the append-only log: " + disk_error_ +
          ". Writes are refused until the disk works again; "
          "reads still work.";
      replies_.push_back({q.reply_to, std::move(reply), false});
      return {};
    }
    disk_failed_ms_ = ctx_.monotonic_ms();  // this request is the retry
  }
  ResultWriter out(reply);
  request_ms_.reset();
  // Expiries are read against this request's time.
  store_.set_now(request_ms());
  save_want_.reset();
  // Each op's time, for the front end's statistics (INFO commandstats,
  // SLOWLOG): one clock read per op, each op ending where the next begins.
  // A measurement only; nothing the store does depends on it.
  auto last = std::chrono::steady_clock::now();
  store_.for_each_warmed(
      q.count, [&](size_t i) { return point_key(ops_[i]); },
      [&](size_t i) {
        run(ops_[i], out);
        auto now = std::chrono::steady_clock::now();
        out.took(static_cast<uint64_t>(
            std::chrono::duration_cast<std::chrono::nanoseconds>(now - last)
                .count()));
        last = now;
      });
  skipping_ = false;  // a check never reaches past its request
  bool wrote = wrote_;
  // One flush for the whole request: a pipeline of Puts travels together.
  if (wrote_ || published_) {
    wrote_ = false;
    published_ = false;
    work_added();
  }
  if (save_want_) {
    // SAVE answers once a snapshot that began after it has ended.
    save_waiters_.push_back(
        {HeldReply{q.reply_to, std::move(reply), wrote}, *save_want_});
  } else if (log_) {
    // Held until the turn's record is in the log (commit), reads
    // too, so that no reply shows a write before it is durable.
    replies_.push_back({q.reply_to, std::move(reply), wrote});
  } else {
    ctx_.reply(q, std::move(reply));
  }
  return {};
}

bool QueryActor::apply(const kv::EntryView& e, uint8_t route) {
  if (!store_.apply(e, route)) return false;
  wrote_any_ |= (route & kv::kRouteRemote) != 0;
  if (options_.acl && kv::is_system_key(e.key)) {
    options_.acl->apply(e.key, e.value, e.version(), e.deleted);
  }
  // A write taken here, or one that came from another server: it entered
  // the server through this actor, so this actor's log keeps it (once per
  // server; local peers that receive it do not log it again). A counter
  // or an expiry is logged as merged here: the whole entry, idempotent at
  // replay.
  if (log_ && route != kv::kRouteNone) {
    const kv::Entry* merged =
        e.meta.empty() && !e.expiry ? nullptr : store_.find(e.key);
    if (merged != nullptr) {
      turn_.add(*merged);
    } else {
      turn_.add(e);
    }
  }
  return true;
}

void QueryActor::raise_floor(const kv::Version& v) {
  if (!store_.raise_floor(v)) return;
  // Logged by every actor that raises it (16 bytes, and idempotent): a
  // clear is rare, and then no actor's log can outlive it.
  floor_unlogged_ = log_ != nullptr;
  (void)store_.purge(options_.purge_step);
}

void QueryActor::on_turn_end() {
  if (!log_) return;
  if (turn_.empty() && !floor_unlogged_ && !commit_asked_) {
    commit();  // nothing waits for the disk: the replies go now
    return;
  }
  // Committed once the worker has run the rest of this pass (the other
  // sockets' requests): one write, and under `always` one fsync, for every
  // turn of it.
  if (!commit_asked_) {
    commit_asked_ = true;
    ctx_.call_at_pass_end();
  }
}

void QueryActor::on_pass_end() {
  commit_asked_ = false;
  commit();
}

void QueryActor::commit() {
  bool ok = (turn_.empty() && !floor_unlogged_) || commit_log();
  for (auto& r : replies_) {
    send(r, !ok && r.wrote ? "MISCONF Errors writing to the append-only log: " +
                                 disk_error_ +
                                 ". The write may be lost; writes are refused "
                                 "until the disk works again."
                           : std::string());
  }
  replies_.clear();
}

void QueryActor::send(HeldReply& r, std::string error) {
  if (!error.empty()) {
    QueryReply failed;
    failed.error = std::move(error);
    r.reply = std::move(failed);
  }
  std::visit([&](auto& reply) { ctx_.tell(r.to, std::move(reply)); }, r.reply);
}

bool QueryActor::commit_log() {
  Status s;
  if (floor_unlogged_) {
    // Rare (a clear): the floor's record and the turn's entries, one write.
    floor_unlogged_ = false;
    std::string records;
    durable::append_record(records, durable::floor_record(store_.floor()));
    if (!turn_.empty()) records += turn_.framed();
    s = log_->append(records);
  } else {
    s = log_->append(turn_.framed());
  }
  turn_.clear();
  if (s.ok() && options_.fsync == durable::Fsync::kAlways) {
    s = log_->sync();
    ++log_syncs_;
    last_sync_ms_ = ctx_.monotonic_ms();
  }
  if (!s.ok()) {
    log_failed(s);
    return false;
  }
  if (!disk_error_.empty()) {
    ctx_.log().info("the log is written again; writes are accepted");
    disk_error_.clear();
  }
  sync_log_if_due();
  uint64_t share =
      std::max(options_.log_rewrite_min_bytes, snapshot_.snapshot_bytes) /
      local_count_;
  if (!grown_asked_ && !snapshot_running_ &&
      log_->bytes_since_rotate() > share) {
    grown_asked_ = true;
    ctx_.tell(ActorRef(server_, kCoordinatorId), StartSnapshot{});
  }
  return true;
}

void QueryActor::sync_log_if_due() {
  if (!log_ || options_.fsync != durable::Fsync::kEverySec || sync_job_ ||
      !log_->unsynced() || ctx_.monotonic_ms() < last_sync_ms_ + 1000) {
    return;
  }
  last_sync_ms_ = ctx_.monotonic_ms();
  ++log_syncs_;
  // Off the worker, as Redis hands its everysec fsync to a thread: the
  // disk's wait (milliseconds, or far more on a busy disk) would stall
  // every client of this worker. Writes go on meanwhile; one that comes
  // after a failed sync is refused as usual (log_failed).
  sync_job_ = std::make_shared<durable::Log::SyncJob>(log_->begin_sync());
  ctx_.run_background(
      [job = sync_job_, &fs = ctx_.system().files()] {
        durable::Log::run_sync(fs, *job);
      },
      LogSynced{}, actor::Lane::kSync);
}

void QueryActor::on_log_synced() {
  if (!sync_job_) return;
  Status s = log_->end_sync(*sync_job_);
  sync_job_.reset();
  if (!s.ok()) log_failed(s);
}

void QueryActor::log_failed(const Status& s) {
  ++log_errors_;
  if (disk_error_.empty()) {
    ctx_.log().error(
        "cannot write the log in {}: {}; writes are refused until it works "
        "again",
        options_.data_dir, s.message());
  }
  disk_error_ = s.message();
  disk_failed_ms_ = ctx_.monotonic_ms();
}

void QueryActor::put(std::string_view key, std::string_view value, bool deleted,
                     uint64_t expire_at) {
  // One wall-clock read per request: versions within it differ by the
  // clock's logical part.
  kv::Version v{clock_.next(request_ms()), origin_};
  std::optional<kv::Expiry> expiry;
  if (expire_at != 0) expiry = kv::Expiry{expire_at, v};
  bool created = false;
  if (!deleted && options_.pubsub != nullptr &&
      options_.pubsub->notifies(kNotifyNew)) [[unlikely]] {
    const kv::Entry* e = store_.find(key);
    created = e == nullptr || !store_.live(*e);
  }
  (void)apply({key, value, v.hlc, v.origin, deleted, {}, expiry},
              kv::kRouteLocal | kv::kRouteRemote);
  wrote_ = true;
  if (created) notify(kNotifyNew, "new", key);
}

namespace {

// A relative or absolute expiry time (kSetExpireIn, kSetExpireAt) as
// milliseconds since the epoch; 0 when the op carries none.
uint64_t expiry_of(const OpView& op, uint64_t now_ms) {
  if ((op.flags() & OpView::kSetExpireAt) != 0) return op.when();
  if ((op.flags() & OpView::kSetExpireIn) != 0) {
    // The front end refused values that would leave the clock's range.
    return now_ms + std::min<uint64_t>(op.when(), kv::kMaxWallMs);
  }
  return 0;
}

}  // namespace

void QueryActor::set_with(const OpView& op, ResultWriter& out) {
  uint8_t f = op.flags();
  const kv::Entry* e = store_.find(op.key());
  bool exists = e != nullptr && store_.live(*e);
  std::optional<std::string> old;
  if (exists && (f & OpView::kSetGet) != 0) old = std::string(e->value());
  bool ok = !((f & OpView::kSetNx) != 0 && exists) &&
            !((f & OpView::kSetXx) != 0 && !exists);
  if (ok) {
    uint64_t at = expiry_of(op, request_ms());
    if ((f & OpView::kSetKeepTtl) != 0 && exists) at = e->expiry().at_ms;
    // An expiry already past still writes: the key is then gone
    // everywhere, and an older value cannot come back.
    put(op.key(), op.value(), false, at == 0 ? 0 : std::max<uint64_t>(at, 1));
    notify(kNotifyString, "set", op.key());
    if (at != 0) notify(kNotifyGeneric, "expire", op.key());
  }
  if ((f & OpView::kSetGet) != 0) {
    out.value(old);
  } else if (ok) {
    out.ok();
  } else {
    out.value(std::nullopt);
  }
}

void QueryActor::edit(const OpView& op, ResultWriter& out) {
  const kv::Entry* e = store_.find(op.key());
  bool exists = e != nullptr && store_.live(*e);
  // Copies: a write may move the entry.
  std::string value = exists ? std::string(e->value()) : std::string();
  uint64_t expire_at = exists ? e->expiry().at_ms : 0;
  auto live_at = [&](std::string_view key) {
    const kv::Entry* d = store_.find(key);
    return d != nullptr && store_.live(*d);
  };
  switch (op.flags()) {
    case OpView::kEditAppend:
      if (value.size() + op.arg().size() > op.number()) {
        out.error(
            "ERR string exceeds maximum allowed size (proto-max-bulk-len)");
        return;
      }
      value += op.arg();
      // As Redis: the key keeps its TTL.
      put(op.key(), value, false, expire_at);
      notify(kNotifyString, "append", op.key());
      out.integer(static_cast<int64_t>(value.size()));
      return;
    case OpView::kEditSetRange: {
      if (op.arg().empty()) {  // as Redis: nothing written, not even a key
        out.integer(static_cast<int64_t>(value.size()));
        return;
      }
      size_t at = static_cast<size_t>(op.number());  // checked by the front
      if (value.size() < at + op.arg().size()) {
        value.resize(at + op.arg().size(), '\0');
      }
      value.replace(at, op.arg().size(), op.arg());
      put(op.key(), value, false, expire_at);
      notify(kNotifyString, "setrange", op.key());
      out.integer(static_cast<int64_t>(value.size()));
      return;
    }
    case OpView::kEditSetBit: {
      // Bit 0 is the most significant of byte 0 (Redis's order); the value
      // grows with zeros to reach it (the front checked the size).
      size_t byte = static_cast<size_t>(op.number() >> 3);
      int shift = 7 - static_cast<int>(op.number() & 7);
      if (value.size() <= byte) value.resize(byte + 1, '\0');
      auto old = static_cast<unsigned char>(value[byte]);
      int was = (old >> shift) & 1;
      unsigned char bit = static_cast<unsigned char>(1u << shift);
      value[byte] = static_cast<char>(op.arg() == "1" ? old | bit : old & ~bit);
      put(op.key(), value, false, expire_at);
      notify(kNotifyString, "setbit", op.key());
      out.integer(was);
      return;
    }
    case OpView::kEditGetDel:
      if (exists) {
        put(op.key(), "", true);
        notify(kNotifyGeneric, "del", op.key());
      }
      out.value(exists ? std::optional<std::string_view>(value) : std::nullopt);
      return;
    case OpView::kEditRename:
    case OpView::kEditRenameNx: {
      bool nx = op.flags() == OpView::kEditRenameNx;
      if (!exists) {
        out.error("ERR no such key");
      } else if (op.key() == op.arg()) {
        if (nx) {
          out.integer(0);
        } else {
          out.ok();
        }
      } else if (nx && live_at(op.arg())) {
        out.integer(0);
      } else {
        // Two writes of this turn: the value (with its TTL) under the new
        // name, then the old name's delete.
        put(op.arg(), value, false, expire_at);
        put(op.key(), "", true);
        notify(kNotifyGeneric, "rename_from", op.key());
        notify(kNotifyGeneric, "rename_to", op.arg());
        if (nx) {
          out.integer(1);
        } else {
          out.ok();
        }
      }
      return;
    }
    case OpView::kEditCopy:
    case OpView::kEditCopyReplace:
      if (exists && op.key() == op.arg()) {
        out.error("ERR source and destination objects are the same");
      } else if (!exists ||
                 (op.flags() == OpView::kEditCopy && live_at(op.arg()))) {
        out.integer(0);
      } else {
        put(op.arg(), value, false, expire_at);
        notify(kNotifyGeneric, "copy_to", op.arg());
        out.integer(1);
      }
      return;
    default:
      out.error("ERR internal error: unknown edit");
  }
}

void QueryActor::mset(const OpView& op, ResultWriter& out) {
  auto pairs = op.pairs();
  bool nx = (op.flags() & OpView::kMSetNx) != 0;
  if (nx) {
    for (size_t i = 0; i < pairs.size(); i += 2) {
      const kv::Entry* e = store_.find(pairs[i]);
      if (e != nullptr && store_.live(*e)) {
        out.integer(0);
        return;
      }
    }
  }
  for (size_t i = 0; i < pairs.size(); i += 2) {
    put(pairs[i], pairs[i + 1], false);
    notify(kNotifyString, "set", pairs[i]);
  }
  if (nx) {
    out.integer(1);
  } else {
    out.ok();
  }
}

void QueryActor::expire(const OpView& op, ResultWriter& out) {
  uint8_t f = op.flags();
  bool get_value = (f & OpView::kExpireGetValue) != 0;
  const kv::Entry* e = store_.find(op.key());
  if (e == nullptr || !store_.live(*e)) {
    if (get_value) {
      out.value(std::nullopt);
    } else {
      out.integer(0);
    }
    return;
  }
  uint64_t now = request_ms();
  uint64_t current = e->expiry().at_ms;  // 0: none
  std::optional<uint64_t> at;            // the new expiry (0: none)
  if ((f & OpView::kExpirePersist) != 0) {
    if (current != 0) at = 0;
  } else if ((f & (OpView::kSetExpireIn | OpView::kSetExpireAt)) != 0) {
    uint64_t want = expiry_of(op, now);
    // A key without an expiry counts as one that never expires.
    bool pass =
        !((f & OpView::kExpireNx) != 0 && current != 0) &&
        !((f & OpView::kExpireXx) != 0 && current == 0) &&
        !((f & OpView::kExpireGt) != 0 && (current == 0 || want <= current)) &&
        !((f & OpView::kExpireLt) != 0 && current != 0 && want >= current);
    if (pass) at = want;
  }
  std::optional<std::string> value;
  if (get_value) value = std::string(e->value());
  if (at && *at != 0 && *at <= now) {
    put(op.key(), "", true);  // already past: as Redis, a delete
    notify(kNotifyGeneric, "del", op.key());
  } else if (at) {
    notify(kNotifyGeneric, *at == 0 ? "persist" : "expire", op.key());
    // Only the expiry changes, at a version of its own: a SET made
    // elsewhere meanwhile keeps its value (kv::Expiry).
    kv::Version v{clock_.next(now), origin_};
    std::string key(e->key()), val(e->value()), meta(e->meta());
    kv::Version base = e->version();
    (void)apply({key, val, base.hlc, base.origin, e->deleted(), meta,
                 kv::Expiry{*at, v}},
                kv::kRouteLocal | kv::kRouteRemote);
    wrote_ = true;
  }
  if (get_value) {
    out.value(value);
  } else {
    out.integer(at ? 1 : 0);
  }
}

void QueryActor::ttl(const OpView& op, ResultWriter& out) {
  const kv::Entry* e = store_.find(op.key());
  if (e == nullptr || !store_.live(*e)) {
    out.integer(-2);
    return;
  }
  uint64_t at = e->expiry().at_ms;
  if (at == 0) {
    out.integer(-1);
    return;
  }
  bool ms = (op.flags() & OpView::kTtlMs) != 0;
  if ((op.flags() & OpView::kTtlAbsolute) != 0) {
    out.integer(static_cast<int64_t>(ms ? at : at / 1000));
    return;
  }
  uint64_t now = request_ms();
  uint64_t left = at > now ? at - now : 0;
  out.integer(static_cast<int64_t>(ms ? left : (left + 500) / 1000));
}

QueryActor::CounterAt QueryActor::counter_at(std::string_view key,
                                             bool floats) {
  // The counter this replica holds, or a new one on what is here: its base
  // is the key's number at the key's version (0 for a tombstone, or for no
  // entry, at the floor), so the parts added here merge with those added
  // anywhere else on the same base, and a newer SET, DEL or clear replaces
  // them all. A key that expired starts anew, at a version of its own (its
  // old one carries the expiry that passed).
  const kv::Entry* e = store_.find(key);
  // A tombstone below the horizon is as good as collected.
  if (e != nullptr && e->deleted() && e->expiry().version < store_.horizon()) {
    e = nullptr;
  }
  CounterAt at;
  at.base = e != nullptr ? e->version() : store_.floor();
  if (e != nullptr && !store_.live(*e) &&
      (!e->deleted() || e->expiry().at_ms != 0)) {
    at.base = kv::Version{clock_.next(request_ms()), origin_};
    at.counter = kv::Counter(0);
  } else if (e == nullptr || e->deleted()) {
    at.counter = kv::Counter(0);
  } else if (e->counter()) {
    at.counter = kv::Counter::decode(e->meta());
  } else if (floats) {
    at.counter = kv::Counter::over(e->value());
  } else if (auto n = strict_int(e->value())) {
    at.counter = kv::Counter(*n);
  }
  // The key's expiry stays, as in Redis (a fresh counter has none): the
  // store keeps it, as an expiry newer than the write. Not copied here,
  // as it may be another write's (kv::Store::apply_pair).
  // Below the horizon the store refuses a write to an absent key: the
  // counter is stamped with a version of its own as its expiry's (no TTL),
  // so it is taken, and it beats any dead entry older than the stamp that
  // a replica still holds (kv::Store::apply); increments made at once on
  // two servers still share the floor as base, and add up. So is one made
  // while our horizon is behind the floor (a new start, or a clear not
  // yet held everywhere): some replicas may have freed a dead counter on
  // this floor that we never held while another still holds it; a
  // counter without a stamp would merge into that one, and be dead too.
  if (e == nullptr && store_.floor() != store_.horizon()) {
    at.expiry = kv::Expiry{0, {clock_.next(request_ms()), origin_}};
  }
  return at;
}

void QueryActor::write_counter(std::string_view key, CounterAt& at) {
  // When this increment was made: its base's version is older, so only
  // this tells tombstone collection whether every replica has it.
  at.counter->mark_made(clock_.next(request_ms()));
  std::string meta = at.counter->encoded();
  (void)apply({key, {}, at.base.hlc, at.base.origin, false, meta, at.expiry},
              kv::kRouteLocal | kv::kRouteRemote);
  wrote_ = true;
}

void QueryActor::incr(std::string_view key, int64_t delta, ResultWriter& out) {
  CounterAt at = counter_at(key, false);
  // A float counter counts as an integer while its total is one (Redis
  // reads "5200" as an integer, "5200.5" not).
  if (!at.counter || !at.counter->integer()) {
    out.error("ERR value is not an integer or out of range");
    return;
  }
  if (!at.counter->add(origin_, delta)) {
    out.error("ERR increment or decrement would overflow");
    return;
  }
  write_counter(key, at);
  notify(kNotifyString, "incrby", key);
  out.integer(*at.counter->integer());
}

void QueryActor::incr_float(std::string_view key, std::string_view increment,
                            ResultWriter& out) {
  // Redis reads the value first, then the increment; both fail alike.
  CounterAt at = counter_at(key, true);
  std::optional<long double> delta = kv::parse_float(increment);
  if (!at.counter || !delta) {
    out.error("ERR value is not a valid float");
    return;
  }
  if (!at.counter->add_float(origin_, *delta)) {
    out.error("ERR increment would produce NaN or Infinity");
    return;
  }
  write_counter(key, at);
  notify(kNotifyString, "incrbyfloat", key);
  out.value(at.counter->text());
}

std::string QueryActor::watch_state(std::string_view key) const {
  const kv::Entry* e = store_.find(key);
  if (e == nullptr || !store_.live(*e)) return {};
  kv::Expiry x = e->expiry();
  std::string s = std::to_string(e->version().hlc) + "." +
                  std::to_string(e->version().origin) + "." +
                  std::to_string(x.version.hlc) + "." +
                  std::to_string(x.version.origin);
  if (e->counter()) {
    s += ".";
    s += e->value();
  }
  return s;
}

void QueryActor::run(const OpView& op, ResultWriter& out) {
  if (skipping_ || op.kind() == OpKind::kEndCheck) {
    skipping_ = skipping_ && op.kind() != OpKind::kEndCheck;
    out.skipped();
    return;
  }
  switch (op.kind()) {
    case OpKind::kGet:
      out.value(store_.get(op.key()));
      return;
    case OpKind::kMGet:
      out.begin_items();
      for (auto k : op.keys()) out.item(store_.get(k));
      out.end_items();
      return;
    case OpKind::kSet:
      put(op.key(), op.value(), false);
      notify(kNotifyString, "set", op.key());
      out.ok();
      return;
    case OpKind::kDel: {
      // The tombstone is written even when the key is not (yet) visible
      // here, so a delete beats an older write still on its way.
      int64_t n = 0;
      for (auto k : op.keys()) {
        bool live = store_.get(k).has_value();
        put(k, "", true);
        if (live) {
          ++n;
          notify(kNotifyGeneric, "del", k);
        }
      }
      out.integer(n);
      return;
    }
    case OpKind::kExists: {
      int64_t n = 0;
      for (auto k : op.keys()) n += store_.get(k) ? 1 : 0;
      out.integer(n);
      return;
    }
    case OpKind::kList:
      out.begin_items();
      store_.for_each_prefix(op.prefix(), [&](const kv::Entry& e) {
        if (kv::is_system_key(e.key())) return true;  // hidden from clients
        out.item(e.key());
        out.item(e.value());
        return true;
      });
      out.end_items();
      return;
    case OpKind::kKeys: {
      std::string_view pattern = op.pattern();
      bool prefix_only = resp::glob_is_prefix(pattern);
      out.begin_items();
      store_.for_each_prefix(
          resp::glob_literal_prefix(pattern), [&](const kv::Entry& e) {
            if ((prefix_only || resp::glob_match(pattern, e.key())) &&
                !kv::is_system_key(e.key())) {
              out.item(e.key());
            }
            return true;
          });
      out.end_items();
      return;
    }
    case OpKind::kScan: {
      // Resume after scan_after(), or start at the pattern's prefix.
      std::string_view pattern = op.pattern();
      std::string prefix = resp::glob_literal_prefix(pattern);
      bool prefix_only = resp::glob_is_prefix(pattern);
      uint64_t budget = op.scan_count() == 0 ? 10 : op.scan_count();
      bool past_prefix = false;
      std::vector<std::string_view> keys;
      auto after = op.scan_after();
      auto resume = store_.walk(
          after.value_or(prefix), after.has_value(), [&](const kv::Entry& e) {
            if (!e.key().starts_with(prefix)) {
              past_prefix = true;
              return false;
            }
            if (budget == 0) return false;
            --budget;
            if (store_.live(e) && !kv::is_system_key(e.key()) &&
                (prefix_only || resp::glob_match(pattern, e.key()))) {
              keys.push_back(e.key());
            }
            return true;
          });
      bool more = resume.has_value() && !past_prefix;
      out.begin_items(more ? std::optional<std::string_view>(*resume)
                           : std::nullopt);
      for (auto k : keys) out.item(k);
      out.end_items();
      return;
    }
    case OpKind::kDbSize:
      out.integer(static_cast<int64_t>(store_.client_live_size()));
      return;
    case OpKind::kRandomKey: {
      const kv::Entry* e = store_.random_live([this] { return random_(); });
      out.value(e != nullptr ? std::optional<std::string_view>(e->key())
                             : std::nullopt);
      return;
    }
    case OpKind::kForget:
      forget(op.member(), out);
      return;
    case OpKind::kClock: {
      // A client that moved here hands over the greatest version it has
      // seen elsewhere, so that its next write here beats its last one
      // there (docs/VERSIONS.md). Admitted like any version from elsewhere:
      // nobody can push the clock past the allowed skew.
      if (uint64_t hlc = op.observe(); hlc != 0) {
        const kv::Version v{hlc, 0};
        if (kv::admit(v, clock_.now_ms(), kv::Version{}, options_.admit) !=
            kv::Admit::kAccept) {
          out.error("ERR clock value is more than " +
                    std::to_string(options_.admit.max_skew_ms) +
                    " ms ahead of this server's clock");
          return;
        }
        clock_.observe(hlc);
      }
      out.integer(static_cast<int64_t>(clock_.last()));
      return;
    }
    case OpKind::kIncr:
      incr(op.key(), op.delta(), out);
      return;
    case OpKind::kIncrFloat:
      incr_float(op.key(), op.increment(), out);
      return;
    case OpKind::kSetWith:
      set_with(op, out);
      return;
    case OpKind::kExpire:
      expire(op, out);
      return;
    case OpKind::kTtl:
      ttl(op, out);
      return;
    case OpKind::kPublish:
      publish(op.channel(), op.message(), out);
      return;
    case OpKind::kEdit:
      edit(op, out);
      return;
    case OpKind::kMSet:
      mset(op, out);
      return;
    case OpKind::kWatch:
      out.begin_items();
      for (std::string_view k : op.keys()) out.item(watch_state(k));
      out.end_items();
      return;
    case OpKind::kEndCheck:  // handled above
      out.skipped();
      return;
    case OpKind::kCheck: {
      auto pairs = op.keys();
      for (size_t i = 0; i < pairs.size(); i += 2) {
        if (watch_state(pairs[i]) != pairs[i + 1]) {
          skipping_ = true;
          out.value(std::nullopt);
          return;
        }
      }
      out.ok();
      return;
    }
    case OpKind::kFlush:
      // A clear with a version of its own: everything older goes, on every
      // replica the floor reaches; writes newer than it stay.
      raise_floor(kv::Version{clock_.next(request_ms()), origin_});
      wrote_ = true;
      out.ok();
      return;
    case OpKind::kPersist: {
      if (!log_) {
        out.error("ERR persistence is off: start the server with --data-dir");
        return;
      }
      bool running = snapshot_running_;
      switch (op.persist_op()) {
        case PersistOp::kLastSave:
          out.integer(static_cast<int64_t>(snapshot_.last_save_s));
          return;
        case PersistOp::kBgSave:
          if (running) {
            out.error("ERR Background save already in progress");
            return;
          }
          snapshot_running_ = true;
          ctx_.tell(ActorRef(server_, kCoordinatorId), StartSnapshot{});
          out.value("Background saving started");
          return;
        case PersistOp::kSave: {
          // One under way may have sealed this actor's log before this
          // request's writes: then the one after it is the one to wait for.
          snapshot_running_ = true;
          ctx_.tell(ActorRef(server_, kCoordinatorId),
                    StartSnapshot{.again = running});
          uint64_t want = snapshot_.completed + (running ? 2 : 1);
          save_want_ = std::max(save_want_.value_or(0), want);
          out.ok();
          return;
        }
      }
      return;
    }
    case OpKind::kInfo: {
      out.begin_items();
      auto field = [&](std::string_view name, uint64_t v) {
        out.item(name);
        std::string text = std::to_string(v);
        out.item(text);
      };
      field("keys", store_.client_live_size());
      field("keys_expiring", store_.expiring());
      field("expired_keys", expired_freed_);
      field("versions_held_back", held_.size());
      field("versions_held_total", held_total_);
      field("versions_held_dropped", held_dropped_);
      field("versions_refused", refused_total_);
      field("repair_rounds", repair_rounds_);
      field("repair_entries_sent", repair_sent_);
      field("repair_record_bytes_sent", repair_records_bytes_);
      // Every write of the members' actors older than this (Unix ms) is
      // here (repair::Knowledge; 0: not known yet).
      field("repair_complete_below_ms", complete_below() >> 16);
      field("repair_sources_known", known_.known_sources());
      field("repair_stale_dropped", stale_dropped_);
      // Sync streams' claims (what each link carried) taken: no batch of
      // the link was lost since the claim's start.
      field("sync_claims_learned", claims_learned_);
      // Gaps in a link: asks sent to bridge them, and walks that did.
      field("sync_bridges_asked", bridges_asked_);
      field("sync_bridges_walked", bridges_walked_);
      field("sync_bridge_entries_sent", bridge_entries_);
      // Tombstone collection (kv::Store::collect): waiting, and freed.
      field("tombstones", store_.tombstones());
      field("tombstones_collected", store_.collected());
      field("pending_writes", store_.pending_writes());
      field("sync_log_bytes", store_.log_bytes());
      field("sync_cursors_dropped", cursors_dropped_);
      field("pubsub_messages_relayed", messages_relayed_);
      field("pubsub_messages_received", messages_received_);
      field("pubsub_messages_dropped", messages_dropped_);
      field("log_bytes", log_ ? log_->bytes() : 0);
      field("log_syncs", log_syncs_);
      field("log_errors", log_errors_);
      field("log_failed", disk_error_.empty() ? 0 : 1);
      field("snapshot_running", snapshot_running_ ? 1 : 0);
      field("snapshot_ok", snapshot_.ok ? 1 : 0);
      field("snapshot_last_save", snapshot_.last_save_s);
      field("snapshot_bytes", snapshot_.snapshot_bytes);
      field("snapshots", snapshot_.completed);
      // The members as the coordinator sees them (INFO cluster).
      for (const MemberView& m : members_.members) {
        out.item("member " + m.address);
        out.item(std::string(m.up ? "state=up" : "state=down") +
                 ",incarnation=" + std::to_string(m.incarnation) +
                 ",ms_since_contact=" + std::to_string(m.since_contact_ms));
      }
      for (const Forgotten& f : members_.forgotten) {
        out.item("forgotten " + f.address);
        out.item("incarnation=" + std::to_string(f.incarnation));
      }
      field("cluster_forgot_this_server", members_.self_forgotten ? 1 : 0);
      field("cluster_complete_below_ms", members_.horizon_hlc >> 16);
      field("cluster_ended_starts", members_.ended_starts);
      field("cluster_ended_starts_dropped", members_.ended_dropped);
      out.end_items();
      return;
    }
  }
}

void QueryActor::publish(std::string_view channel, std::string_view message,
                         ResultWriter& out) {
  size_t receivers =
      options_.pubsub ? options_.pubsub->publish(channel, message) : 0;
  for (auto& [addr, d] : remote_) {
    if (d.down) continue;  // at most once: it misses what is said meanwhile
    if (d.outbox.size() + channel.size() + message.size() >
        options_.max_outbox_bytes) {
      ++messages_dropped_;
      continue;
    }
    codec::Writer w(d.outbox);
    w.bytes(channel);
    w.bytes(message);
    ++d.outbox_count;
    published_ = true;
  }
  out.integer(static_cast<int64_t>(receivers));
}

Status QueryActor::deliver_messages(const SyncBatch& b) {
  codec::Reader r(b.messages);
  for (uint32_t i = 0; i < b.published; ++i) {
    std::string_view channel, message;
    if (!r.view(channel) || !r.view(message)) {
      return {ErrorCode::kDecode,
              "malformed pub/sub messages from " + b.server};
    }
    ++messages_received_;
    if (options_.pubsub) options_.pubsub->publish(channel, message);
  }
  return {};
}

Status QueryActor::on_sync(SyncBatch& b) {
  bool from_remote = b.server != server_;
  // Only another server sends messages; they go out at once, before the
  // entries (a subscriber is waiting, and they need nothing of the store).
  Status delivered;
  if (from_remote && b.published > 0) delivered = deliver_messages(b);
  if (b.count > b.repaired) {
    // Busy: entries in flight would look like divergence to repair.
    if (Dest* d = dest_of(b)) {
      d->last_traffic_ms = ctx_.wall_ms();
      d->converged_rounds = 0;
    }
  }
  uint8_t route = from_remote ? kv::kRouteLocal : kv::kRouteNone;
  if (b.claims.size() % 4 != 0) {
    return {ErrorCode::kDecode, "malformed stream claims from " + b.server};
  }
  LinkIn* link = nullptr;
  if (b.origin != 0 && b.link_seq != 0) {
    link = &links_in_[b.origin];
    if (b.link_seq != link->last + 1) {
      link->from = b.link_seq;  // a gap
      if (from_remote) {
        link->gap = true;
        link->server = b.server;
        link->gap_ms = ctx_.wall_ms();
      }
    }
    link->last = b.link_seq;
    link->last_ms = ctx_.wall_ms();
    if (from_remote && link->take_at) {
      link->at = local_marks();
      link->take_at = false;
    }
  }
  bool logged = false;
  uint64_t refused = 0;
  uint64_t now_ms = clock_.now_ms();
  // The sender's floor first, so its clear covers the entries after it.
  if (!admit_floor({b.floor_hlc, b.floor_origin}, now_ms, logged)) {
    ++refused;
  }
  codec::Reader r(b.entries);
  // Decoded a chunk at a time, so the store can warm each chunk's keys
  // without holding a whole batch of views.
  constexpr uint32_t kChunk = 16;
  std::array<kv::EntryView, kChunk> chunk;
  Status status;
  for (uint32_t done = 0; done < b.count;) {
    uint32_t n = std::min(kChunk, b.count - done);
    for (uint32_t i = 0; i < n; ++i) {
      if (!kv::read_entry(r, chunk[i])) {
        status = {ErrorCode::kDecode, "malformed sync batch from " + b.server};
        n = 0;  // as before: nothing of a broken chunk
        done = b.count;
        break;
      }
    }
    const uint32_t first = done;
    done += n;
    store_.for_each_warmed(
        n, [&](size_t i) { return chunk[i].key; },
        [&](size_t i) {
          const kv::EntryView& e = chunk[i];
          // The last `repaired` came by repair: no claim counts on them.
          bool synced = first + i < b.count - b.repaired;
          if (!admit_and_apply(e, route, now_ms, logged, synced)) {
            ++refused;
          }
        });
  }
  if (status.ok() && link != nullptr) learn_claims(b, *link, from_remote);
  if (status.ok() && !b.bridges.empty()) take_bridge_asks(b, from_remote);
  // Answered after the batch's entries are in, so they count.
  if (status.ok() && !b.repair.empty()) status = answer_repair(b);
  // Held entries need the timer too, or an idle actor never retries them.
  if (logged || !held_.empty() || held_floor_) work_added();
  if (!status.ok()) return status;
  if (!delivered.ok()) return delivered;
  if (refused > 0) {
    return {ErrorCode::kInvalidArgument,
            "refused " + std::to_string(refused) + " entries from " + b.server +
                " whose versions lie beyond any clock"};
  }
  return {};
}

bool QueryActor::admit_and_apply(const kv::EntryView& e, uint8_t route,
                                 uint64_t now_ms, bool& logged, bool synced) {
  if (!e.pending.empty()) {
    // Two writes of the key (kv::Store::apply_pair): each is admitted,
    // held or refused on its own; what shows, with its own expiry.
    kv::EntryView shown, other;
    if (!kv::split_pending(e, shown, other)) return false;
    bool a = admit_and_apply(shown, route, now_ms, logged, synced);
    bool b = admit_and_apply(other, route, now_ms, logged, synced);
    return a && b;
  }
  kv::Version v = e.version();
  kv::Admit verdict =
      kv::admit(v, now_ms, store_.floor_for(e.key), options_.admit);
  // An expiry's version is a version too: the clock observes it (so a
  // later EXPIRE or PERSIST here beats it), and the same rules hold it
  // back or refuse it. Its absolute time needs no check: any time is a
  // valid expiry, however far off.
  if (e.expiry && verdict == kv::Admit::kAccept) {
    kv::Admit x = kv::admit(e.expiry->version, now_ms, store_.floor_for(e.key),
                            options_.admit);
    if (x == kv::Admit::kHold || x == kv::Admit::kRefuse) verdict = x;
  }
  switch (verdict) {
    case kv::Admit::kAccept:
      clock_.observe(v.hlc);
      if (e.expiry) clock_.observe(e.expiry->version.hlc);
      if (apply(e, route)) {
        logged |= route != kv::kRouteNone;
      } else if (route == kv::kRouteLocal && synced) {
        // What we hold instead (newer, or the same) may have come by a
        // way that does not pass through our local peers' streams: it
        // goes to them again, so that a claim we relay (learn_claims)
        // holds.
        logged |= store_.touch(e.key, kv::kRouteLocal);
      }
      return true;
    case kv::Admit::kStale:
      return true;
    case kv::Admit::kHold: {
      Held h{std::string(e.key),
             std::string(e.value),
             v,
             e.deleted,
             route,
             std::string(e.meta),
             e.expiry,
             e.reclaimed};
      size_t bytes = h.bytes();
      while (!held_.empty() && held_bytes_ + bytes > options_.max_held_bytes) {
        held_bytes_ -= held_.front().bytes();
        held_.pop_front();
        ++held_dropped_;
      }
      if (bytes > options_.max_held_bytes) {
        ++held_dropped_;
        return true;
      }
      if (held_total_ % 1000 == 0) {
        ctx_.log().warn(
            "holding back an entry {} ms ahead of this clock (more than the "
            "{} ms allowed); it is retried as the clock catches up ({} held "
            "so far, {} dropped at the bound)",
            v.wall_ms() - now_ms, options_.admit.max_skew_ms, held_total_ + 1,
            held_dropped_);
      }
      held_.push_back(std::move(h));
      held_bytes_ += bytes;
      ++held_total_;
      return true;
    }
    case kv::Admit::kRefuse:
      ++refused_total_;
      return false;
  }
  return false;
}

bool QueryActor::admit_floor(const kv::Version& f, uint64_t now_ms,
                             bool& logged) {
  if (!(store_.floor() < f)) return true;
  switch (kv::admit(f, now_ms, store_.floor(), options_.admit)) {
    case kv::Admit::kAccept:
      clock_.observe(f.hlc);
      raise_floor(f);
      logged = true;  // spread it, and purge
      if (held_floor_ && !(store_.floor() < *held_floor_)) held_floor_.reset();
      return true;
    case kv::Admit::kHold:
      // Ahead of our clock: kept (one version, the greatest) and retried
      // as the clock catches up, as held entries are.
      if (!held_floor_ || *held_floor_ < f) held_floor_ = f;
      return true;
    case kv::Admit::kStale:
      return true;
    case kv::Admit::kRefuse:
      ++refused_total_;
      return false;
  }
  return false;
}

void QueryActor::retry_held() {
  if (held_floor_) {
    bool logged = false;
    kv::Version f = *held_floor_;
    held_floor_.reset();
    (void)admit_floor(f, clock_.now_ms(), logged);  // may hold it again
  }
  if (held_.empty()) return;
  uint64_t now_ms = clock_.now_ms();
  std::deque<Held> again;
  size_t again_bytes = 0;
  bool logged = false;
  for (auto& h : held_) {
    auto ahead = [&](const kv::Version& v) {
      return kv::admit(v, now_ms, store_.floor_for(h.key), options_.admit) ==
             kv::Admit::kHold;
    };
    // Still ahead: kept (admit_and_apply would add it to held_ while this
    // loop walks it).
    if (ahead(h.version) || (h.expiry && ahead(h.expiry->version))) {
      again_bytes += h.bytes();
      again.push_back(std::move(h));
    } else {
      (void)admit_and_apply(h.view(), h.route, now_ms, logged);
    }
  }
  held_.swap(again);
  held_bytes_ = again_bytes;
  // work_added() would flush now; the tick that called this flushes next.
  (void)logged;
}

QueryActor::Dest* QueryActor::dest_of(const SyncBatch& b) {
  if (b.server != server_) {
    auto it = remote_.find(b.server);
    return it == remote_.end() ? nullptr : &it->second;
  }
  // local_ holds the other local actors in index order.
  if (b.sender == index_) return nullptr;
  size_t at = b.sender < index_ ? b.sender : b.sender - 1;
  return at < local_.size() ? &local_[at] : nullptr;
}

Status QueryActor::answer_repair(const SyncBatch& b) {
  Dest* dp = dest_of(b);
  // While a clear is being freed the digests still count some of it: the
  // round would find differences that are not there.
  if (dp == nullptr || options_.repair_interval.count() <= 0 ||
      store_.purging()) {
    return {};
  }
  Dest& d = *dp;
  if (d.repair.bytes() >= options_.max_repair_bytes) return {};
  uint64_t interval = static_cast<uint64_t>(options_.repair_interval.count());
  bool quiet = ctx_.wall_ms() >= d.last_traffic_ms + interval;
  uint32_t before = d.repair.count;
  d.repair.differs = false;
  bound_clock();
  // Digests do not show the floor: while the sender's clear is not ours
  // yet (held back as ahead of our clock), a match says nothing of it, and
  // neither side learns from this round.
  bool floors_agree =
      !held_floor_ &&
      !(store_.floor() < kv::Version{b.floor_hlc, b.floor_origin});
  bool ok =
      repair::answer(store_, b.repair, quiet,
                     options_.max_repair_bytes - d.repair.bytes(), d.repair,
                     d.walk.empty()        ? &d.walk
                     : d.next_walk.empty() ? &d.next_walk
                                           : nullptr,
                     floors_agree ? &known_ : nullptr, members_.sources_digest);
  repair_sent_ += d.repair.count - before;
  if (d.repair.differs) d.converged_rounds = 0;
  if (!ok) {
    return {ErrorCode::kDecode, "malformed repair records from " + b.server};
  }
  advance_walk(d);
  if (d.repair.bytes() > 0 || !d.walk.empty()) work_added();
  return {};
}

void QueryActor::advance_walk(Dest& d) {
  if (d.walk.empty() || !d.walk.step(store_, options_.repair_walk_step)) {
    return;
  }
  uint32_t before = d.repair.count;
  size_t room = options_.max_repair_bytes > d.repair.bytes()
                    ? options_.max_repair_bytes - d.repair.bytes()
                    : 0;
  d.walk.finish(store_, room, d.repair);
  // The peer may lack them for a clear we hold back as ahead of our
  // clock (its batches carry its floor), not for a tombstone it freed:
  // they go once we take that clear.
  if (!held_floor_ && !d.repair.stale.empty()) {
    // Our horizon becomes the peer's (it counted the same sources), so a
    // late copy of what we drop is refused here as it is there.
    collecting_ = store_.collect(kv::Version{d.repair.stale_horizon, 0}, 0) ||
                  collecting_;
    for (const auto& [key, version] : d.repair.stale) {
      stale_dropped_ += store_.drop_stale(key, version) ? 1 : 0;
    }
  }
  d.repair.stale.clear();
  d.repair.stale_horizon = 0;
  std::swap(d.walk, d.next_walk);
  repair_sent_ += d.repair.count - before;
}

void QueryActor::on_server_state(const ServerState& st) {
  auto it = remote_.find(st.address);
  if (it == remote_.end()) return;
  Dest& d = it->second;
  d.down = !st.up;
  d.converged_rounds = 0;
  if (d.down) {
    // Nothing waits for it: what it misses, repair brings when it is back.
    // The cursor jumps over records: our claims on this link start anew
    // (flush() does so too, but the peer may be up again before it runs:
    // cmud-sim --faults partition seed 1010 claimed a DEL skipped so).
    d.cursor = store_.last_seq();
    d.mark.reset();
    d.asks.clear();
    d.scan.reset();
    d.repair = repair::Reply();
    d.walk = repair::LeafWalk();
    d.next_walk = repair::LeafWalk();
    d.outbox = std::string();
    d.outbox_count = 0;
  }
}

void QueryActor::on_remove_server(const RemoveServer& r) {
  remote_.erase(r.address);
}

void QueryActor::forget(std::string_view name, ResultWriter& out) {
  if (name == server_) {
    out.error("ERR I tried hard but I can't forget myself...");
    return;
  }
  for (const MemberView& m : members_.members) {
    if (m.address != name &&
        std::find(m.query.begin(), m.query.end(), name) == m.query.end()) {
      continue;
    }
    if (m.up) {
      out.error("ERR server " + m.address +
                " answers: only a server marked down (INFO cluster) can be "
                "forgotten");
      return;
    }
    ctx_.tell(ActorRef(server_, kCoordinatorId), ForgetServer{m.address});
    out.ok();
    return;
  }
  out.error("ERR Unknown server " + std::string(name.substr(0, 128)));
}

// Sent by the coordinator every repair interval: a timer of our own would
// share the 10-per-second budget of our self pair with the sync timer.
void QueryActor::reclaim_expired() {
  store_.set_now(ctx_.wall_ms());
  if (options_.pubsub == nullptr ||
      !options_.pubsub->notifies(kNotifyExpired)) {
    expired_freed_ += store_.reclaim(options_.purge_step);
    return;
  }
  // Every actor frees its replica's expired keys; the one whose hash share
  // holds a key sends its "expired" event, so each server sends it once.
  expired_freed_ +=
      store_.reclaim(options_.purge_step, [&](std::string_view k) {
        if (std::hash<std::string_view>()(k) % local_count_ == index_) {
          options_.pubsub->notify(kNotifyExpired, "expired", k);
        }
      });
}

void QueryActor::on_members(Members m) {
  members_ = std::move(m);
  // The coordinator names them all (ours too); ours are added for a
  // coordinator that names none (tests).
  sources_ = members_.sources;
  sources_.push_back(origin_);
  for (const Dest& d : local_) {
    sources_.push_back(kv::origin_of(d.ref.uid(), options_.incarnation));
  }
  std::sort(sources_.begin(), sources_.end());
  sources_.erase(std::unique(sources_.begin(), sources_.end()), sources_.end());
  known_.keep_only(sources_);
  // Links and chains of starts no longer among the sources; a few are
  // kept, as a new start may send before its members learn of it.
  auto gone = [&](uint64_t origin) {
    return !std::binary_search(sources_.begin(), sources_.end(), origin);
  };
  if (links_in_.size() > sources_.size() + 64) {
    std::erase_if(links_in_, [&](const auto& l) { return gone(l.first); });
  }
  std::erase_if(relays_, [&](const auto& c) { return gone(c.first); });
  collect_tombstones();
  if (collecting_) work_added();
}

uint64_t QueryActor::bound_clock() {
  // Whatever the wall clock does later, next() stays above what we claim.
  uint64_t b =
      std::max(clock_.last() + 1, kv::Version::pack(ctx_.wall_ms(), 0));
  clock_.observe(b - 1);
  known_.set_clock(b);
  return b;
}

uint64_t QueryActor::complete_below() {
  if (sources_.empty()) return 0;
  bound_clock();
  return known_.complete_below(sources_);
}

uint64_t QueryActor::own_claim() {
  uint64_t margin =
      static_cast<uint64_t>(options_.unknown_source_margin.count());
  uint64_t wall = ctx_.wall_ms();
  // A new start knows its sources once the members that knew its server
  // (they gossip to it) or the ones it joins answered.
  if (sources_.empty() || wall <= margin ||
      ctx_.monotonic_ms() - started_ms_ < options_.member_timeout.count()) {
    return 0;
  }
  return std::min(complete_below(), kv::Version::pack(wall - margin, 0));
}

void QueryActor::claim() {
  if (sources_.empty()) return;  // no coordinator spoke: nothing to claim
  ctx_.tell(ActorRef(server_, kCoordinatorId),
            Claim{static_cast<uint32_t>(index_), own_claim(),
                  members_.sources_digest});
}

void QueryActor::collect_tombstones() {
  uint64_t before = store_.collected();
  collecting_ = store_.collect(
      kv::Version{members_.horizon_hlc, 0}, options_.collect_step,
      options_.on_freed ? &options_.on_freed : nullptr);
  if (options_.on_collected && store_.collected() != before) {
    options_.on_collected(static_cast<size_t>(store_.collected() - before),
                          store_.horizon().hlc);
  }
}

void QueryActor::on_repair_tick() {
  // Also the clock of expiry: every interval, expired values are freed
  // even on an actor nobody asks anything.
  reclaim_expired();
  // The actors of a server alone open rounds with each other too: their
  // sync loses nothing in flight, but a peer that lagged past the log's
  // bound was dropped to its end (drop_laggards). A converged pair costs
  // one small record every 8 intervals.
  if (options_.repair_interval.count() <= 0 || store_.purging()) {
    return;
  }
  bool opened = false;
  uint64_t now = ctx_.wall_ms();
  // With the other servers, and with the other actors here (whose sync
  // loses nothing in flight, but entries held back and dropped at the
  // bound are found this way).
  for (auto& [addr, d] : remote_) open_round(d, now, opened);
  for (auto& d : local_) open_round(d, now, opened);
  if (opened) {
    ++repair_rounds_;
    work_added();
  }
}

void QueryActor::open_round(Dest& d, uint64_t now, bool& opened) {
  uint64_t interval = static_cast<uint64_t>(options_.repair_interval.count());
  // A round still waiting to go out is not doubled.
  if (d.down || !d.repair.records.empty()) return;
  bool quiet = now >= d.last_traffic_ms + interval;
  if (quiet && now < d.last_round_ms + (interval << d.converged_rounds)) {
    return;  // converged and idle: rounds back off to every 8 s
  }
  bool overdue = now >= d.last_round_ms +
                            interval * static_cast<uint64_t>(std::max(
                                           1, options_.repair_force_intervals));
  if (!quiet && !overdue) return;
  d.last_round_ms = now;
  d.converged_rounds = std::min(d.converged_rounds + 1, 3);
  bool bounds = now >= d.last_bounds_ms + 4 * interval;
  if (bounds) {
    d.last_bounds_ms = now;
    bound_clock();
  }
  repair::open_round(store_, static_cast<uint32_t>(local_count_),
                     static_cast<uint32_t>(index_), !quiet, d.repair.records,
                     bounds ? &known_ : nullptr);
  opened |= !d.repair.records.empty();
}

void QueryActor::on_add_server(AddServer& a) {
  if (a.desc.address == server_ || a.desc.actors.empty()) return;
  auto [it, fresh] = remote_.try_emplace(a.desc.address);
  Dest& d = it->second;
  if (fresh) {
    d.ref =
        ActorRef(a.desc.address, a.desc.actors[index_ % a.desc.actors.size()]);
    d.remote = true;
    d.cursor = store_.last_seq();
    d.scan = Scan{a.full_state, std::nullopt};
    // With no write of ours before it, the link will carry all of them.
    if (!wrote_any_) d.mark = Dest::Mark{0, 0};
  } else if (a.full_state) {
    d.scan = Scan{true, std::nullopt};  // asked again for everything
  } else {
    // Another start of it: what it lost, a round finds at once.
    d.ref =
        ActorRef(a.desc.address, a.desc.actors[index_ % a.desc.actors.size()]);
    d.converged_rounds = 0;
    d.last_round_ms = 0;
  }
  work_added();
}

void QueryActor::on_tick() {
  tick_pending_ = false;
  sync_log_if_due();
  retry_held();
  (void)store_.purge(options_.purge_step);
  reclaim_expired();
  collect_tombstones();
  if (!has_work()) return;
  flush();
  schedule_tick();
}

// Flushes at once unless a timer is pending; a pending timer means the last
// flush was less than `spacing` ago, and the timer will pick this work up.
void QueryActor::work_added() {
  if (tick_pending_) return;
  flush();
  schedule_tick();
}

void QueryActor::schedule_tick() {
  tick_pending_ = true;
  ctx_.tell_after(ctx_.self(), SyncTick{}, options_.spacing);
}

bool QueryActor::has_work() const {
  // Held entries keep the timer going, so they are retried every spacing;
  // so does an unsynced log, so that everysec syncs an idle actor too.
  if (!held_.empty() || held_floor_ || store_.purging() || collecting_) {
    return true;
  }
  if (log_ && log_->unsynced() && options_.fsync == durable::Fsync::kEverySec) {
    return true;
  }
  uint64_t last = store_.last_seq();
  const kv::Version& floor = store_.floor();
  for (const auto& d : local_) {
    if (d.cursor < last || d.floor_sent < floor || !d.asks.empty()) {
      return true;
    }
  }
  for (const auto& [addr, d] : remote_) {
    if (d.down) continue;
    if (d.cursor < last || d.scan || d.repair.bytes() > 0 || !d.walk.empty() ||
        d.floor_sent < floor || d.outbox_count > 0 || !d.asks.empty()) {
      return true;
    }
  }
  return false;
}

bool QueryActor::in_snapshot(const Scan& s, const kv::Entry& e) const {
  if (e.version().origin == origin_) return true;
  return s.full &&
         std::hash<std::string_view>()(e.key()) % local_count_ == index_;
}

SyncBatch QueryActor::build_batch(Dest& d) {
  SyncBatch b;
  b.server = server_;
  b.sender = static_cast<uint32_t>(index_);
  b.floor_hlc = store_.floor().hlc;
  b.floor_origin = store_.floor().origin;
  auto take = [&](const kv::Entry& e) {
    if (b.count > 0 &&
        b.entries.size() + entry_bytes(e) > options_.max_batch_bytes) {
      return false;
    }
    append(b, e);
    return true;
  };
  d.cursor = store_.changes_since(
      d.cursor, d.remote ? kv::kRouteRemote : kv::kRouteLocal, take);
  if (d.scan && b.entries.size() < options_.max_batch_bytes) {
    Scan& s = *d.scan;
    bool first = true;
    size_t visited = 0;
    auto resume = store_.walk(
        s.after.value_or(""), s.after.has_value(), [&](const kv::Entry& e) {
          if (s.bridge) {
            // Most entries are older than the gap: a bounded step a batch.
            if (++visited > options_.bridge_step) return false;
            if (kv::Store::top(e).hlc < s.from) return true;
          } else if (!in_snapshot(s, e)) {
            return true;
          }
          if (first) {  // walk() needs its first entry taken
            first = false;
            append(b, e);
            bridge_entries_ += s.bridge ? 1 : 0;
            return true;
          }
          if (!take(e)) return false;
          bridge_entries_ += s.bridge ? 1 : 0;
          return true;
        });
    if (resume) {
      s.after = std::move(resume);
    } else {
      if (s.bridge && s.drops == d.drops) {
        // Every write of ours from s.from on is in a batch after s.since:
        // this walk sent what the lost batches held (or a newer entry of
        // its key), the log what came since it began. add_claims claims
        // it once the cursor is at the log's end.
        d.mark = Dest::Mark{s.from, s.since};
        ++bridges_walked_;
      }
      d.scan.reset();
    }
  }
  if (!d.asks.empty()) {
    b.bridges = std::move(d.asks);
    d.asks.clear();
  }
  if (b.count > 0) {
    d.last_traffic_ms = ctx_.wall_ms();
    d.converged_rounds = 0;
  }
  if (d.outbox_count > 0) {
    messages_relayed_ += d.outbox_count;
    b.published = d.outbox_count;
    b.messages = std::move(d.outbox);
    d.outbox = std::string();
    d.outbox_count = 0;
  }
  if (d.repair.bytes() > 0) {
    repair_records_bytes_ += d.repair.records.size();
    b.repair = std::move(d.repair.records);
    b.entries += d.repair.entries;
    b.count += d.repair.count;
    b.repaired = d.repair.count;
    d.repair = repair::Reply();
  }
  return b;
}

std::vector<std::pair<uint64_t, uint64_t>> QueryActor::local_marks() const {
  std::vector<std::pair<uint64_t, uint64_t>> at;
  at.reserve(local_.size());
  for (const Dest& d : local_) at.emplace_back(d.sent, d.drops);
  return at;
}

bool QueryActor::add_claims(Dest& d, size_t local_at, SyncBatch& b,
                            bool going) {
  const uint64_t now = ctx_.wall_ms();
  const uint64_t interval = static_cast<uint64_t>(
      std::max<int64_t>(options_.repair_interval.count(), 1));
  std::vector<uint64_t> claims;
  // Our own writes: once the cursor is at the log's end, every one below
  // our clock's next value went in this batch or an earlier one. Claimed
  // with sync's entries, or on their own once an interval while the pair
  // is busy: an idle cluster learns from matching digests, and stays as
  // quiet as without claims.
  std::optional<Dest::Mark> mark;
  bool news = false;
  if (d.cursor == store_.last_seq() && !d.scan) {
    uint64_t bound = bound_clock();
    if (!d.mark) d.mark = Dest::Mark{bound, d.sent};  // a fresh start
    bool due = now >= d.last_claim_ms + interval &&
               now < d.last_traffic_ms + 2 * interval;
    if (d.mark->from < bound && (b.count > b.repaired || due)) {
      claims.insert(claims.end(),
                    {origin_, d.mark->from, bound, d.mark->since});
      mark = Dest::Mark{bound, d.sent + 1};
      news = due;
    }
  }
  // Claims of other servers' actors, relayed to a local peer once our
  // entries that back them went to it, unless its cursor jumped since.
  std::vector<Chain*> told;
  if (local_at < local_.size()) {
    for (auto& [source, c] : relays_) {
      if (local_at >= c.at.size() || c.relayed[local_at] >= c.to ||
          d.cursor < c.pos || c.at[local_at].second != d.drops) {
        continue;
      }
      claims.insert(claims.end(), {source, c.from, c.to, c.at[local_at].first});
      told.push_back(&c);
      news = true;
    }
  }
  if (!going && !news) return false;
  b.origin = origin_;
  b.link_seq = ++d.sent;
  if (!claims.empty()) {
    d.last_claim_ms = now;
    b.claims = std::move(claims);
  }
  if (mark) d.mark = mark;
  for (Chain* c : told) c->relayed[local_at] = c->to;
  return true;
}

void QueryActor::learn_claims(const SyncBatch& b, LinkIn& link,
                              bool from_remote) {
  if (b.claims.empty()) return;
  // Entries held back as ahead of our clock are not here yet: what a
  // claim teaches stops short of where they lie (none of the link's can
  // lie below our clock plus the skew allowed, or it would not be held).
  // One dropped at that bound may lie anywhere above: nothing is learned.
  bool dropped = held_dropped_ != link.held_dropped;
  bool whole = held_.empty() && !held_floor_;
  uint64_t cap = UINT64_MAX;
  if (!whole) {
    cap = kv::Version::pack(
        clock_.now_ms() + static_cast<uint64_t>(options_.admit.max_skew_ms), 0);
    for (const Held& h : held_) {
      cap = std::min(cap, h.version.hlc);
      if (h.expiry) cap = std::min(cap, h.expiry->version.hlc);
    }
    // A held clear covers, once raised, every write below it that we
    // lack (the sender purged them, or a lost batch held a lesser clear):
    // until then nothing above our own floor is known.
    if (held_floor_) cap = std::min(cap, store_.floor().hlc);
  }
  bool relay = false;
  for (size_t i = 0; i + 3 < b.claims.size(); i += 4) {
    uint64_t source = b.claims[i], from = b.claims[i + 1], to = b.claims[i + 2],
             since = b.claims[i + 3];
    // Every batch after `since` must have come.
    if (since >= b.link_seq || since + 1 < link.from || to <= from || dropped) {
      continue;
    }
    // A remote actor's claim on its own writes that does not go on from
    // where we knew them (a batch that carried the last one was lost)
    // teaches nothing: its sender is asked to bridge the hole.
    if (from_remote && source == b.origin) {
      link.gap = known_.least(source) < from;
    }
    known_.learn_range(source, from, std::min(to, cap));
    ++claims_learned_;
    // A remote actor's claim on its own writes: their entries reached
    // our local peers through our log (or went again: touch), so the
    // claim holds for them too once they got what we logged up to now.
    if (!from_remote || !whole || source != b.origin || local_.empty()) {
      continue;
    }
    auto [it, fresh] = relays_.try_emplace(source);
    Chain& c = it->second;
    if (fresh || c.to != from) {
      c.from = from;
      c.at = link.at;
      c.relayed.assign(local_.size(), from);
    }
    c.to = to;
    c.pos = store_.last_seq();
    relay = true;
  }
  link.take_at = true;
  link.held_dropped = held_dropped_;
  if (relay) work_added();
}

// Bridging a lost batch. After a gap in a link, its claims teach nothing
// until one matching digest shows the receiver holds what the lost batches
// held, and writes that never pause may keep digests apart for good (no
// tombstone is freed meanwhile). So the receiver asks the sender (in its
// own batches to that server, passed on by whichever actor there gets
// them) for what it may have lost: `from`, where its knowledge of the
// sender stops in every group. The sender walks its replica a bounded
// step per batch and sends every entry whose newest version is at least
// `from`, whatever its origin: each write of its own from `from` on is
// there, or a newer entry of its key, or a floor above it (the batch
// carries the floor; a tombstone freed meanwhile lay below the cluster's
// horizon, which the receiver's stuck knowledge keeps below `from`). The
// log sends what comes after the walk began; once the walk is done and
// the cursor at the log's end, it claims [from, clock) since the batch
// before the walk, and the receiver learns it if no batch was lost since.
// Bytes grow with the writes made since `from`, not with the store.
void QueryActor::ask_bridges() {
  if (links_in_.empty()) return;
  const uint64_t now = ctx_.wall_ms();
  const uint64_t interval = static_cast<uint64_t>(
      std::max<int64_t>(options_.repair_interval.count(), 1));
  for (auto& [source, link] : links_in_) {
    if (!link.gap || now > link.last_ms + 8 * interval) continue;
    // Not while batches are still being lost: a walk then would likely
    // be lost too, and the next gap would ask for another.
    if (now < link.gap_ms + interval) continue;
    if (link.asked_from == link.from && now < link.asked_ms + 4 * interval) {
      continue;  // asked for this gap already: the walk may be under way
    }
    auto it = remote_.find(link.server);
    if (it == remote_.end() || it->second.down) continue;
    // Our local peers know the source by our relays (learn_claims), and
    // learn the bridged claim only from where they know it: the least.
    // Each of us knows the source at least to the cluster's horizon
    // (every member's claim passed it), so no need to go further back.
    const uint64_t least = known_.least(source);
    uint64_t from = least;
    if (auto c = relays_.find(source); c != relays_.end()) {
      for (uint64_t told : c->second.relayed) from = std::min(from, told);
    }
    from = std::max(from, std::min(least, members_.horizon_hlc));
    if (from == 0) continue;  // not known in every group: digests bridge
    it->second.asks.push_back(BridgeAsk{server_, source, from, link.from});
    link.asked_from = link.from;
    link.asked_ms = now;
    ++bridges_asked_;
  }
}

void QueryActor::take_bridge_asks(const SyncBatch& b, bool from_remote) {
  // At most a few per batch: one per link of this server's actors.
  const size_t n = std::min<size_t>(b.bridges.size(), 64);
  for (size_t i = 0; i < n; ++i) {
    const BridgeAsk& a = b.bridges[i];
    if (a.source == origin_) {
      auto it = remote_.find(a.server);
      if (it != remote_.end() && !it->second.down) bridge(it->second, a);
    } else if (from_remote) {
      // The link is a local peer's: passed on to it, once.
      for (Dest& d : local_) {
        if (kv::origin_of(d.ref.uid(), options_.incarnation) == a.source) {
          d.asks.push_back(a);
          work_added();
        }
      }
    }
  }
}

void QueryActor::bridge(Dest& d, const BridgeAsk& ask) {
  // The receiver got batch link_from, so it was sent (else the ask is not
  // about this link as it is now).
  if (ask.from == 0 || ask.link_from == 0 || ask.link_from > d.sent) return;
  // Below our horizon we may have freed tombstones the walk would miss
  // (only a receiver the horizon did not count asks that far back).
  if (ask.from < store_.horizon().hlc) return;
  if (d.scan && !d.scan->bridge) return;  // a join's stream first
  // A walk under way whose claim the receiver will take: it covers this.
  if (d.scan && ask.link_from <= d.scan->since + 1 &&
      d.scan->from <= ask.from) {
    return;
  }
  Scan s;
  s.bridge = true;
  s.from = ask.from;
  s.since = d.sent;
  s.drops = d.drops;
  d.scan = std::move(s);
  d.mark.reset();  // no claim of ours on this link until the walk is done
  work_added();
}

// A peer that takes less than is written (the batch bound, or the rate of
// one batch per spacing) lags ever further, and the log keeps every record
// and replaced entry for it. Past the bound it is treated as a peer that
// was down: its cursor jumps to the end and repair finds what it lacks
// (rounds with it stay at every interval).
void QueryActor::drop_laggards() {
  const uint64_t last = store_.last_seq();
  auto drop = [&](Dest& d) {
    if (d.cursor >= last) return;
    d.cursor = last;
    d.mark.reset();  // what it skipped, it lacks
    ++d.drops;
    d.converged_rounds = 0;
    ++cursors_dropped_;
  };
  const uint64_t before = cursors_dropped_;
  for (auto& d : local_) drop(d);
  for (auto& [addr, d] : remote_) drop(d);
  // Under sustained overload this runs at every flush: say it at most
  // once a second.
  const int64_t now = ctx_.monotonic_ms();
  if (cursors_dropped_ != before &&
      (!drop_logged_ms_ || now >= *drop_logged_ms_ + 1000)) {
    drop_logged_ms_ = now;
    ctx_.log().warn(
        "peers lag the change log by more than {} bytes; they get the rest "
        "by repair ({} cursors dropped so far)",
        options_.max_log_bytes, cursors_dropped_);
  }
}

void QueryActor::flush() {
  ask_bridges();
  auto send = [&](Dest& d, size_t local_at) {
    if (d.down) {
      d.cursor = store_.last_seq();  // dropped: repair brings it later
      d.mark.reset();
      if (d.scan && d.scan->bridge) d.scan.reset();  // it would not hold
      d.asks.clear();
      return;
    }
    advance_walk(d);
    bool floor_news = d.floor_sent < store_.floor();
    SyncBatch b = build_batch(d);
    bool going = b.count > 0 || !b.repair.empty() || floor_news ||
                 b.published > 0 || !b.bridges.empty();
    if (add_claims(d, local_at, b, going)) {
      d.floor_sent = store_.floor();
      ctx_.tell(d.ref, std::move(b));
    }
  };
  for (size_t i = 0; i < local_.size(); ++i) send(local_[i], i);
  for (auto& [addr, d] : remote_) send(d, SIZE_MAX);
  if (store_.log_bytes() > options_.max_log_bytes) drop_laggards();
  uint64_t done = store_.last_seq();
  for (const auto& d : local_) done = std::min(done, d.cursor);
  for (const auto& [addr, d] : remote_) done = std::min(done, d.cursor);
  store_.trim(done);
}

}  // namespace cmud::server
