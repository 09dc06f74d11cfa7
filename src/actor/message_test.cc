// Unit tests for type-erased messages (message.h) and actor refs as message
// fields: registration, wire ids, encode/decode by wire id, equality.
#include "cmud/actor/message.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cmud/actor/actor_ref.h"
#include "cmud/common/codec.h"
#include "cmud/common/status.h"

namespace cmud::actor {
namespace {

using codec::Serializable;

struct Inner {
  int32_t x = 0;
  std::string s;
  bool operator==(const Inner&) const = default;
  CMUD_FIELDS(x, s)
};

template <class T>
std::string encoded(const T& v) {
  std::string out;
  codec::encode(v, out);
  return out;
}

template <class T>
T round_trip(const T& v) {
  std::string bytes = encoded(v);
  EXPECT_EQ(codec::encoded_size(v), bytes.size());
  Result<T> r = codec::decode<T>(bytes);
  EXPECT_TRUE(r.ok()) << r.status().to_string();
  return r.ok() ? std::move(r).value() : T{};
}

TEST(Message, ActorRefsRoundTripAsFields) {
  for (const ActorRef& ref : {ActorRef(), ActorRef("127.0.0.1:4000", 42),
                              ActorRef("[::1]:1", ActorRef::kChannelBit | 3),
                              ActorRef(std::string(500, 'h'), ~uint64_t{0})}) {
    EXPECT_EQ(round_trip(ref), ref);
  }
  ActorRef channel = round_trip(ActorRef("h:1", ActorRef::kChannelBit | 9));
  EXPECT_TRUE(channel.is_channel());
  EXPECT_EQ(channel.uid(), "h:1/" + std::to_string(ActorRef::kChannelBit | 9));
  EXPECT_EQ(encoded(ActorRef("h:1", 2)),
            std::string("\x03h:1\x02\0\0\0\0\0\0\0", 12));
  std::string bytes = encoded(ActorRef("host:9", 123456789));
  for (size_t n = 0; n < bytes.size(); ++n) {
    EXPECT_FALSE(codec::decode<ActorRef>(bytes.substr(0, n)).ok()) << n;
  }
  EXPECT_FALSE(codec::decode<ActorRef>(bytes + '\0').ok());
}

// ---------------------------------------------------------------------------
// Messages.

struct Foo {
  int64_t n = 0;
  std::string s;
  bool operator==(const Foo&) const = default;
  CMUD_MESSAGE("test.codec.Foo", n, s)
};

struct Bar {
  std::vector<int32_t> xs;
  ActorRef reply_to;
  std::optional<Inner> extra;
  bool operator==(const Bar&) const = default;
  CMUD_MESSAGE("test.codec.Bar", xs, reply_to, extra)
};

struct NoEquality {
  int32_t x = 0;
  CMUD_MESSAGE("test.codec.NoEquality", x)
};

struct Ping {
  bool operator==(const Ping&) const = default;
  CMUD_MESSAGE("test.codec.Ping")
};

// Only ever made in StaticInitialisationRegistersEveryNamedType, after the
// registry has been checked.
struct Registered {
  int32_t x = 0;
  CMUD_MESSAGE("test.codec.Registered", x)
};

struct NoName {  // serialisable, but not a message
  int32_t x = 0;
  CMUD_FIELDS(x)
};

struct NoCodec {  // neither
  int* p = nullptr;
};

// A message whose field has no Codec. The contract in message.h says it does
// not satisfy MessageValue.
struct PointerMessage {
  int* p = nullptr;
  CMUD_MESSAGE("test.codec.PointerMessage", p)
};

static_assert(MessageValue<Foo>);
static_assert(MessageValue<Bar>);
static_assert(MessageValue<NoEquality>);
static_assert(MessageValue<Ping>);
static_assert(Serializable<NoName>);
static_assert(!MessageValue<NoName>);
static_assert(!Serializable<NoCodec>);
static_assert(!MessageValue<NoCodec>);
static_assert(!MessageValue<int>);
static_assert(!MessageValue<std::string>);
static_assert(!Serializable<int*>);
static_assert(!Serializable<void*>);
static_assert(!Serializable<std::vector<int*>>);
static_assert(!Serializable<std::optional<const char*>>);
static_assert(!Serializable<std::map<std::string, int*>>);
static_assert(!Serializable<std::pair<int, int*>>);
static_assert(!Serializable<std::vector<NoCodec>>);
static_assert(Serializable<ActorRef>);

static_assert(wire_id_of("") == 0x811c9dc5u);
static_assert(wire_id_of("a") == 0xe40c292cu);
static_assert(wire_id_of("foobar") == 0xbf9cf968u);

// Known bug (see the report): CMUD_FIELDS declares cmud_fields with an
// explicit bool return type, so HasFields (and hence Serializable and
// MessageValue) holds without checking the fields; a pointer field is only
// rejected later, by a hard error inside the codec. Checked at run time so
// that the rest of the suite still builds.
TEST(Message, StructWithAFieldWithoutCodecIsNotAMessageValue) {
  static_assert(!Serializable<PointerMessage>);
  static_assert(!MessageValue<PointerMessage>);
  // Named like any message; only its field has no codec.
  static_assert(PointerMessage::kMessageName == "test.codec.PointerMessage");
  static_assert(!Serializable<std::vector<bool>>);
}

TEST(Message, MakeHoldsTheValueUnderItsType) {
  Message m = Message::make(Foo{7, "seven"});
  ASSERT_FALSE(m.empty());
  EXPECT_EQ(m.name(), "test.codec.Foo");
  EXPECT_EQ(m.type().name, "test.codec.Foo");
  EXPECT_EQ(m.type().wire_id, wire_id_of("test.codec.Foo"));
  EXPECT_EQ(&m.type(), &message_type<Foo>());
  EXPECT_TRUE(m.is<Foo>());
  EXPECT_FALSE(m.is<Bar>());
  ASSERT_NE(m.as<Foo>(), nullptr);
  EXPECT_EQ(*m.as<Foo>(), (Foo{7, "seven"}));
  EXPECT_EQ(m.as<Bar>(), nullptr);
  const Message& cm = m;
  ASSERT_NE(cm.as<Foo>(), nullptr);
  EXPECT_EQ(cm.as<Foo>()->n, 7);
  EXPECT_EQ(cm.as<Bar>(), nullptr);
}

TEST(Message, AsGivesAMutableValue) {
  Message m = Message::make(Foo{1, "a"});
  m.as<Foo>()->n = 2;
  EXPECT_EQ(m.as<Foo>()->n, 2);
}

TEST(Message, DefaultAndMovedFromMessagesAreEmpty) {
  Message empty;
  EXPECT_TRUE(empty.empty());
  EXPECT_EQ(empty.as<Foo>(), nullptr);
  EXPECT_FALSE(empty.is<Foo>());
  Message a = Message::make(Foo{1, "a"});
  Message b = std::move(a);
  EXPECT_TRUE(b.is<Foo>());
  EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move): documented
}

TEST(Message, EncodeBodyThenDecodeByWireIdRoundTrips) {
  Bar bar{{1, -2, 3}, ActorRef("10.0.0.1:7", 99), Inner{4, "four"}};
  Message m = Message::make(bar);
  std::string body;
  m.encode_body(body);
  EXPECT_EQ(body, encoded(bar));
  EXPECT_EQ(m.encoded_size(), body.size());

  Result<Message> back = Message::decode(wire_id_of("test.codec.Bar"), body);
  ASSERT_TRUE(back.ok()) << back.status().to_string();
  ASSERT_TRUE(back->is<Bar>());
  EXPECT_EQ(*back->as<Bar>(), bar);
  EXPECT_TRUE(back->equals(m));
}

TEST(Message, MessageWithoutFieldsRoundTripsAsAnEmptyBody) {
  Message m = Message::make(Ping{});
  std::string body;
  m.encode_body(body);
  EXPECT_TRUE(body.empty());
  EXPECT_EQ(m.encoded_size(), 0u);
  Result<Message> back = Message::decode(message_type<Ping>().wire_id, body);
  ASSERT_TRUE(back.ok()) << back.status().to_string();
  EXPECT_TRUE(back->is<Ping>());
  EXPECT_FALSE(Message::decode(message_type<Ping>().wire_id, "x").ok());
}

TEST(Message, UnknownWireIdIsADecodeError) {
  const uint32_t id = wire_id_of("test.codec.NeverDefined");
  EXPECT_EQ(find_message_type(id), nullptr);
  Result<Message> r = Message::decode(id, "");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kDecode);
}

