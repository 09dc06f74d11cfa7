// The cluster handshake's cryptography (private to src/actor): nonces and
// HMAC-SHA256 proofs over them, by OpenSSL's libcrypto. The protocol itself
// is described in transport.h.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace cmud::actor::detail {

inline constexpr size_t kNonceBytes = 32;
inline constexpr size_t kMacBytes = 32;
using Nonce = std::array<uint8_t, kNonceBytes>;
using Mac = std::array<uint8_t, kMacBytes>;

// A fresh nonce from the system's CSPRNG. Thread-safe.
Nonce random_nonce();

// The acceptor's proof: HMAC(secret, "cmud-accept-v2" | dialer nonce |
// acceptor nonce | dialer address).
Mac accept_proof(std::string_view secret, const Nonce& dialer,
                 const Nonce& acceptor, std::string_view dialer_address);
// The dialer's proof: HMAC(secret, "cmud-dial-v2" | acceptor nonce | dialer
// nonce | dialer address). The labels differ, so neither side's proof can
// be reflected back as the other's.
Mac dial_proof(std::string_view secret, const Nonce& dialer,
               const Nonce& acceptor, std::string_view dialer_address);

// Constant-time comparison of a received MAC with the expected one.
bool mac_equal(std::string_view received, const Mac& expected);

}  // namespace cmud::actor::detail
