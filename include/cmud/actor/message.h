// Messages are plain value structs, registered under a stable name:
//
//   struct Add {
//     int64_t n = 0;
//     CMUD_MESSAGE("counter.Add", n)
//   };
//
// The name (hashed to a 32-bit wire id) identifies the type on the wire, so
// it must never change once shipped. A type the codec cannot encode does not
// satisfy MessageValue, and every API that sends a message requires it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "cmud/common/codec.h"
#include "cmud/common/hash.h"
#include "cmud/common/status.h"

namespace cmud::actor {

#define CMUD_MESSAGE(name, ...)                          \
  static constexpr std::string_view kMessageName = name; \
  CMUD_FIELDS(__VA_ARGS__)

template <class T>
concept MessageValue = codec::Serializable<T> && std::is_object_v<T> &&
    std::movable<T> && std::default_initializable<T> && requires {
  { T::kMessageName } -> std::convertible_to<std::string_view>;
};

// Stable across builds and platforms.
constexpr uint32_t wire_id_of(std::string_view name) { return fnv1a_32(name); }

class Message;

// Everything the runtime needs to know about one message type.
struct MessageType {
  std::string_view name;
  uint32_t wire_id;
  void (*encode)(const void* value, std::string& out);
  size_t (*size)(const void* value);
  Result<Message> (*decode)(std::string_view body);
  // Null when the type has no operator==.
  bool (*equal)(const void* a, const void* b);
};

namespace detail {
// Adds t to the process-wide registry; aborts on two types with one wire id
// (a programming error that must not reach the wire). Thread-safe.
const MessageType* register_message_type(const MessageType* t);
}  // namespace detail

// Looks up a registered type by wire id; null if unknown. Thread-safe.
const MessageType* find_message_type(uint32_t wire_id);

template <MessageValue T>
const MessageType& message_type();

// A type-erased message value. Move-only; thread-compatible (one owner).
class Message {
 public:
  Message() = default;
  Message(Message&&) noexcept = default;
  Message& operator=(Message&&) noexcept = default;

  template <MessageValue T>
  static Message make(T value) {
    Message m;
    m.box_ = std::make_unique<Model<T>>(std::move(value));
    return m;
  }

  bool empty() const { return box_ == nullptr; }
  // REQUIRES: !empty().
  const MessageType& type() const { return *box_->type; }
  std::string_view name() const { return box_->type->name; }

  // The value if this message holds a T, else null.
  template <MessageValue T>
  T* as() {
    if (box_ && box_->type == &message_type<T>()) {
      return &static_cast<Model<T>*>(box_.get())->value;
    }
    return nullptr;
  }
  template <MessageValue T>
  const T* as() const {
    return const_cast<Message*>(this)->as<T>();
  }
  template <MessageValue T>
  bool is() const {
    return as<T>() != nullptr;
  }

  // REQUIRES: !empty().
  void encode_body(std::string& out) const { type().encode(box_->ptr(), out); }
  size_t encoded_size() const { return type().size(box_->ptr()); }
  // Equal values of one type; false when the type has no operator==.
  bool equals(const Message& other) const {
    return box_ && other.box_ && box_->type == other.box_->type &&
           type().equal != nullptr &&
           type().equal(box_->ptr(), other.box_->ptr());
  }

  // Decodes a body sent under wire_id (kDecode / kNotFound on failure).
  static Result<Message> decode(uint32_t wire_id, std::string_view body);

 private:
  struct Box {
    explicit Box(const MessageType* t) : type(t) {}
    virtual ~Box() = default;
    virtual const void* ptr() const = 0;
    const MessageType* type;
  };
  template <class T>
  struct Model final : Box {
    explicit Model(T v) : Box(&message_type<T>()), value(std::move(v)) {}
    const void* ptr() const override { return &value; }
    T value;
  };

  std::unique_ptr<Box> box_;
};

namespace detail {

template <MessageValue T>
struct TypeOps {
  static void encode(const void* v, std::string& out) {
    ::cmud::codec::encode(*static_cast<const T*>(v), out);
  }
  static size_t size(const void* v) {
    return codec::encoded_size(*static_cast<const T*>(v));
  }
  static Result<Message> decode(std::string_view body) {
    auto r = ::cmud::codec::decode<T>(body);
    if (!r.ok()) {
      return Status(ErrorCode::kDecode, std::string("cannot decode message ") +
                                            std::string(T::kMessageName));
    }
    return Message::make<T>(std::move(r).value());
  }
  static bool equal(const void* a, const void* b) {
    if constexpr (std::equality_comparable<T>) {
      return *static_cast<const T*>(a) == *static_cast<const T*>(b);
    } else {
      return false;
    }
  }
  static constexpr MessageType kType{
      T::kMessageName, wire_id_of(T::kMessageName),
      &encode,         &size,
      &decode,         std::equality_comparable<T> ? &equal : nullptr};
};

// Registers T during static initialisation, so a process that can receive T
// (because it names T anywhere) can decode it before main runs.
template <MessageValue T>
inline const MessageType* const kAutoRegistered = &message_type<T>();

}  // namespace detail

template <MessageValue T>
const MessageType& message_type() {
  static const MessageType* const type =
      detail::register_message_type(&detail::TypeOps<T>::kType);
  (void)&detail::kAutoRegistered<T>;
  return *type;
}

}  // namespace cmud::actor
