// FNV-1a: a small hash that is the same on every build and platform, for
// ids that travel between processes (message wire ids, version origins).
// Not for hash tables (use absl::Hash) and not for anything adversarial.
#pragma once

#include <cstdint>
#include <string_view>

namespace cmud {

constexpr uint32_t fnv1a_32(std::string_view s) {
  uint32_t h = 2166136261u;
  for (char c : s) {
    h ^= static_cast<uint8_t>(c);
    h *= 16777619u;
  }
  return h;
}

constexpr uint64_t fnv1a_64(std::string_view s) {
  uint64_t h = 14695981039346656037ull;
  for (char c : s) {
    h ^= static_cast<uint8_t>(c);
    h *= 1099511628211ull;
  }
  return h;
}

}  // namespace cmud
