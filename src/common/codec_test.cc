// Unit tests for the codec (codec.h): round trips of every supported type,
// the wire format, exact size counting, and clean failure on truncated,
// padded, oversized and random input. Messages: src/actor/message_test.cc.
#include "cmud/common/codec.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "cmud/common/hash.h"
#include "cmud/common/status.h"

namespace cmud::codec {
namespace {

// ---------------------------------------------------------------------------
// Test value types.

enum class Color : uint8_t { kRed = 1, kGreen = 2, kBlue = 200 };
enum class Wide : int64_t {
  kLow = std::numeric_limits<int64_t>::min(),
  kHigh = std::numeric_limits<int64_t>::max(),
};
enum Plain { kPlainA, kPlainB = 7 };

// Shaped like actor::Ref (private fields, a string and an id).
class Ref {
 public:
  Ref() = default;
  Ref(std::string address, uint64_t id)
      : address_(std::move(address)), id_(id) {}
  bool operator==(const Ref&) const = default;
  CMUD_FIELDS(address_, id_)

 private:
  std::string address_;
  uint64_t id_ = 0;
};

struct Inner {
  int32_t x = 0;
  std::string s;
  bool operator==(const Inner&) const = default;
  CMUD_FIELDS(x, s)
};

struct Outer {
  uint8_t tag = 0;
  Inner inner;
  std::vector<Inner> list;
  std::optional<Inner> maybe;
  std::map<std::string, Inner> by_name;
  std::unordered_map<uint64_t, std::vector<std::string>> by_id;
  std::pair<Color, double> pair{Color::kRed, 0.0};
  Ref ref;
  bool flag = false;
  bool operator==(const Outer&) const = default;
  CMUD_FIELDS(tag, inner, list, maybe, by_name, by_id, pair, ref, flag)
};

struct Empty {
  bool operator==(const Empty&) const = default;
  CMUD_FIELDS()
};

Outer sample_outer() {
  Outer o;
  o.tag = 0xab;
  o.inner = {-5, std::string("in\0ner", 6)};
  o.list = {{1, "one"}, {2, ""}, {std::numeric_limits<int32_t>::min(), "min"}};
  o.maybe = Inner{7, "seven"};
  o.by_name = {{"a", {1, "x"}}, {"", {2, "y"}}, {"zz", {3, ""}}};
  o.by_id = {
      {1, {"p", "q"}}, {~uint64_t{0}, {}}, {42, {std::string(200, 'z')}}};
  o.pair = {Color::kBlue, -2.5};
  o.ref = Ref("127.0.0.1:4000", 17);
  o.flag = true;
  return o;
}

// ---------------------------------------------------------------------------
// Helpers.

template <class T>
std::string encoded(const T& v) {
  std::string out;
  encode(v, out);
  return out;
}

// Encodes v, checks encoded_size against the real length, decodes it back.
template <class T>
T round_trip(const T& v) {
  std::string bytes = encoded(v);
  EXPECT_EQ(encoded_size(v), bytes.size());
  Result<T> r = decode<T>(bytes);
  EXPECT_TRUE(r.ok()) << r.status().to_string();
  return r.ok() ? std::move(r).value() : T{};
}

template <class T>
void expect_round_trip(const T& v) {
  EXPECT_EQ(round_trip(v), v);
}

// Decodes a private heap copy of exactly `bytes`, so that an address
// sanitizer build catches any read past the end.
template <class T>
Result<T> decode_exact_copy(std::string_view bytes) {
  auto buf = std::make_unique<char[]>(bytes.size());
  std::copy(bytes.begin(), bytes.end(), buf.get());
  return decode<T>(std::string_view(buf.get(), bytes.size()));
}

template <class T>
void expect_decode_fails(std::string_view bytes) {
  Result<T> r = decode_exact_copy<T>(bytes);
  ASSERT_FALSE(r.ok()) << "decoded " << bytes.size() << " bad bytes";
  EXPECT_EQ(r.status().code(), ErrorCode::kDecode);
}

// Every strict prefix of a valid encoding must fail, and so must the
// encoding with a trailing byte.
template <class T>
void expect_prefixes_and_padding_fail(const T& v) {
  std::string bytes = encoded(v);
  for (size_t n = 0; n < bytes.size(); ++n) {
    SCOPED_TRACE("prefix of " + std::to_string(n) + " of " +
                 std::to_string(bytes.size()) + " bytes");
    expect_decode_fails<T>(std::string_view(bytes).substr(0, n));
  }
  expect_decode_fails<T>(bytes + '\0');
  expect_decode_fails<T>(bytes + "trailing");
}

std::string varint_bytes(uint64_t v) {
  std::string out;
  Writer(out).varint(v);
  return out;
}

template <class T>
void expect_integer_limits_round_trip() {
  using L = std::numeric_limits<T>;
  for (T v : {L::min(), L::max(), T{0}, T{1}, static_cast<T>(L::max() - 1),
              static_cast<T>(L::min() + 1)}) {
    EXPECT_EQ(round_trip(v), v);
    EXPECT_EQ(encoded(v).size(), sizeof(T));
  }
  expect_prefixes_and_padding_fail(L::max());
}

// ---------------------------------------------------------------------------
// Round trips.

TEST(Codec, IntegersRoundTripIncludingMinAndMax) {
  expect_integer_limits_round_trip<int8_t>();
  expect_integer_limits_round_trip<uint8_t>();
  expect_integer_limits_round_trip<int16_t>();
  expect_integer_limits_round_trip<uint16_t>();
  expect_integer_limits_round_trip<int32_t>();
  expect_integer_limits_round_trip<uint32_t>();
  expect_integer_limits_round_trip<int64_t>();
  expect_integer_limits_round_trip<uint64_t>();
  expect_integer_limits_round_trip<char>();
  expect_integer_limits_round_trip<char16_t>();
  EXPECT_EQ(round_trip(int64_t{-1}), -1);
}

TEST(Codec, BoolRoundTripsAsOneByte) {
  EXPECT_EQ(encoded(true), std::string("\x01", 1));
  EXPECT_EQ(encoded(false), std::string("\x00", 1));
  EXPECT_TRUE(round_trip(true));
  EXPECT_FALSE(round_trip(false));
  EXPECT_EQ(encoded_size(true), 1u);
}

TEST(Codec, DoubleAndFloatRoundTripBitExactly) {
  using D = std::numeric_limits<double>;
  for (double v : {0.0, -0.0, 1.5, -1e308, D::min(), D::denorm_min(), D::max(),
                   D::lowest(), D::infinity(), -D::infinity(), D::quiet_NaN(),
                   D::epsilon()}) {
    EXPECT_EQ(std::bit_cast<uint64_t>(round_trip(v)),
              std::bit_cast<uint64_t>(v))
        << v;
  }
  using F = std::numeric_limits<float>;
  for (float v : {0.0f, -0.0f, 3.25f, F::denorm_min(), F::max(), F::lowest(),
                  F::infinity(), F::quiet_NaN()}) {
    EXPECT_EQ(std::bit_cast<uint32_t>(round_trip(v)),
              std::bit_cast<uint32_t>(v))
        << v;
  }
  EXPECT_EQ(encoded(1.0).size(), 8u);
  EXPECT_EQ(encoded(1.0f).size(), 4u);
}

TEST(Codec, EnumsRoundTripAsTheirUnderlyingType) {
  expect_round_trip(Color::kRed);
  expect_round_trip(Color::kBlue);
  expect_round_trip(static_cast<Color>(77));  // not a named enumerator
  expect_round_trip(Wide::kLow);
  expect_round_trip(Wide::kHigh);
  expect_round_trip(kPlainB);
  EXPECT_EQ(encoded(Color::kBlue), "\xc8");
  EXPECT_EQ(encoded(Wide::kHigh).size(), 8u);
  EXPECT_EQ(encoded_size(Color::kGreen), 1u);
  expect_prefixes_and_padding_fail(Wide::kLow);
}

TEST(Codec, StringsWithBinaryBytesAndNulsRoundTrip) {
  expect_round_trip(std::string());
  expect_round_trip(std::string("hello"));
  expect_round_trip(std::string("\0", 1));
  expect_round_trip(std::string("a\0b\0\0c", 6));
  std::string all_bytes;
  for (int i = 0; i < 256; ++i) all_bytes.push_back(static_cast<char>(i));
  expect_round_trip(all_bytes);
  expect_round_trip(all_bytes + all_bytes + all_bytes);
  expect_prefixes_and_padding_fail(all_bytes);
}

TEST(Codec, StringLengthsAcrossVarintBoundariesRoundTrip) {
  // Sizes where the LEB128 length grows by a byte.
  const std::pair<size_t, size_t> cases[] = {
      {0, 1},     {1, 1},     {127, 1},     {128, 2},
      {16383, 2}, {16384, 3}, {2097151, 3}, {2097152, 4},
  };
  for (auto [len, varint_len] : cases) {
    std::string s(len, 'q');
    if (len > 0) s[len / 2] = '\0';
    EXPECT_EQ(encoded_size(s), len + varint_len) << len;
    EXPECT_EQ(round_trip(s), s) << len;
  }
}

TEST(Codec, VectorsRoundTrip) {
  expect_round_trip(std::vector<int32_t>{});
  expect_round_trip(std::vector<int32_t>{1, -2, 3});
  expect_round_trip(std::vector<std::string>{"", "a", std::string(300, 'b')});
  expect_round_trip(std::vector<std::vector<uint8_t>>{{}, {1, 2}, {255}});
  std::vector<uint16_t> big(300);
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<uint16_t>(i * 7);
  expect_round_trip(big);
  EXPECT_EQ(encoded_size(big), 2 + 2 * big.size());
  expect_round_trip(
      std::vector<std::optional<bool>>{true, std::nullopt, false});
  expect_prefixes_and_padding_fail(
      std::vector<std::string>{"x", "", std::string(130, 'y')});
}

TEST(Codec, DecodingIntoAVectorReplacesItsContents) {
  std::vector<int32_t> v = {9, 9, 9, 9};
  const std::string bytes = encoded(std::vector<int32_t>{1, 2});
  Reader r(bytes);
  ASSERT_TRUE(Codec<std::vector<int32_t>>::decode(r, v));
  EXPECT_EQ(v, (std::vector<int32_t>{1, 2}));
}

TEST(Codec, OptionalsRoundTrip) {
  expect_round_trip(std::optional<int64_t>());
  expect_round_trip(std::optional<int64_t>(-9));
  expect_round_trip(std::optional<std::string>(""));
  expect_round_trip(std::optional<std::string>(std::string("\0x", 2)));
  expect_round_trip(std::optional<std::optional<int8_t>>());
  expect_round_trip(std::optional<std::optional<int8_t>>(std::nullopt));
  expect_round_trip(std::optional<std::optional<int8_t>>(int8_t{3}));
  EXPECT_EQ(encoded(std::optional<int8_t>()), std::string("\x00", 1));
  EXPECT_EQ(encoded(std::optional<int8_t>(5)), std::string("\x01\x05", 2));
  EXPECT_EQ(encoded_size(std::optional<int64_t>()), 1u);
  EXPECT_EQ(encoded_size(std::optional<int64_t>(1)), 9u);
  expect_prefixes_and_padding_fail(std::optional<std::string>("abc"));
}

TEST(Codec, DecodingNulloptResetsAnEngagedOptional) {
  std::optional<int32_t> v = 5;
  const std::string bytes = encoded(std::optional<int32_t>());
  Reader r(bytes);
  ASSERT_TRUE(Codec<std::optional<int32_t>>::decode(r, v));
  EXPECT_EQ(v, std::nullopt);
}

TEST(Codec, MapsRoundTrip) {
  expect_round_trip(std::map<std::string, int32_t>{});
  expect_round_trip(std::map<std::string, int32_t>{{"a", 1}, {"", -1}});
  expect_round_trip(std::map<int64_t, std::vector<std::string>>{
      {std::numeric_limits<int64_t>::min(), {"x"}}, {0, {}}, {5, {"", ""}}});
  std::unordered_map<uint64_t, std::string> um;
  for (uint64_t i = 0; i < 200; ++i) um[i * 0x9e3779b97f4a7c15ull] = "v";
  expect_round_trip(um);
  expect_round_trip(std::unordered_map<std::string, std::optional<bool>>{
      {"t", true}, {"n", std::nullopt}});
  expect_prefixes_and_padding_fail(
      std::map<std::string, std::string>{{"k1", "v1"}, {"k2", ""}});
}

TEST(Codec, PairsRoundTrip) {
  expect_round_trip(std::pair<int32_t, std::string>(4, "four"));
  expect_round_trip(
      std::pair<std::string, std::pair<bool, double>>("nested", {true, 0.25}));
  EXPECT_EQ(encoded(std::pair<uint8_t, uint8_t>(1, 2)), "\x01\x02");
  expect_prefixes_and_padding_fail(std::pair<std::string, int16_t>("p", 3));
}

TEST(Codec, NestedFieldStructsRoundTrip) {
  expect_round_trip(Inner{});
  expect_round_trip(Inner{-1, "x"});
  expect_round_trip(Outer{});
  Outer o = sample_outer();
  expect_round_trip(o);
  expect_round_trip(std::vector<Outer>{o, Outer{}, o});
  expect_round_trip(std::map<std::string, Outer>{{"o", o}});
}

TEST(Codec, StructFieldsAreEncodedInDeclarationOrderWithoutFraming) {
  Inner in{0x01020304, "hi"};
  EXPECT_EQ(encoded(in), std::string("\x04\x03\x02\x01\x02hi", 7));
  EXPECT_EQ(encoded_size(in), 7u);
}

TEST(Codec, PrivateFieldsListedInsideTheClassRoundTrip) {
  expect_round_trip(Ref());
  expect_round_trip(Ref("127.0.0.1:4000", 42));
  expect_round_trip(Ref(std::string(500, 'h'), ~uint64_t{0}));
  EXPECT_EQ(encoded(Ref("h:1", 2)),
            std::string("\x03h:1\x02\0\0\0\0\0\0\0", 12));
  expect_prefixes_and_padding_fail(Ref("host:9", 123456789));
}

TEST(Codec, EncodeAppendsToExistingBytes) {
  std::string out = "prefix";
  encode(int16_t{0x0102}, out);
  encode(std::string("ab"), out);
  EXPECT_EQ(out,
            "prefix\x02\x01\x02"
            "ab");
}

TEST(Codec, WireFormatIsLittleEndianIntegersAndLeb128Lengths) {
  EXPECT_EQ(encoded(int32_t{0x01020304}), "\x04\x03\x02\x01");
  EXPECT_EQ(encoded(uint16_t{0xbeef}), "\xef\xbe");
  EXPECT_EQ(encoded(int8_t{-1}), "\xff");
  EXPECT_EQ(encoded(std::string("hi")), "\x02hi");
  EXPECT_EQ(encoded(std::string(300, 'x')).substr(0, 2), "\xac\x02");
  EXPECT_EQ(encoded(std::vector<int16_t>{1, 2}),
            std::string("\x02\x01\x00\x02\x00", 5));
  EXPECT_EQ(varint_bytes(0), std::string("\x00", 1));
  EXPECT_EQ(varint_bytes(127), "\x7f");
  EXPECT_EQ(varint_bytes(128), "\x80\x01");
  EXPECT_EQ(varint_bytes(~uint64_t{0}),
            "\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01");
}

TEST(Codec, EncodedSizeEqualsEncodedLength) {
  EXPECT_EQ(encoded_size(int32_t{1}), 4u);
  EXPECT_EQ(encoded_size(std::string("abc")), 4u);
  EXPECT_EQ(encoded_size(std::string(128, 'a')), 130u);
  EXPECT_EQ(encoded_size(std::vector<int16_t>{1, 2, 3}), 7u);
  EXPECT_EQ(encoded_size(std::map<std::string, bool>{{"k", true}}), 4u);
  Outer o = sample_outer();
  EXPECT_EQ(encoded_size(o), encoded(o).size());
  EXPECT_EQ(encoded_size(Outer{}), encoded(Outer{}).size());
  std::vector<Outer> many(130, o);  // a two-byte count
  EXPECT_EQ(encoded_size(many), encoded(many).size());
}

// ---------------------------------------------------------------------------
// Bad input.

TEST(Codec, EveryTruncatedPrefixOfANestedStructFailsCleanly) {
  expect_prefixes_and_padding_fail(sample_outer());
  expect_prefixes_and_padding_fail(Outer{});
  expect_prefixes_and_padding_fail(std::vector<Outer>{sample_outer(), {}});
}

TEST(Codec, EmptyInputFailsForEveryType) {
  expect_decode_fails<int32_t>("");
  expect_decode_fails<bool>("");
  expect_decode_fails<std::string>("");
  expect_decode_fails<std::vector<int8_t>>("");
  expect_decode_fails<std::optional<int8_t>>("");
  expect_decode_fails<std::map<int8_t, int8_t>>("");
  expect_decode_fails<Ref>("");
  expect_decode_fails<Outer>("");
}

TEST(Codec, TrailingBytesFail) {
  expect_decode_fails<int32_t>(std::string("\x01\x00\x00\x00\x00", 5));
  expect_decode_fails<std::string>("\x01xy");
  expect_decode_fails<std::vector<uint8_t>>(std::string("\x00\x00", 2));
  expect_decode_fails<bool>(std::string("\x01\x01", 2));
}

TEST(Codec, BoolByteOtherThanZeroOrOneFails) {
  expect_decode_fails<bool>("\x02");
  expect_decode_fails<bool>("\xff");
  expect_decode_fails<std::optional<int8_t>>("\x02\x05");
  expect_decode_fails<std::vector<std::pair<int8_t, bool>>>("\x01\x05\x02");
  expect_decode_fails<std::optional<bool>>("\x01\x02");
  // The last field of Outer is a bool.
  std::string bytes = encoded(sample_outer());
  bytes.back() = '\x02';
  expect_decode_fails<Outer>(bytes);
}

TEST(Codec, HugeVarintLengthFailsWithoutAllocating) {
  // A claim of 2^60 bytes (or items) followed by a few real bytes. A decoder
  // that trusted the count would throw bad_alloc / length_error or exhaust
  // memory; this one must fail cleanly.
  const std::string huge = varint_bytes(uint64_t{1} << 60) + "abc";
  EXPECT_NO_THROW(expect_decode_fails<std::string>(huge));
  EXPECT_NO_THROW(expect_decode_fails<std::vector<uint8_t>>(huge));
  EXPECT_NO_THROW(expect_decode_fails<std::vector<uint64_t>>(huge));
  EXPECT_NO_THROW((expect_decode_fails<std::map<uint8_t, uint8_t>>(huge)));
  EXPECT_NO_THROW(
      (expect_decode_fails<std::unordered_map<std::string, bool>>(huge)));
  const std::string max = varint_bytes(~uint64_t{0}) + "abc";
  EXPECT_NO_THROW(expect_decode_fails<std::string>(max));
  EXPECT_NO_THROW(expect_decode_fails<std::vector<std::string>>(max));
  // The same claim deep inside a struct: the length of Outer::inner.s.
  std::string nested = encoded(uint8_t{1}) + encoded(int32_t{2}) + huge;
  EXPECT_NO_THROW(expect_decode_fails<Outer>(nested));
  // One more byte than remains.
  EXPECT_NO_THROW(
      expect_decode_fails<std::string>("\x04"
                                       "abc"));
}

TEST(Codec, OverlongOrUnterminatedVarintFails) {
  // Eleven continuation bytes: longer than any 64-bit varint.
  expect_decode_fails<std::string>(std::string(11, '\xff') + "x");
  // Continuation bit set on the last byte of the input.
  expect_decode_fails<std::string>("\x80");
  expect_decode_fails<std::vector<int8_t>>("\xff\xff");
}

TEST(Codec, RandomGarbageNeverCrashes) {
  std::mt19937 rng(20240521);
  // Small byte values are favoured so that lengths and counts often fit.
  std::uniform_int_distribution<int> len_dist(0, 48);
  std::uniform_int_distribution<int> kind(0, 3);
  std::uniform_int_distribution<int> any_byte(0, 255);
  std::uniform_int_distribution<int> small_byte(0, 4);
  auto garbage = [&] {
    std::string s(static_cast<size_t>(len_dist(rng)), '\0');
    for (char& c : s) {
      c = static_cast<char>(kind(rng) == 0 ? any_byte(rng) : small_byte(rng));
    }
    return s;
  };
  int decoded = 0;
  for (int i = 0; i < 4000; ++i) {
    std::string g = garbage();
    decoded += decode_exact_copy<std::string>(g).ok();
    decoded += decode_exact_copy<std::vector<std::string>>(g).ok();
    decoded +=
        decode_exact_copy<std::map<std::string, std::vector<int32_t>>>(g).ok();
    decoded +=
        decode_exact_copy<std::optional<std::pair<bool, std::string>>>(g).ok();
    decoded += decode_exact_copy<Ref>(g).ok();
    decoded += decode_exact_copy<bool>(g).ok();
    auto outer = decode_exact_copy<Outer>(g);
    if (outer.ok()) {
      ++decoded;
      EXPECT_EQ(encoded_size(*outer), encoded(*outer).size());
    }
  }
  // Not a correctness bound: shows the garbage reaches past the first byte.
  EXPECT_GT(decoded, 0);
}

TEST(Codec, RandomlyMutatedEncodingsNeverCrash) {
  std::mt19937 rng(7);
  const std::string valid = encoded(sample_outer());
  std::uniform_int_distribution<size_t> pos(0, valid.size() - 1);
  std::uniform_int_distribution<int> any_byte(0, 255);
  std::uniform_int_distribution<int> edits(1, 3);
  std::uniform_int_distribution<int> op(0, 2);
  int ok = 0;
  for (int i = 0; i < 5000; ++i) {
    std::string m = valid;
    for (int e = edits(rng); e > 0 && !m.empty(); --e) {
      size_t p = pos(rng) % m.size();
      switch (op(rng)) {
        case 0:
          m[p] = static_cast<char>(any_byte(rng));
          break;
        case 1:
          m.erase(p, 1);
          break;
        default:
          m.insert(p, 1, static_cast<char>(any_byte(rng)));
          break;
      }
    }
    auto r = decode_exact_copy<Outer>(m);
    if (r.ok()) {
      ++ok;
      std::string again = encoded(*r);
      EXPECT_EQ(encoded_size(*r), again.size());
      EXPECT_TRUE(decode<Outer>(again).ok());
    } else {
      EXPECT_EQ(r.status().code(), ErrorCode::kDecode);
    }
  }
  EXPECT_GT(ok, 0);  // some edits (e.g. inside a string) stay valid
}

// Known bug (see the report): a count is checked against the remaining bytes
// as though every element took at least one byte, but a struct with no fields
// encodes to zero bytes, so a vector of them cannot be decoded.
TEST(Codec, VectorOfZeroByteElementsRoundTrips) {
  expect_round_trip(std::vector<Empty>{});
  std::vector<Empty> five(5);
  EXPECT_EQ(encoded(five), "\x05");
  Result<std::vector<Empty>> r = decode<std::vector<Empty>>(encoded(five));
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->size(), 5u);
}

// ---------------------------------------------------------------------------
// Reader and Writer directly.

TEST(Codec, ReaderFailureSticksAndConsumesTheRest) {
  Reader r(std::string_view("\x01\x02\x03", 3));
  uint32_t too_big = 0;
  EXPECT_FALSE(r.fixed(too_big));
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.remaining(), 0u);
  uint8_t small = 0;
  EXPECT_FALSE(r.fixed(small)) << "a failed reader must stay failed";
}

