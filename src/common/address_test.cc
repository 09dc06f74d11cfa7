// Unit tests for the one host:port parser and formatter (address.h).
#include "cmud/common/address.h"

#include <gtest/gtest.h>

#include <string>

namespace cmud {
namespace {

TEST(Address, ParsesNamesAndIpv4) {
  auto a = parse_host_port("127.0.0.1:6000");
  ASSERT_TRUE(a.ok()) << a.status().to_string();
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 6000);
  auto b = parse_host_port("localhost:65535");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->host, "localhost");
  EXPECT_EQ(b->port, 65535);
}

TEST(Address, ParsesIpv6InBracketsAndFormatsItBack) {
  auto a = parse_host_port("[::1]:6003");
  ASSERT_TRUE(a.ok()) << a.status().to_string();
  EXPECT_EQ(a->host, "::1");
  EXPECT_EQ(a->port, 6003);
  EXPECT_EQ(a->to_string(), "[::1]:6003");
  EXPECT_EQ(join_host_port("fe80::1", 1), "[fe80::1]:1");
  EXPECT_EQ(join_host_port("127.0.0.1", 80), "127.0.0.1:80");
}

TEST(Address, FormatAndParseRoundTrip) {
  for (const HostPort& hp :
       {HostPort{"h", 1}, HostPort{"::", 65535}, HostPort{"10.0.0.1", 6000}}) {
    auto back = parse_host_port(hp.to_string());
    ASSERT_TRUE(back.ok()) << hp.to_string();
    EXPECT_EQ(*back, hp);
  }
}

TEST(Address, MalformedAddressesAreInvalidArgumentsNamingTheAddress) {
  for (const char* bad :
       {"", "nocolon", ":6000", "host:", "host:0", "host:65536", "host:6x",
        "host:-1", "::1:6000", "[::1]", "[]:6000", "[a]]:1", "h h:1", "a,b:1",
        "host:99999999999999999999"}) {
    auto r = parse_host_port(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(r.status().message().find(std::string("\"") + bad + "\""),
              std::string::npos)
        << r.status().message();
  }
}

TEST(Address, PortZeroOnlyWhenAllowed) {
  EXPECT_FALSE(parse_host_port("127.0.0.1:0").ok());
  auto r = parse_host_port("127.0.0.1:0", /*allow_port_zero=*/true);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->port, 0);
}

}  // namespace
}  // namespace cmud
