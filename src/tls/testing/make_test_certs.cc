// cmud-test-certs DIR: writes the test certificates (test_certs.h) into DIR
// for scripts (redis-cli --tls, redis-py ssl=True). Test tool only.
#include <cstdio>

#include "test_certs.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: cmud-test-certs DIR\n");
    return 2;
  }
  auto certs = cmud::tls::testing::write_test_certs(argv[1]);
  if (!certs.ok()) {
    std::fprintf(stderr, "cmud-test-certs: %s\n",
                 certs.status().to_string().c_str());
    return 1;
  }
  return 0;
}
