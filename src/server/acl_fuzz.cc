// libFuzzer harness: ACL rules as they reach a server. Each input is read
// as an ACL file (--aclfile, ACL LOAD) and as a user's record arriving from
// a replica (acl::Table::apply), the two ways untrusted rule text enters.
// Besides ASan and UBSan it checks one property: every user that parses
// describes itself as rules that build the same user again.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "acl.h"

namespace {

using namespace cmud::server;

void check_round_trip(const acl::User& u) {
  std::string line = u.describe();
  auto again = acl::parse_user(u.name(), line);
  if (!again.ok() || again->describe() != line) {
    std::fprintf(stderr, "user %s does not rebuild from '%s'\n",
                 u.name().c_str(), line.c_str());
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto users = acl::parse_acl_file(text, "fuzz.acl");
  if (users.ok()) {
    for (const acl::User& u : *users) check_round_trip(u);
  }
  acl::Table table;
  table.apply(acl::record_key("fuzz"), text, cmud::kv::Version{1, 1}, false);
  if (auto u = table.find("fuzz")) check_round_trip(*u);
  return 0;
}