TEST(Message, BadBodiesAreDecodeErrors) {
  const uint32_t id = message_type<Bar>().wire_id;
  std::string body;
  Message::make(Bar{{5, 6}, ActorRef("h:2", 3), std::nullopt})
      .encode_body(body);
  for (size_t n = 0; n < body.size(); ++n) {
    Result<Message> r = Message::decode(id, body.substr(0, n));
    ASSERT_FALSE(r.ok()) << "prefix " << n;
    EXPECT_EQ(r.status().code(), ErrorCode::kDecode);
  }
  Result<Message> padded = Message::decode(id, body + "x");
  ASSERT_FALSE(padded.ok());
  EXPECT_EQ(padded.status().code(), ErrorCode::kDecode);
  // A Foo body is not a Bar body.
  std::string foo_body;
  Message::make(Foo{1, "x"}).encode_body(foo_body);
  EXPECT_FALSE(Message::decode(id, foo_body).ok());
}

TEST(Message, FindMessageTypeReturnsTheRegisteredType) {
  const MessageType& t = message_type<Foo>();
  EXPECT_EQ(find_message_type(t.wire_id), &t);
  EXPECT_EQ(t.wire_id, wire_id_of(Foo::kMessageName));
}

TEST(Message, StaticInitialisationRegistersEveryNamedType) {
  // Registered is only made below, yet naming it in this binary registered
  // it before main, so a receiver can decode it first.
  const uint32_t id = wire_id_of("test.codec.Registered");
  ASSERT_NE(find_message_type(id), nullptr);
  Result<Message> r = Message::decode(id, encoded(int32_t{11}));
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  Message made = Message::make(Registered{11});
  ASSERT_TRUE(r->is<Registered>());
  EXPECT_EQ(r->as<Registered>()->x, 11);
  EXPECT_EQ(&made.type(), find_message_type(id));
}

