#include "cmud/durable/log.h"

#include <zlib.h>

#include <cstring>
#include <utility>

namespace cmud::durable {

Result<Fsync> parse_fsync(std::string_view text) {
  if (text == "always") return Fsync::kAlways;
  if (text == "everysec") return Fsync::kEverySec;
  if (text == "no") return Fsync::kNo;
  return Status(ErrorCode::kInvalidArgument,
                "fsync policy must be always, everysec or no, not '" +
                    std::string(text) + "'");
}

std::string_view fsync_name(Fsync f) {
  switch (f) {
    case Fsync::kAlways:
      return "always";
    case Fsync::kEverySec:
      return "everysec";
    case Fsync::kNo:
      return "no";
  }
  return "?";
}

namespace {

constexpr size_t kHeader = kRecordHeader;

uint32_t checksum(const char* length_bytes, std::string_view payload) {
  uLong crc = crc32_z(0L, reinterpret_cast<const Bytef*>(length_bytes), 4);
  crc = crc32_z(crc, reinterpret_cast<const Bytef*>(payload.data()),
                payload.size());
  return static_cast<uint32_t>(crc);
}

}  // namespace

void seal_record(std::string& buf, size_t at) {
  char* head = buf.data() + at;
  std::string_view payload(head + kHeader, buf.size() - at - kHeader);
  uint32_t length = static_cast<uint32_t>(payload.size());
  std::memcpy(head, &length, 4);
  uint32_t crc = checksum(head, payload);
  std::memcpy(head + 4, &crc, 4);
}

void append_record(std::string& out, std::string_view payload) {
  size_t at = out.size();
  out.append(kHeader, '\0');
  out.append(payload);
  seal_record(out, at);
}

namespace {

// True when a whole record with a good checksum starts somewhere after
// `from`: then the damage at `from` is not a torn end but lost data.
bool record_after(std::string_view bytes, size_t from) {
  for (size_t o = from + 1; o + kHeader <= bytes.size(); ++o) {
    uint32_t length = 0;
    uint32_t crc = 0;
    std::memcpy(&length, bytes.data() + o, 4);
    std::memcpy(&crc, bytes.data() + o + 4, 4);
    if (length <= bytes.size() - o - kHeader &&
        checksum(bytes.data() + o, bytes.substr(o + kHeader, length)) == crc) {
      return true;
    }
  }
  return false;
}

}  // namespace

Parsed parse(std::string_view bytes, std::string_view magic) {
  Parsed p;
  if (bytes.size() < magic.size() || bytes.substr(0, magic.size()) != magic) {
    if (magic.substr(0, bytes.size()) == bytes) {
      if (!bytes.empty()) {
        p.tail = Parsed::Tail::kTorn;
        p.problem = "a file torn at creation";
      }
    } else {
      p.tail = Parsed::Tail::kCorrupt;
      p.problem = "not a " + std::string(magic) + " file";
    }
    return p;
  }
  size_t at = magic.size();
  p.valid_bytes = at;
  while (at < bytes.size()) {
    std::string what;
    uint32_t length = 0;
    uint32_t crc = 0;
    if (bytes.size() - at < kHeader) {
      what = "a record header cut short";
    } else {
      std::memcpy(&length, bytes.data() + at, 4);
      std::memcpy(&crc, bytes.data() + at + 4, 4);
      if (length > kMaxRecordBytes || length > bytes.size() - at - kHeader) {
        what = "a record cut short";
      } else if (checksum(bytes.data() + at,
                          bytes.substr(at + kHeader, length)) != crc) {
        what = "a record failing its checksum";
      }
    }
    if (!what.empty()) {
      // A crash can cut only the end; damage with good records after it is
      // corruption, whatever it looks like.
      p.tail = record_after(bytes, at) ? Parsed::Tail::kCorrupt
                                       : Parsed::Tail::kTorn;
      p.problem = what + " at offset " + std::to_string(at) + " of " +
                  std::to_string(bytes.size()) + " bytes";
      return p;
    }
    p.records.push_back(bytes.substr(at + kHeader, length));
    at += kHeader + length;
    p.valid_bytes = at;
  }
  return p;
}

Log::Log(FileSystem& fs, std::string dir, std::string prefix)
    : fs_(fs), dir_(std::move(dir)), prefix_(std::move(prefix)) {}

std::string Log::segment_name() const {
  return prefix_ + "-" + std::to_string(segment_) + ".log";
}

void Log::close_segment() {
  if (!file_) return;
  file_.reset();
  closed_.push_back(segment_name());
}

std::vector<std::string> Log::rotate() {
  close_segment();
  rotated_at_ = bytes_;
  return std::exchange(closed_, {});
}

Status Log::open_segment() {
  ++segment_;
  auto f = fs_.open_append(dir_ + "/" + segment_name());
  if (!f.ok()) return f.status();
  file_ = std::move(*f);
  dir_unsynced_ = true;
  Status s = file_->append(kLogMagic);
  if (!s.ok()) close_segment();
  return s;
}

Status Log::append(std::string_view records) {
  if (!file_) {
    if (Status s = open_segment(); !s.ok()) return s;
  }
  unsynced_ = true;
  Status s = file_->append(records);
  if (!s.ok()) {
    // The segment may now end in part of a record: never append after it.
    // What it held before is synced if the disk still lets us (best
    // effort: the caller reports the failure either way).
    if (file_->sync().ok() && (!dir_unsynced_ || fs_.sync_dir(dir_).ok())) {
      dir_unsynced_ = false;
    }
    unsynced_ = false;
    close_segment();
    return s;
  }
  bytes_ += records.size();
  return {};
}

Status Log::sync() {
  SyncJob job = begin_sync();
  run_sync(fs_, job);
  return end_sync(job);
}

Log::SyncJob Log::begin_sync() {
  SyncJob job;
  if (file_ && unsynced_) {
    job.file = file_;
  }
  if (dir_unsynced_) job.dir = dir_;
  unsynced_ = false;
  dir_unsynced_ = false;
  return job;
}

void Log::run_sync(FileSystem& fs, SyncJob& job) {
  if (job.file) job.file_status = job.file->sync();
  // After a failed file sync the name waits for the next sync.
  if (!job.dir.empty() && job.file_status.ok()) {
    job.dir_status = fs.sync_dir(job.dir);
  }
}

Status Log::end_sync(const SyncJob& job) {
  if (!job.file_status.ok()) {
    // Its tail is unknown now: never append after it (a new segment
    // starts), unless a rotation closed it meanwhile.
    if (file_ && job.file == file_) close_segment();
    if (!job.dir.empty()) dir_unsynced_ = true;
    return job.file_status;
  }
  if (!job.dir_status.ok()) {
    dir_unsynced_ = true;
    return job.dir_status;
  }
  return {};
}

}  // namespace cmud::durable
