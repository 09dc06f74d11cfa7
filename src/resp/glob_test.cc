// Unit tests for Redis-style glob matching and the prefix helpers (resp.h):
// tables of patterns (Redis' documented examples and its odd corners), a
// comparison with a straightforward port of Redis' own algorithm on random
// small patterns, pathological patterns, and properties of the helpers.
#include <gtest/gtest.h>

#include <chrono>
#include <random>
#include <string>
#include <string_view>
#include <utility>

#include "cmud/resp/resp.h"

namespace cmud::resp {
namespace {

using namespace std::string_literals;

struct Case {
  std::string pattern;
  std::string s;
  bool match;
};

void expect_cases(const std::vector<Case>& cases) {
  for (const Case& c : cases) {
    EXPECT_EQ(glob_match(c.pattern, c.s), c.match)
        << "pattern '" << c.pattern << "' string '" << c.s << "'";
  }
}

TEST(Glob, RedisDocumentationExamplesMatch) {
  // From the KEYS command's documentation.
  expect_cases({
      {"h?llo", "hello", true},
      {"h?llo", "hallo", true},
      {"h?llo", "hxllo", true},
      {"h?llo", "hllo", false},
      {"h*llo", "hllo", true},
      {"h*llo", "heeeello", true},
      {"h*llo", "hello!", false},
      {"h[ae]llo", "hello", true},
      {"h[ae]llo", "hallo", true},
      {"h[ae]llo", "hillo", false},
      {"h[^e]llo", "hallo", true},
      {"h[^e]llo", "hbllo", true},
      {"h[^e]llo", "hello", false},
      {"h[a-b]llo", "hallo", true},
      {"h[a-b]llo", "hbllo", true},
      {"h[a-b]llo", "hcllo", false},
      {"h\\*llo", "h*llo", true},
      {"h\\*llo", "hello", false},
  });
}

TEST(Glob, StarMatchesAnyRunOfBytesIncludingNone) {
  expect_cases({
      {"*", "", true},
      {"*", "anything", true},
      {"**", "", true},
      {"***", "abc", true},
      {"a*", "a", true},
      {"*a", "a", true},
      {"*a*", "bab", true},
      {"*a*", "bbb", false},
      {"user:*", "user:", true},
      {"user:*", "user:42", true},
      {"user:*", "users", false},
      {"*:*:*", "a:b:c", true},
      {"*:*:*", "a:b", false},
      {"a*b*c", "abc", true},
      {"a*b*c", "aXbYc", true},
      {"a*b*c", "acb", false},
      {"a*b", "abab", true},
      {"a*b", "abba", false},
      {"", "", true},
      {"", "a", false},
  });
}

TEST(Glob, QuestionMarkMatchesExactlyOneByte) {
  expect_cases({
      {"?", "", false},
      {"?", "a", true},
      {"?", "ab", false},
      {"??", "ab", true},
      {"?*", "", false},
      {"?*", "x", true},
      {"*?", "xyz", true},
      {"a?c", "a\0c"s, true},
  });
}

TEST(Glob, ClassesMatchOneByteOfTheirSet) {
  expect_cases({
      {"[abc]", "a", true},     {"[abc]", "c", true},
      {"[abc]", "d", false},    {"[abc]", "", false},
      {"[abc]", "ab", false},   {"[^abc]", "d", true},
      {"[^abc]", "a", false},   {"[a-z]", "m", true},
      {"[a-z]", "M", false},    {"[z-a]", "m", true},
      {"[0-9a-f]", "e", true},  {"[0-9a-f]", "5", true},
      {"[0-9a-f]", "g", false}, {"[\\]]", "]", true},
      {"[\\^]", "^", true},     {"[a\\-z]", "-", true},
      {"[a\\-z]", "b", false},  {"[a\\-z]", "z", true},
      {"[*?]", "*", true},      {"[*?]", "a", false},
      {"x[ab]*", "xbyy", true},
  });
}

TEST(Glob, OddClassesBehaveAsInRedis) {
  expect_cases({
      // "]" first closes an empty class, which matches nothing...
      {"[]a]", "a]", false},
      {"[]", "", false},
      // ...and negated, anything; the "]" after it is a literal.
      {"[^]a", "xa", true},
      {"[^]]", "a]", true},
      {"[^]]", "]", false},
      // A class without "]" runs to the end of the pattern.
      {"[abc", "b", true},
      {"[abc", "bc", false},
      {"[", "[", false},
      {"[^", "x", true},
      // "a-]" is the range from "]" to "a" (ends swapped), unterminated.
      {"[a-]", "_", true},
      {"[a-]", "a", true},
      {"[a-]", "-", false},
      // "-" first or last in a closed class is itself.
      {"[-a]", "-", true},
      {"[ab-]x", "-x", false},  // "b-]" is a range, then "x" is in it
      {"[ab-]x", "_", true},
  });
}

TEST(Glob, BackslashEscapesTheNextByte) {
  expect_cases({
      {"\\*", "*", true},
      {"\\*", "a", false},
      {"\\?", "?", true},
      {"\\?", "a", false},
      {"\\[a]", "[a]", true},
      {"\\[a]", "a", false},
      {"\\\\", "\\", true},
      {"\\a", "a", true},
      {"a\\", "a\\", true},
      {"a\\", "a", false},
      {"*\\*", "x*", true},
      {"*\\*", "x", false},
  });
}

TEST(Glob, MatchingIsCaseSensitiveAndBinarySafe) {
  expect_cases({
      {"Hello", "hello", false},
      {"[A-Z]", "a", false},
      {"h*", "H", false},
      {"a\0b"s, "a\0b"s, true},
      {"a\0b"s, "a\0c"s, false},
      {"*\0"s, "xyz\0"s, true},
      // Range ends compare as unsigned bytes.
      {"[\x80-\xff]", "\xaa", true},
      {"[\x80-\xff]", "a", false},
      {"[\x01-\xff]", "\x90", true},
  });
}

TEST(Glob, PathologicalPatternsFinishQuickly) {
  const auto start = std::chrono::steady_clock::now();
  std::string pattern;
  for (int i = 0; i < 30; ++i) pattern += "a*";
  const std::string as(10000, 'a');
  EXPECT_FALSE(glob_match(pattern + "b", as));
  EXPECT_TRUE(glob_match(pattern + "a", as));
  EXPECT_FALSE(glob_match(std::string(1000, '*') + "b", as));
  EXPECT_FALSE(glob_match("*?*?*?*?*?*?*?*?*?*?*?*?*?*?*b", as));
  EXPECT_TRUE(glob_match("*[a]*[a]*[a]*[a]*[a]*[a]*[a]*[a]*a", as));
  // Naive recursion would take longer than the universe has left.
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
}

// A port of the algorithm of Redis' stringmatchlen (util.c), recursion,
// pointer walking and all, with reads past the pattern's end seeing NUL as
// they do there. Exponential, but fine on small inputs.
class RedisReference {
 public:
  // Our semantics: as Redis, except that "*" also matches the empty string.
  static bool match(std::string_view p, std::string_view s) {
    if (s.empty()) return p.find_first_not_of('*') == std::string_view::npos;
    bool skip_longer = false;
    return run(p, 0, s, 0, skip_longer);
  }