TEST(Codec, ReaderViewPointsIntoTheInput) {
  const std::string in = encoded(std::string("view me")) + "!";
  Reader r(in);
  std::string_view v;
  ASSERT_TRUE(r.view(v));
  EXPECT_EQ(v, "view me");
  EXPECT_EQ(v.data(), in.data() + 1);
  EXPECT_EQ(r.remaining(), 1u);
  std::string_view bad;
  Reader short_reader(
      std::string_view("\x05"
                       "ab",
                       3));
  EXPECT_FALSE(short_reader.view(bad));
  EXPECT_FALSE(short_reader.ok());
}

TEST(Codec, VarintsRoundTripAcrossTheirWholeRange) {
  for (int bits = 0; bits <= 64; ++bits) {
    for (uint64_t v : {bits == 64 ? ~uint64_t{0} : (uint64_t{1} << bits),
                       bits == 0 ? 0 : (uint64_t{1} << (bits - 1)) - 1}) {
      std::string bytes = varint_bytes(v);
      EXPECT_EQ(bytes.size(), detail::varint_size(v)) << v;
      EXPECT_LE(bytes.size(), 10u);
      Reader r(bytes);
      uint64_t back = 0;
      ASSERT_TRUE(r.varint(back)) << v;
      EXPECT_EQ(back, v);
      EXPECT_EQ(r.remaining(), 0u);
    }
  }
}

// FNV-1a (hash.h), which message wire ids and version origins rely on
// staying the same across builds.
static_assert(fnv1a_32("") == 0x811c9dc5u);
static_assert(fnv1a_32("a") == 0xe40c292cu);
static_assert(fnv1a_32("foobar") == 0xbf9cf968u);
static_assert(fnv1a_64("") == 0xcbf29ce484222325ull);
static_assert(fnv1a_64("a") == 0xaf63dc4c8601ec8cull);
static_assert(fnv1a_64("foobar") == 0x85944171f73967e8ull);

}  // namespace
}  // namespace cmud::codec
