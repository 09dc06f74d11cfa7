// The write-ahead log: framed, checksummed records appended to segment
// files through FileSystem, and the parser that reads them back.
//
// A file starts with an 8-byte magic; each record is
//   u32 length, u32 crc32 (of the length bytes and the payload), payload.
// A record is whole or absent: a crash can leave only a torn last record,
// which the parser reports apart from damage in the middle.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "cmud/common/files.h"
#include "cmud/common/status.h"

namespace cmud::durable {

// When appended records reach the disk (Redis's appendfsync).
enum class Fsync : uint8_t {
  kAlways,    // before the write is acknowledged (one fsync per turn)
  kEverySec,  // at most about a second after it is acknowledged
  kNo,        // when the operating system writes it back
};
// "always", "everysec", "no"; kInvalidArgument otherwise.
Result<Fsync> parse_fsync(std::string_view text);
std::string_view fsync_name(Fsync f);

inline constexpr std::string_view kLogMagic = "CMUDLOG1";
inline constexpr std::string_view kSnapshotMagic = "CMUDSNP1";
// A record larger than this is damage, not data (a value is at most 32 MiB
// and a turn's record at most a few sync batches).
inline constexpr uint32_t kMaxRecordBytes = 1u << 30;

// Appends one framed record holding payload to out.
void append_record(std::string& out, std::string_view payload);
// Frames, in place, the record whose kRecordHeader header bytes start at
// `at` in buf and whose payload runs to buf's end (so a record can be built
// where it will be written, without a copy).
inline constexpr size_t kRecordHeader = 8;  // u32 length, u32 crc
void seal_record(std::string& buf, size_t at);

// What a file holds, as far as it is intact.
struct Parsed {
  enum class Tail : uint8_t {
    kClean,    // every byte belongs to a whole record
    kTorn,     // the last record is cut short or fails its checksum and
               // nothing follows it: a write the crash interrupted
    kCorrupt,  // a damaged record with more bytes after it
  };
  std::vector<std::string_view> records;  // views into the parsed bytes
  size_t valid_bytes = 0;                 // the intact prefix
  Tail tail = Tail::kClean;
  std::string problem;  // what is wrong, and at which offset
};
// Parses a whole file. A file shorter than its magic, or with another
// magic, is kCorrupt unless it is empty or a prefix of the magic (torn at
// creation).
Parsed parse(std::string_view bytes, std::string_view magic);

// One actor's log: segment files named <prefix>-<n>.log in dir, appended to
// in whole records. A failed append abandons its segment (it may end in a
// partial record, which recovery reads as a torn tail) and the next append
// starts a new one, so a failure never leaves damage in the middle of a
// file. Thread-compatible: owned by one actor.
class Log {
 public:
  Log(FileSystem& fs, std::string dir, std::string prefix);

  // Appends framed records (append_record) as one write.
  Status append(std::string_view records);
  // Makes every appended record durable, the new segment's name included.
  // begin_sync(), run_sync() and end_sync() in turn, on this thread.
  Status sync();

  // A sync in three steps, so that the disk's wait can be spent on another
  // thread (everysec, as Redis hands its fsync to a background thread):
  // begin_sync() takes what sync() would make durable, run_sync() syncs it
  // on any thread while this log goes on appending (what it appends
  // meanwhile waits for the next sync), and end_sync() takes the outcome
  // back. One at a time.
  struct SyncJob {
    std::shared_ptr<AppendFile> file;  // null: no record waits
    std::string dir;                   // set: a segment's name waits
    Status file_status;
    Status dir_status;
  };
  SyncJob begin_sync();
  // Thread-safe given a FileSystem that is (PosixFileSystem is).
  static void run_sync(FileSystem& fs, SyncJob& job);
  Status end_sync(const SyncJob& job);
  // Appended bytes that sync() has not yet covered.
  bool unsynced() const { return unsynced_; }
  // Closes the current segment (the next append opens a new one) and
  // returns the names of every segment closed since the last rotate():
  // they will not change again, so a snapshot may fold them in. Call
  // sync() first for them to be durable.
  std::vector<std::string> rotate();
  // Bytes appended over the log's life, and since the last rotate().
  uint64_t bytes() const { return bytes_; }
  uint64_t bytes_since_rotate() const { return bytes_ - rotated_at_; }
  uint64_t segments() const { return segment_; }

 private:
  Status open_segment();
  // Drops the current segment (it is closed for good).
  void close_segment();
  std::string segment_name() const;

  FileSystem& fs_;
  const std::string dir_;
  const std::string prefix_;
  std::shared_ptr<AppendFile> file_;  // shared with a SyncJob
  uint64_t segment_ = 0;              // the current segment's number
  uint64_t bytes_ = 0;
  uint64_t rotated_at_ = 0;          // bytes_ at the last rotate()
  std::vector<std::string> closed_;  // segments closed since then
  bool unsynced_ = false;
  bool dir_unsynced_ = false;  // a segment was created since the last sync
};

}  // namespace cmud::durable
