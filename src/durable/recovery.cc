#include "cmud/durable/recovery.h"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstring>

#include "cmud/durable/log.h"
#include "cmud/kv/counter.h"
#include "cmud/kv/entry_wire.h"

namespace cmud::durable {

void EntryRecord::add(const kv::EntryView& e) {
  kv::append_entry(record_, e);
  ++count_;
}

std::string_view EntryRecord::framed() {
  std::memcpy(record_.data() + kRecordHeader + 1, &count_, sizeof count_);
  seal_record(record_, 0);
  return record_;
}

void EntryRecord::clear() {
  record_.assign(kRecordHeader, '\0');
  codec::Writer w(record_);
  w.fixed(static_cast<uint8_t>(RecordType::kEntries));
  w.fixed<uint32_t>(0);
  count_ = 0;
}

std::string floor_record(const kv::Version& floor) {
  std::string out;
  codec::Writer w(out);
  w.fixed(static_cast<uint8_t>(RecordType::kFloor));
  w.fixed(floor.hlc);
  w.fixed(floor.origin);
  return out;
}

namespace {

constexpr std::string_view kSnapshotPrefix = "snapshot-";
constexpr std::string_view kSnapshotSuffix = ".snap";

// The n of "snapshot-<n>.snap"; 0 for any other name.
uint64_t snapshot_number(std::string_view name) {
  if (!name.starts_with(kSnapshotPrefix) || !name.ends_with(kSnapshotSuffix)) {
    return 0;
  }
  name.remove_prefix(kSnapshotPrefix.size());
  name.remove_suffix(kSnapshotSuffix.size());
  uint64_t n = 0;
  auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), n);
  return ec == std::errc() && end == name.data() + name.size() ? n : 0;
}

std::string snapshot_name(uint64_t n) {
  return std::string(kSnapshotPrefix) + std::to_string(n) +
         std::string(kSnapshotSuffix);
}

bool is_log(std::string_view name) {
  return name.starts_with("log-") && name.ends_with(".log");
}

// Applies one record's payload to r; false when it does not decode.
bool apply_record(std::string_view payload, Recovered& r, bool& ended) {
  codec::Reader in(payload);
  uint8_t type = 0;
  if (!in.fixed(type)) return false;
  switch (static_cast<RecordType>(type)) {
    case RecordType::kEntries: {
      uint32_t count = 0;
      if (!in.fixed(count)) return false;
      kv::EntryView e;
      for (uint32_t i = 0; i < count; ++i) {
        if (!kv::read_entry(in, e)) return false;
        ++r.entries;
        // Versions beyond any clock never reach a replica (kv::admit), so
        // one here is damage that slipped past the checksum.
        if (e.version().wall_ms() > kv::kMaxWallMs) return false;
        // An expiry's version (EXPIRE, PERSIST, a counter's stamp) and a
        // counter's last increment are the clock's too, and may be newer:
        // a later EXPIRE made here must beat them. So are the pending
        // write's.
        auto see = [&](const kv::EntryView& w) {
          r.max_hlc = std::max(r.max_hlc, w.hlc);
          if (w.expiry) r.max_hlc = std::max(r.max_hlc, w.expiry->version.hlc);
          if (!w.meta.empty()) {
            if (auto c = kv::Counter::decode(w.meta)) {
              r.max_hlc = std::max(r.max_hlc, c->made());
            }
          }
        };
        see(e);
        kv::EntryView shown, pending;
        if (!e.pending.empty() && kv::split_pending(e, shown, pending)) {
          see(shown);
          see(pending);
        }
        if (e.version() < r.store.floor_for(e.key)) continue;  // cleared since
        (void)r.store.apply(e, kv::kRouteNone);
      }
      return in.remaining() == 0;
    }
    case RecordType::kFloor: {
      kv::Version v;
      if (!in.fixed(v.hlc) || !in.fixed(v.origin) || in.remaining() != 0) {
        return false;
      }
      r.store.raise_floor(v);
      r.max_hlc = std::max(r.max_hlc, v.hlc);
      return true;
    }
    case RecordType::kEnd: {
      uint64_t n = 0;
      ended = in.fixed(n) && in.remaining() == 0;
      return ended;
    }
  }
  return false;
}

