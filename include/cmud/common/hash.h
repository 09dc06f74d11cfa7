// FNV-1a: a small hash that is the same on every build and platform, for
// ids that travel between processes (message wire ids, version origins,
// repair digests).
// Not for hash tables (use absl::Hash) and not for anything adversarial.
#pragma once

#include <cstdint>
#include <string_view>
#include <type_traits>

namespace cmud {

// FNV-1a over s, 32 or 64 bits wide (U is uint32_t or uint64_t).
template <class U>
requires(std::is_same_v<U, uint32_t> || std::is_same_v<U, uint64_t>) constexpr U
    fnv1a(std::string_view s) {
  constexpr bool k64 = sizeof(U) == 8;
  constexpr U kBasis = k64 ? U(14695981039346656037ull) : U(2166136261u);
  constexpr U kPrime = k64 ? U(1099511628211ull) : U(16777619u);
  U h = kBasis;
  for (char c : s) {
    h ^= static_cast<uint8_t>(c);
    h *= kPrime;
  }
  return h;
}

constexpr uint32_t fnv1a_32(std::string_view s) { return fnv1a<uint32_t>(s); }
constexpr uint64_t fnv1a_64(std::string_view s) { return fnv1a<uint64_t>(s); }

}  // namespace cmud
