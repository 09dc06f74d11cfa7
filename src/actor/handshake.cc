#include "handshake.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <cstdio>
#include <cstdlib>

namespace cmud::actor::detail {
namespace {

Mac proof(std::string_view label, std::string_view secret, const Nonce& first,
          const Nonce& second, std::string_view address) {
  std::string data(label);
  data.append(reinterpret_cast<const char*>(first.data()), first.size());
  data.append(reinterpret_cast<const char*>(second.data()), second.size());
  data.append(address);
  Mac out{};
  unsigned int len = 0;
  if (HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
           reinterpret_cast<const unsigned char*>(data.data()), data.size(),
           out.data(), &len) == nullptr ||
      len != out.size()) {
    // Only a broken libcrypto gets here; refusing every peer is the safe
    // answer, and an all-zero MAC never matches a real one by chance.
    out.fill(0);
  }
  return out;
}

}  // namespace

Nonce random_nonce() {
  Nonce n{};
  if (RAND_bytes(n.data(), static_cast<int>(n.size())) != 1) {
    // No entropy means no safe handshake at all.
    std::fprintf(stderr, "cmud: RAND_bytes failed; cannot make a nonce\n");
    std::abort();
  }
  return n;
}

Mac accept_proof(std::string_view secret, const Nonce& dialer,
                 const Nonce& acceptor, std::string_view dialer_address) {
  return proof("cmud-accept-v2", secret, dialer, acceptor, dialer_address);
}

Mac dial_proof(std::string_view secret, const Nonce& dialer,
               const Nonce& acceptor, std::string_view dialer_address) {
  return proof("cmud-dial-v2", secret, acceptor, dialer, dialer_address);
}

bool mac_equal(std::string_view received, const Mac& expected) {
  return received.size() == expected.size() &&
         CRYPTO_memcmp(received.data(), expected.data(), expected.size()) == 0;
}

}  // namespace cmud::actor::detail
