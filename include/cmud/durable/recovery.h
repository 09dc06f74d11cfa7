// What a server's data directory holds, read back at start: the newest
// snapshot plus every log, merged by version into one replica; and the
// snapshot that then replaces them.
//
// Layout of the directory (one per server):
//   incarnation               the start counter (server/replicas.h)
//   snapshot-<n>.snap         the merged state as of snapshot n
//   log-<inc>-<actor>-<k>.log segment k of one actor's log in one start
// Records are idempotent (whole entries, merged last-writer-wins, and the
// floor, raised by max), so replay order does not matter and a log the
// snapshot already covers may be replayed again.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "cmud/common/files.h"
#include "cmud/common/status.h"
#include "cmud/kv/store.h"

namespace cmud::durable {

// The first byte of every record's payload.
enum class RecordType : uint8_t {
  kEntries = 1,  // u32 count, then count entries (kv::append_entry)
  kFloor = 2,    // the replica's floor: u64 hlc, u64 origin
  kEnd = 3,      // closes a snapshot: u64 entries it holds
};

// Builds one kEntries record: the writes of one turn (or one chunk of a
// snapshot), applied together at replay. Thread-compatible.
class EntryRecord {
 public:
  EntryRecord() { clear(); }
  void add(const kv::EntryView& e);
  void add(const kv::Entry& e) { add(e.view()); }
  bool empty() const { return count_ == 0; }
  uint32_t count() const { return count_; }
  size_t bytes() const { return record_.size(); }
  // The whole framed record (append_record's form), its count and
  // checksum filled in. Valid until the next add/clear.
  std::string_view framed();
  void clear();

 private:
  std::string record_;  // header, then the payload
  uint32_t count_ = 0;
};

// The payload of a kFloor record.
std::string floor_record(const kv::Version& floor);

// The state read back from a data directory.
struct Recovered {
  kv::Store store;        // every entry and the floor, merged
  uint64_t max_hlc = 0;   // the greatest version seen: the clock starts above
  uint64_t snapshot = 0;  // the snapshot loaded (0: none)
  uint64_t snapshot_bytes = 0;    // its size on disk
  std::vector<std::string> logs;  // log files replayed (names)
  // Torn tails cut and damage skipped (with repair), one line each.
  std::vector<std::string> warnings;
  uint64_t records = 0;
  uint64_t entries = 0;  // entries read (before merging)
  uint64_t bytes = 0;    // bytes read
};

// Loads dir: the newest snapshot, then every log (or only those named in
// `logs`, when given), merged by version. A torn last record of a file is
// cut (and warned about); damage in the middle of a file stops recovery
// with kDecode naming the file and offset, unless repair is set, in which
// case the rest of that file is skipped (and warned about). A missing dir
// is an empty state.
Result<std::unique_ptr<Recovered>> recover(
    FileSystem& fs, const std::string& dir, bool repair,
    const std::vector<std::string>* logs = nullptr);

// Writes r.store as snapshot r.snapshot + 1 (aside, synced, renamed, dir
// synced), then removes the older snapshot and the logs r replayed, which
// it now covers; updates r.snapshot and r.snapshot_bytes and clears r.logs.
// With `always`, writes one even when there is nothing to fold.
Status compact(FileSystem& fs, const std::string& dir, Recovered& r,
               bool always = false);

// Writes store as dir/snapshot-<number>.snap, durably (aside, synced,
// renamed, dir synced); returns its size.
Result<uint64_t> write_snapshot(FileSystem& fs, const std::string& dir,
                                uint64_t number, const kv::Store& store);

}  // namespace cmud::durable