// Reads one file into r. `snapshot` files must end with kEnd.
Status load(FileSystem& fs, const std::string& dir, const std::string& name,
            bool snapshot, bool repair, Recovered& r) {
  std::string path = dir + "/" + name;
  auto bytes = fs.read(path);
  if (!bytes.ok()) return bytes.status();
  r.bytes += bytes->size();
  // Most entries take at least this many bytes on disk (16-byte keys,
  // 32-byte values: 67): room for them up front, not rehash after rehash.
  constexpr size_t kMinEntryBytes = 48;
  r.store.reserve(r.store.size() + bytes->size() / kMinEntryBytes);
  Parsed p = parse(*bytes, snapshot ? kSnapshotMagic : kLogMagic);
  bool ended = false;
  size_t applied = 0;
  for (auto payload : p.records) {
    if (!apply_record(payload, r, ended)) {
      p.tail = Parsed::Tail::kCorrupt;
      p.problem = "record " + std::to_string(applied) +
                  " has a good checksum but does not decode";
      break;
    }
    ++applied;
    ++r.records;
  }
  if (snapshot && !ended && p.tail == Parsed::Tail::kClean) {
    // Snapshots are renamed into place only once whole.
    p.tail = Parsed::Tail::kCorrupt;
    p.problem = "the snapshot has no end record";
  }
  if (snapshot && p.tail == Parsed::Tail::kTorn) {
    p.tail = Parsed::Tail::kCorrupt;  // synced before its rename: no tear
  }
  switch (p.tail) {
    case Parsed::Tail::kClean:
      return {};
    case Parsed::Tail::kTorn:
      r.warnings.push_back(path + ": cut a torn last record (" + p.problem +
                           "); it was never acknowledged");
      return {};
    case Parsed::Tail::kCorrupt:
      if (repair) {
        r.warnings.push_back(path + ": skipped everything from " + p.problem +
                             " on (--repair-log)");
        return {};
      }
      return Status(ErrorCode::kDecode,
                    path + " is damaged: " + p.problem +
                        ". Nothing was changed. Start with --repair-log to "
                        "keep what precedes the damage and skip the rest "
                        "(the cluster's repair brings back what other "
                        "servers hold), or restore the file.");
  }
  return {};
}

}  // namespace

Result<std::unique_ptr<Recovered>> recover(
    FileSystem& fs, const std::string& dir, bool repair,
    const std::vector<std::string>* logs) {
  auto r = std::make_unique<Recovered>();
  auto names = fs.list(dir);
  if (!names.ok()) {
    if (names.status().code() == ErrorCode::kNotFound) return r;
    return names.status();
  }
  for (const auto& name : *names) {
    r->snapshot = std::max(r->snapshot, snapshot_number(name));
  }
  if (r->snapshot > 0) {
    Status s = load(fs, dir, snapshot_name(r->snapshot), true, repair, *r);
    if (!s.ok()) return s;
    r->snapshot_bytes = r->bytes;
  }
  for (const auto& name : logs != nullptr ? *logs : *names) {
    if (!is_log(name)) continue;
    Status s = load(fs, dir, name, false, repair, *r);
    if (!s.ok()) return s;
    r->logs.push_back(name);
  }
  // A clear replayed after the entries it covers: free them now, so that
  // counts and copies hold only what is live.
  (void)r->store.purge(SIZE_MAX);
  return r;
}

Result<uint64_t> write_snapshot(FileSystem& fs, const std::string& dir,
                                uint64_t number, const kv::Store& store) {
  std::string path = dir + "/" + snapshot_name(number);
  std::string aside = path + ".tmp";
  if (Status s = fs.remove(aside);
      !s.ok() && s.code() != ErrorCode::kNotFound) {
    return s;
  }
  auto f = fs.open_append(aside);
  if (!f.ok()) return f.status();
  std::string out(kSnapshotMagic);
  append_record(out, floor_record(store.floor()));
  EntryRecord chunk;
  uint64_t total = 0;
  uint64_t bytes = 0;
  Status status;
  constexpr size_t kChunkBytes = 1u << 20;
  auto put = [&] {
    status = (*f)->append(out);
    bytes += out.size();
    out.clear();
    return status.ok();
  };
  auto put_chunk = [&] {
    out += chunk.framed();
    chunk.clear();
    return put();
  };
  (void)store.walk("", false, [&](const kv::Entry& e) {
    chunk.add(e);
    ++total;
    return chunk.bytes() < kChunkBytes || put_chunk();
  });
  if (!status.ok()) return status;
  if (!chunk.empty() && !put_chunk()) return status;
  std::string end;
  codec::Writer w(end);
  w.fixed(static_cast<uint8_t>(RecordType::kEnd));
  w.fixed(total);
  append_record(out, end);
  if (!put()) return status;
  if (status = (*f)->sync(); !status.ok()) return status;
  if (status = fs.rename(aside, path); !status.ok()) return status;
  if (status = fs.sync_dir(dir); !status.ok()) return status;
  return bytes;
}

Status compact(FileSystem& fs, const std::string& dir, Recovered& r,
               bool always) {
  if (!always && r.logs.empty() && r.warnings.empty()) return {};
  if (Status s = fs.create_dirs(dir); !s.ok()) return s;
  uint64_t number = r.snapshot + 1;
  auto bytes = write_snapshot(fs, dir, number, r.store);
  if (!bytes.ok()) return bytes.status();
  // The new snapshot is durable: what it covers may go.
  if (r.snapshot > 0) {
    if (Status s = fs.remove(dir + "/" + snapshot_name(r.snapshot)); !s.ok()) {
      return s;
    }
  }
  for (const auto& name : r.logs) {
    if (Status s = fs.remove(dir + "/" + name); !s.ok()) return s;
  }
  r.snapshot = number;
  r.snapshot_bytes = *bytes;
  r.logs.clear();
  return fs.sync_dir(dir);
}

}  // namespace cmud::durable
