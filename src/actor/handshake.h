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
// acceptor nonce | dialer address | flags).
Mac accept_proof(std::string_view secret, const Nonce& dialer,
                 const Nonce& acceptor, std::string_view dialer_address,
                 uint8_t flags);
// The dialer's proof: HMAC(secret, "cmud-dial-v2" | acceptor nonce | dialer
// nonce | dialer address | flags). The labels differ, so neither side's
// proof can be reflected back as the other's; the flags are covered, so
// nobody in the middle can switch frame MACs off.
Mac dial_proof(std::string_view secret, const Nonce& dialer,
               const Nonce& acceptor, std::string_view dialer_address,
               uint8_t flags);

// Frame MACs after the handshake: one key per direction, derived from the
// secret and both nonces; each message frame carries the first 16 bytes of
// HMAC(key, sequence number | frame), so a frame injected, changed,
// replayed, dropped or reordered inside the stream is refused.
inline constexpr size_t kFrameMacBytes = 16;
Mac frame_key(std::string_view secret, const Nonce& dialer,
              const Nonce& acceptor, std::string_view dialer_address,
              bool dialer_to_acceptor);
void append_frame_mac(const Mac& key, uint64_t seq, std::string_view frame,
                      std::string& out);
bool frame_mac_ok(const Mac& key, uint64_t seq, std::string_view frame,
                  std::string_view mac);

// Constant-time comparison of a received MAC with the expected one.
bool mac_equal(std::string_view received, const Mac& expected);

}  // namespace cmud::actor::detail
