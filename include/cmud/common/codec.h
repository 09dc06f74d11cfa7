// The codec: a small inspector in the style of CAF's `inspect`, shared by
// actor messages (actor/message.h) and the replicated store's types (kv).
//
// A value type describes its fields once with CMUD_FIELDS(a, b, ...) (or
// CMUD_MESSAGE for a message, see message.h); the same description drives
// encoding, decoding and size counting. Integers are fixed-width
// little-endian, lengths are LEB128 varints. Decoding never trusts a length:
// every count is checked against the bytes that remain, so a garbage frame
// fails cleanly instead of allocating gigabytes.
#pragma once

#include <array>
#include <bit>
#include <concepts>
#include <cstdint>
#include <cstring>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "cmud/common/status.h"

static_assert(std::endian::native == std::endian::little,
              "the codec writes host-order integers; port it for big-endian");

namespace cmud::codec {

// Appends encoded bytes to a string. Thread-compatible.
class Writer {
 public:
  explicit Writer(std::string& out) : out_(out) {}

  void raw(const void* data, size_t n) {
    out_.append(static_cast<const char*>(data), n);
  }
  template <class T>
  requires std::is_arithmetic_v<T>
  void fixed(T v) { raw(&v, sizeof v); }
  void varint(uint64_t v) {
    char buf[10];
    size_t n = 0;
    while (v >= 0x80) {
      buf[n++] = static_cast<char>((v & 0x7f) | 0x80);
      v >>= 7;
    }
    buf[n++] = static_cast<char>(v);
    out_.append(buf, n);
  }
  void bytes(std::string_view s) {
    varint(s.size());
    out_.append(s.data(), s.size());
  }

 private:
  std::string& out_;
};

// Reads from a byte range; the first failure sticks. Thread-compatible.
class Reader {
 public:
  explicit Reader(std::string_view in) : p_(in.data()), end_(p_ + in.size()) {}

  bool ok() const { return ok_; }
  size_t remaining() const { return static_cast<size_t>(end_ - p_); }
  bool fail() {
    ok_ = false;
    p_ = end_;
    return false;
  }

  bool raw(void* data, size_t n) {
    if (!ok_ || remaining() < n) return fail();
    std::memcpy(data, p_, n);
    p_ += n;
    return true;
  }
  template <class T>
  requires std::is_arithmetic_v<T>
  bool fixed(T& v) { return raw(&v, sizeof v); }
  bool varint(uint64_t& v) {
    v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (!ok_ || p_ == end_) return fail();
      auto byte = static_cast<uint8_t>(*p_++);
      v |= static_cast<uint64_t>(byte & 0x7f) << shift;
      if ((byte & 0x80) == 0) return true;
    }
    return fail();
  }
  // A count of items each at least one byte long: never more than remain.
  bool count(uint64_t& n) { return varint(n) && (n <= remaining() || fail()); }
  bool bytes(std::string& s) {
    uint64_t n = 0;
    if (!count(n)) return false;
    s.assign(p_, n);
    p_ += n;
    return true;
  }
  // Zero-copy view into the input. REQUIRES: the input outlives the view.
  bool view(std::string_view& s) {
    uint64_t n = 0;
    if (!count(n)) return false;
    s = std::string_view(p_, n);
    p_ += n;
    return true;
  }

 private:
  const char* p_;
  const char* end_;
  bool ok_ = true;
};

template <class T>
struct Codec;  // specialised below for every supported type

// A type the codec can encode and decode. Plain structs opt in with
// CMUD_FIELDS; anything else (raw pointers, handles, functions) is rejected at
// compile time wherever a message is required.
template <class T>
concept Serializable = requires(const T& c, T& m, Writer& w, Reader& r) {
  {Codec<T>::encode(w, c)};
  { Codec<T>::decode(r, m) } -> std::same_as<bool>;
  { Codec<T>::size(c) } -> std::same_as<size_t>;
};

