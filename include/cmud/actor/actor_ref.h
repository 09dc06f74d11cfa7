// ActorRef: a small value naming one actor (or one channel) anywhere.
#pragma once

#include <compare>
#include <cstdint>
#include <functional>
#include <string>

#include "cmud/common/codec.h"

namespace cmud::actor {

// The address of an actor system ("host:port") plus a per-system id.
// Serialisable, so refs travel inside messages. Thread-compatible value.
class ActorRef {
 public:
  ActorRef() = default;
  ActorRef(std::string address, uint64_t id)
      : address_(std::move(address)), id_(id) {}

  // "host:port" of the owning system.
  const std::string& address() const { return address_; }
  uint64_t id() const { return id_; }
  // True for a ref made by System::channel* rather than spawn.
  bool is_channel() const { return (id_ & kChannelBit) != 0; }
  bool valid() const { return id_ != 0; }

  // Globally unique and stable: "host:port/id". Used for LWW tie-breaks.
  std::string uid() const { return address_ + "/" + std::to_string(id_); }

  friend bool operator==(const ActorRef&, const ActorRef&) = default;
  friend auto operator<=>(const ActorRef&, const ActorRef&) = default;

  CMUD_FIELDS(address_, id_)

  static constexpr uint64_t kChannelBit = uint64_t{1} << 63;

 private:
  std::string address_;
  uint64_t id_ = 0;
};

}  // namespace cmud::actor

template <>
struct std::hash<cmud::actor::ActorRef> {
  size_t operator()(const cmud::actor::ActorRef& r) const noexcept {
    return std::hash<std::string>()(r.address()) * 31 +
           std::hash<uint64_t>()(r.id());
  }
};