 private:
  static bool run(std::string_view p, size_t pi, std::string_view s, size_t si,
                  bool& skip_longer) {
    auto at = [&](size_t k) { return k < p.size() ? p[k] : '\0'; };
    auto byte = [](char c) { return static_cast<unsigned char>(c); };
    while (pi < p.size() && si < s.size()) {
      switch (p[pi]) {
        case '*':
          while (at(pi + 1) == '*') ++pi;
          if (pi + 1 == p.size()) return true;
          for (; si < s.size(); ++si) {
            if (run(p, pi + 1, s, si, skip_longer)) return true;
            if (skip_longer) return false;
          }
          skip_longer = true;
          return false;
        case '?':
          ++si;
          break;
        case '[': {
          ++pi;
          const bool negate = at(pi) == '^';
          if (negate) ++pi;
          bool hit = false;
          while (true) {
            const size_t left = p.size() - pi;
            if (at(pi) == '\\' && left >= 2) {
              ++pi;
              if (p[pi] == s[si]) hit = true;
            } else if (at(pi) == ']') {
              break;
            } else if (left == 0) {
              --pi;
              break;
            } else if (left >= 3 && p[pi + 1] == '-') {
              unsigned char lo = byte(p[pi]);
              unsigned char hi = byte(p[pi + 2]);
              if (lo > hi) std::swap(lo, hi);
              if (byte(s[si]) >= lo && byte(s[si]) <= hi) hit = true;
              pi += 2;
            } else if (p[pi] == s[si]) {
              hit = true;
            }
            ++pi;
          }
          if (negate) hit = !hit;
          if (!hit) return false;
          ++si;
          break;
        }
        case '\\':
          if (p.size() - pi >= 2) ++pi;
          [[fallthrough]];
        default:
          if (p[pi] != s[si]) return false;
          ++si;
          break;
      }
      ++pi;
      if (si == s.size()) {
        while (at(pi) == '*') ++pi;
        break;
      }
    }
    return pi == p.size() && si == s.size();
  }
};

TEST(Glob, AgreesWithAPortOfRedisOnRandomSmallPatterns) {
  std::mt19937 rng(31337);
  const std::string pattern_bytes = "ab*?[]^-\\ab*";
  const std::string string_bytes = "ab-]^\\[*?";
  int matches = 0;
  for (int iter = 0; iter < 300000; ++iter) {
    std::string p(rng() % 8, ' ');
    for (char& c : p) c = pattern_bytes[rng() % pattern_bytes.size()];
    std::string s(rng() % 7, ' ');
    for (char& c : s) c = string_bytes[rng() % string_bytes.size()];
    const bool want = RedisReference::match(p, s);
    ASSERT_EQ(glob_match(p, s), want)
        << "pattern '" << p << "' string '" << s << "'";
    matches += want ? 1 : 0;
  }
  // The inputs are not all trivially failing.
  EXPECT_GT(matches, 10000);
}

// ---------------------------------------------------------------------------
// Prefix helpers.

TEST(GlobPrefix, LiteralPrefixStopsAtTheFirstSpecialCharacter) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"user:*", "user:"},
      {"abc", "abc"},
      {"*", ""},
      {"", ""},
      {"a?b", "a"},
      {"ab[cd]", "ab"},
      {"[ab]c", ""},
      {"x*y*", "x"},
      {"a\\*b*", "a*b"},
      {"\\?\\[x", "?[x"},
      {"a\\", "a\\"},
      {"\\\\*", "\\"},
      {"a]b-c^*", "a]b-c^"},
  };
  for (const auto& [pattern, prefix] : cases) {
    EXPECT_EQ(glob_literal_prefix(pattern), prefix) << pattern;
  }
}