namespace detail {

inline size_t varint_size(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

// Visitors handed to a type's fields() function.
struct EncodeFields {
  Writer& w;
  template <Serializable... Ts>
  bool operator()(const Ts&... fs) const {
    (Codec<Ts>::encode(w, fs), ...);
    return true;
  }
};
struct DecodeFields {
  Reader& r;
  template <Serializable... Ts>
  bool operator()(Ts&... fs) const {
    return (Codec<Ts>::decode(r, fs) && ...);
  }
};
struct SizeFields {
  size_t& n;
  template <Serializable... Ts>
  bool operator()(const Ts&... fs) const {
    ((n += Codec<Ts>::size(fs)), ...);
    return true;
  }
};

template <class Tuple>
struct AllSerializable : std::false_type {};
template <class... Ts>
struct AllSerializable<std::tuple<Ts...>>
    : std::bool_constant<(Serializable<std::remove_cvref_t<Ts>> && ...)> {};

// A struct that lists its fields, every one of them serialisable.
template <class T>
concept HasFields = requires(T& m, const T& c, DecodeFields d, EncodeFields e) {
  { m.cmud_fields(d) } -> std::same_as<bool>;
  { c.cmud_fields(e) } -> std::same_as<bool>;
  c.cmud_tie();
}
&&AllSerializable<decltype(std::declval<const T&>().cmud_tie())>::value;

}  // namespace detail

// Declares the serialisable fields of a struct, in wire order. Put it inside
// the struct body: `struct Pos { int x; int y; CMUD_FIELDS(x, y) };`
#define CMUD_FIELDS(...)                   \
  template <class CmudF>                   \
  bool cmud_fields(CmudF&& cmud_f) {       \
    return cmud_f(__VA_ARGS__);            \
  }                                        \
  template <class CmudF>                   \
  bool cmud_fields(CmudF&& cmud_f) const { \
    return cmud_f(__VA_ARGS__);            \
  }                                        \
  auto cmud_tie() const { return std::tie(__VA_ARGS__); }

template <class T>
requires(std::is_arithmetic_v<T> || std::is_enum_v<T>) struct Codec<T> {
  using U = std::conditional_t<std::is_same_v<T, bool>, uint8_t, T>;
  static void encode(Writer& w, const T& v) {
    if constexpr (std::is_enum_v<T>) {
      w.fixed(static_cast<std::underlying_type_t<T>>(v));
    } else {
      w.fixed(static_cast<U>(v));
    }
  }
  static bool decode(Reader& r, T& v) {
    if constexpr (std::is_enum_v<T>) {
      std::underlying_type_t<T> u{};
      if (!r.fixed(u)) return false;
      v = static_cast<T>(u);
      return true;
    } else if constexpr (std::is_same_v<T, bool>) {
      uint8_t u = 0;
      if (!r.fixed(u) || u > 1) return r.fail();
      v = u != 0;
      return true;
    } else {
      return r.fixed(v);
    }
  }
  static size_t size(const T&) { return sizeof(U); }
};

template <>
struct Codec<std::string> {
  static void encode(Writer& w, const std::string& v) { w.bytes(v); }
  static bool decode(Reader& r, std::string& v) { return r.bytes(v); }
  static size_t size(const std::string& v) {
    return detail::varint_size(v.size()) + v.size();
  }
};

template <Serializable T>
struct Codec<std::optional<T>> {
  static void encode(Writer& w, const std::optional<T>& v) {
    w.fixed<uint8_t>(v ? 1 : 0);
    if (v) Codec<T>::encode(w, *v);
  }
  static bool decode(Reader& r, std::optional<T>& v) {
    uint8_t has = 0;
    if (!r.fixed(has) || has > 1) return r.fail();
    if (!has) {
      v.reset();
      return true;
    }
    v.emplace();
    return Codec<T>::decode(r, *v);
  }
  static size_t size(const std::optional<T>& v) {
    return 1 + (v ? Codec<T>::size(*v) : 0);
  }
};

template <Serializable A, Serializable B>
struct Codec<std::pair<A, B>> {
  static void encode(Writer& w, const std::pair<A, B>& v) {
    Codec<A>::encode(w, v.first);
    Codec<B>::encode(w, v.second);
  }
  static bool decode(Reader& r, std::pair<A, B>& v) {
    return Codec<A>::decode(r, v.first) && Codec<B>::decode(r, v.second);
  }
  static size_t size(const std::pair<A, B>& v) {
    return Codec<A>::size(v.first) + Codec<B>::size(v.second);
  }
};

namespace detail {
// Shared by every container: count, then the elements.
template <class C, class Elem>
struct SequenceCodec {
  static void encode(Writer& w, const C& v) {
    w.varint(v.size());
    for (const auto& e : v) Codec<Elem>::encode(w, e);
  }
  static size_t size(const C& v) {
    size_t n = varint_size(v.size());
    for (const auto& e : v) n += Codec<Elem>::size(e);
    return n;
  }
};
}  // namespace detail

// vector<bool> is left out: its proxy elements cannot be decoded into.
template <Serializable T>
requires(!std::is_same_v<T, bool>) struct Codec<std::vector<T>>
    : detail::SequenceCodec<std::vector<T>, T> {
  static bool decode(Reader& r, std::vector<T>& v) {
    // Elements that encode to nothing (structs without fields) cannot be
    // bounded by the bytes that remain, so they get a fixed cap.
    constexpr uint64_t kMaxEmpty = uint64_t{1} << 20;
    uint64_t n = 0;
    if (Codec<T>::size(T{}) == 0) {
      if (!r.varint(n) || n > kMaxEmpty) return r.fail();
    } else if (!r.count(n)) {
      return false;
    }
    v.clear();
    v.reserve(n);
    for (uint64_t i = 0; i < n; ++i) {
      if (!Codec<T>::decode(r, v.emplace_back())) return false;
    }
    return true;
  }
};

namespace detail {
template <class M>
struct MapCodec {
  using K = typename M::key_type;
  using V = typename M::mapped_type;
  static void encode(Writer& w, const M& v) {
    w.varint(v.size());
    for (const auto& [k, x] : v) {
      Codec<K>::encode(w, k);
      Codec<V>::encode(w, x);
    }
  }
  static size_t size(const M& v) {
    size_t n = varint_size(v.size());
    for (const auto& [k, x] : v) n += Codec<K>::size(k) + Codec<V>::size(x);
    return n;
  }
  static bool decode(Reader& r, M& v) {
    uint64_t n = 0;
    if (!r.count(n)) return false;
    v.clear();
    for (uint64_t i = 0; i < n; ++i) {
      std::pair<typename M::key_type, typename M::mapped_type> kv;
      if (!Codec<decltype(kv)>::decode(r, kv)) return false;
      v.insert_or_assign(std::move(kv.first), std::move(kv.second));
    }
    return true;
  }
};
}  // namespace detail

template <Serializable K, Serializable V>
struct Codec<std::map<K, V>> : detail::MapCodec<std::map<K, V>> {};
template <Serializable K, Serializable V>
struct Codec<std::unordered_map<K, V>>
    : detail::MapCodec<std::unordered_map<K, V>> {};

template <detail::HasFields T>
struct Codec<T> {
  static void encode(Writer& w, const T& v) {
    (void)v.cmud_fields(detail::EncodeFields{w});
  }
  static bool decode(Reader& r, T& v) {
    return v.cmud_fields(detail::DecodeFields{r});
  }
  static size_t size(const T& v) {
    size_t n = 0;
    (void)v.cmud_fields(detail::SizeFields{n});
    return n;
  }
};

// Appends v's encoding to out.
template <Serializable T>
void encode(const T& v, std::string& out) {
  Writer w(out);
  Codec<T>::encode(w, v);
}

// Decodes exactly one T spanning all of in.
template <Serializable T>
Result<T> decode(std::string_view in) {
  Reader r(in);
  T v{};
  if (!Codec<T>::decode(r, v) || r.remaining() != 0) {
    return Status(ErrorCode::kDecode, "bytes do not decode as the type");
  }
  return v;
}

// The exact number of bytes encode() would append.
template <Serializable T>
size_t encoded_size(const T& v) {
  return Codec<T>::size(v);
}

}  // namespace cmud::codec
