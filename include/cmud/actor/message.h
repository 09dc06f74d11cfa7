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

#include "cmud/actor/actor_ref.h"
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

// A message that expects a reply says so in its type: it names the reply's
// type and carries the ref the reply goes to. System::request fills
// reply_to; Context::reply answers it with the named type.
//
//   struct Get {
//     ActorRef reply_to;
//     using Reply = Count;
//     CMUD_MESSAGE("example.Get", reply_to)
//   };
template <class T>
concept Request = MessageValue<T> && MessageValue<typename T::Reply> &&
    requires(T& t) {
  { t.reply_to } -> std::same_as<ActorRef&>;
};

// The reply as its type: kProtocol when the message is of another type.
template <MessageValue R>
Result<R> reply_as(Result<Message> m) {
  if (!m.ok()) return m.status();
  if (R* r = m->as<R>()) return std::move(*r);
  return Status(ErrorCode::kProtocol,
                "expected a " + std::string(R::kMessageName) + " reply, got " +
                    std::string(m->name()));
}

namespace detail {
// The message type a handler takes (its one parameter, by reference) and
// what it returns (void or Status).
template <class F>
struct Handler : Handler<decltype(&std::remove_cvref_t<F>::operator())> {};
template <class C, class R, class A>
struct Handler<R (C::*)(A&) const> {
  using Arg = std::remove_cv_t<A>;
  using Ret = R;
};
template <class C, class R, class A>
struct Handler<R (C::*)(A&)> {
  using Arg = std::remove_cv_t<A>;
  using Ret = R;
};

template <class F>
bool try_handler(Message& msg, F& f, Status& out) {
  using A = typename Handler<F>::Arg;
  using R = typename Handler<F>::Ret;
  static_assert(MessageValue<A>, "a handler takes one message by reference");
  static_assert(std::is_void_v<R> || std::is_same_v<R, Status>,
                "a handler returns void or Status");
  A* value = msg.as<A>();
  if (value == nullptr) return false;
  if constexpr (std::is_void_v<R>) {
    f(*value);
    out = Status();
  } else {
    out = f(*value);
  }
  return true;
}
}  // namespace detail

// An actor's behaviour as one overload set: runs the first handler whose
// parameter type the message holds and returns its Status (OK for a void
// handler); a message no handler takes is kInvalidArgument.
//
//   Status on_message(Message& msg) override {
//     return match(msg,
//         [&](Add& a) { count_ += a.n; },
//         [&](Get& g) { ctx_.reply(g, Count{count_}); });
//   }
template <class... Fs>
Status match(Message& msg, Fs&&... handlers) {
  Status out;
  if (!(detail::try_handler(msg, handlers, out) || ...)) {
    return Status(ErrorCode::kInvalidArgument,
                  "unexpected message " +
                      std::string(msg.empty() ? "(empty)" : msg.name()));
  }
  return out;
}

}  // namespace cmud::actor