TEST(Message, EqualsComparesTypeAndValue) {
  Message a = Message::make(Foo{1, "a"});
  EXPECT_TRUE(a.equals(Message::make(Foo{1, "a"})));
  EXPECT_TRUE(a.equals(a));
  EXPECT_FALSE(a.equals(Message::make(Foo{1, "b"})));
  EXPECT_FALSE(a.equals(Message::make(Foo{2, "a"})));
  EXPECT_FALSE(a.equals(Message::make(Bar{})));
  EXPECT_FALSE(a.equals(Message()));
  EXPECT_FALSE(Message().equals(a));
  EXPECT_FALSE(Message().equals(Message()));
  EXPECT_TRUE(Message::make(Ping{}).equals(Message::make(Ping{})));
}

TEST(Message, EqualsIsFalseForATypeWithoutEquality) {
  EXPECT_EQ(message_type<NoEquality>().equal, nullptr);
  Message a = Message::make(NoEquality{3});
  EXPECT_FALSE(a.equals(Message::make(NoEquality{3})));
  EXPECT_NE(message_type<Foo>().equal, nullptr);
}

TEST(Message, DistinctTypesHaveDistinctWireIds) {
  EXPECT_NE(message_type<Foo>().wire_id, message_type<Bar>().wire_id);
  EXPECT_NE(&message_type<Foo>(), &message_type<Bar>());
  EXPECT_EQ(&message_type<Foo>(), &message_type<Foo>());
}

}  // namespace
}  // namespace cmud::actor