TEST(GlobPrefix, IsPrefixAcceptsOnlyLiteralsThenOneStar) {
  const std::vector<std::pair<std::string, bool>> cases = {
      {"user:*", true}, {"*", true},        {"a\\**", true},
      {"a\\?*", true},  {"\\\\*", true},    {"user:**", false},
      {"**", false},    {"user:*x", false}, {"us?r:*", false},
      {"[a]*", false},  {"a\\*", false},    {"abc", false},
      {"", false},      {"a\\", false},     {"*a", false},
  };
  for (const auto& [pattern, is_prefix] : cases) {
    EXPECT_EQ(glob_is_prefix(pattern), is_prefix) << pattern;
  }
}

TEST(GlobPrefix, EveryMatchStartsWithTheLiteralPrefix) {
  std::mt19937 rng(8);
  const std::string pattern_bytes = "aab*?[]\\b";
  const std::string string_bytes = "ab*?[]\\";
  int checked = 0;
  for (int iter = 0; iter < 100000; ++iter) {
    std::string p(rng() % 7, ' ');
    for (char& c : p) c = pattern_bytes[rng() % pattern_bytes.size()];
    std::string s(rng() % 6, ' ');
    for (char& c : s) c = string_bytes[rng() % string_bytes.size()];
    if (!glob_match(p, s)) continue;
    ++checked;
    ASSERT_TRUE(s.starts_with(glob_literal_prefix(p)))
        << "pattern '" << p << "' string '" << s << "'";
  }
  EXPECT_GT(checked, 1000);
}

TEST(GlobPrefix, PrefixPatternsMatchExactlyTheStringsWithThatPrefix) {
  std::mt19937 rng(9);
  const std::string bytes = "ab*\\?";
  int checked = 0;
  for (int iter = 0; iter < 100000; ++iter) {
    std::string p(rng() % 6, ' ');
    for (char& c : p) c = bytes[rng() % bytes.size()];
    if (!glob_is_prefix(p)) continue;
    ++checked;
    const std::string prefix = glob_literal_prefix(p);
    std::string s(rng() % 6, ' ');
    for (char& c : s) c = bytes[rng() % bytes.size()];
    if (rng() % 2 == 0) s = prefix + s;
    ASSERT_EQ(glob_match(p, s), s.starts_with(prefix))
        << "pattern '" << p << "' string '" << s << "'";
  }
  EXPECT_GT(checked, 1000);
}

}  // namespace
}  // namespace cmud::resp
