#include "cmud/actor/message.h"

#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <shared_mutex>
#include <unordered_map>

namespace cmud::actor {
namespace {

// Written during static initialisation (and on first use of a type), read
// on every remote receive.
struct Registry {
  std::shared_mutex mu;
  std::unordered_map<uint32_t, const MessageType*> by_wire;
};

Registry& registry() {
  static Registry r;
  return r;
}

}  // namespace

namespace detail {

const MessageType* register_message_type(const MessageType* t) {
  auto& r = registry();
  std::unique_lock lock(r.mu);
  auto [it, inserted] = r.by_wire.emplace(t->wire_id, t);
  if (!inserted && it->second != t) {
    std::fprintf(stderr,
                 "cmud: message types '%.*s' and '%.*s' share wire id %u; "
                 "rename one\n",
                 static_cast<int>(t->name.size()), t->name.data(),
                 static_cast<int>(it->second->name.size()),
                 it->second->name.data(), t->wire_id);
    std::abort();
  }
  return t;
}

}  // namespace detail

const MessageType* find_message_type(uint32_t wire_id) {
  auto& r = registry();
  std::shared_lock lock(r.mu);
  auto it = r.by_wire.find(wire_id);
  return it == r.by_wire.end() ? nullptr : it->second;
}

Result<Message> Message::decode(uint32_t wire_id, std::string_view body) {
  const MessageType* t = find_message_type(wire_id);
  if (t == nullptr) {
    return Status(ErrorCode::kDecode,
                  "unknown message wire id " + std::to_string(wire_id));
  }
  return t->decode(body);
}

}  // namespace cmud::actor
