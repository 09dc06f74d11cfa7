#include "handshake.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <cstdio>
#include <cstdlib>

namespace cmud::actor::detail {
namespace {

Mac hmac(std::string_view key, std::string_view data) {
  Mac out{};
  unsigned int len = 0;
  if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(data.data()), data.size(),
           out.data(), &len) == nullptr ||
      len != out.size()) {
    // Only a broken libcrypto gets here; refusing every peer is the safe
    // answer, and an all-zero MAC never matches a real one by chance.
    out.fill(0);
  }
  return out;
}

Mac proof(std::string_view label, std::string_view secret, const Nonce& first,
          const Nonce& second, std::string_view address, uint8_t flags) {
  std::string data(label);
  data.append(reinterpret_cast<const char*>(first.data()), first.size());
  data.append(reinterpret_cast<const char*>(second.data()), second.size());
  data.append(address);
  data += static_cast<char>(flags);
  return hmac(secret, data);
}

std::string_view key_view(const Mac& key) {
  return {reinterpret_cast<const char*>(key.data()), key.size()};
}

Mac frame_hmac(const Mac& key, uint64_t seq, std::string_view frame) {
  std::string data(reinterpret_cast<const char*>(&seq), sizeof seq);
  data += frame;
  return hmac(key_view(key), data);
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
                 const Nonce& acceptor, std::string_view dialer_address,
                 uint8_t flags) {
  return proof("cmud-accept-v2", secret, dialer, acceptor, dialer_address,
               flags);
}

Mac dial_proof(std::string_view secret, const Nonce& dialer,
               const Nonce& acceptor, std::string_view dialer_address,
               uint8_t flags) {
  return proof("cmud-dial-v2", secret, acceptor, dialer, dialer_address, flags);
}

Mac frame_key(std::string_view secret, const Nonce& dialer,
              const Nonce& acceptor, std::string_view dialer_address,
              bool dialer_to_acceptor) {
  return proof(dialer_to_acceptor ? "cmud-frames-d2a-v2" : "cmud-frames-a2d-v2",
               secret, dialer, acceptor, dialer_address, 0);
}

void append_frame_mac(const Mac& key, uint64_t seq, std::string_view frame,
                      std::string& out) {
  Mac m = frame_hmac(key, seq, frame);
  out.append(reinterpret_cast<const char*>(m.data()), kFrameMacBytes);
}

bool frame_mac_ok(const Mac& key, uint64_t seq, std::string_view frame,
                  std::string_view mac) {
  Mac m = frame_hmac(key, seq, frame);
  return mac.size() == kFrameMacBytes &&
         CRYPTO_memcmp(mac.data(), m.data(), kFrameMacBytes) == 0;
}

bool mac_equal(std::string_view received, const Mac& expected) {
  return received.size() == expected.size() &&
         CRYPTO_memcmp(received.data(), expected.data(), expected.size()) == 0;
}

}  // namespace cmud::actor::detail
