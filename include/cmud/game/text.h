// What the game says: styled spans and dramatic pauses, kept apart from how
// a terminal shows them (ANSI colours or none, real pauses or none).
//
//   Text t;
//   t.add("You mine ").add("3 coins", Style::kCoins).line(".");
//   t.pause(300ms);
//   t.plain();              // "You mine 3 coins.\n"
//   to_ansi(t);             // with colour escapes
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace cmud::game {

enum class Style {
  kPlain,
  kTitle,   // headings
  kDim,     // asides
  kGood,    // gains, success
  kBad,     // losses, failure
  kWarn,    // storage trouble
  kPlace,   // place names
  kPlayer,  // player names
  kCoins,   // amounts of coins
  kItem,    // hardware
  kSpeech,  // what players say
  kStory,   // narration
};

// A run of text in one style, or (with empty text) a pause.
struct Span {
  Style style = Style::kPlain;
  std::string text;
  std::chrono::milliseconds pause{0};
};

// Thread-compatible value type.
class Text {
 public:
  Text() = default;
  explicit Text(std::string_view s, Style style = Style::kPlain) {
    add(s, style);
  }

  Text& add(std::string_view s, Style style = Style::kPlain);
  // s and a newline.
  Text& line(std::string_view s = "", Style style = Style::kPlain);
  Text& pause(std::chrono::milliseconds d);
  Text& append(const Text& other);

  bool empty() const;
  const std::vector<Span>& spans() const { return spans_; }
  // The words without styles or pauses.
  std::string plain() const;

 private:
  std::vector<Span> spans_;
};

// The ANSI SGR sequence that starts a style ("" for kPlain).
std::string_view ansi_start(Style style);
// The whole text with ANSI colours (pauses dropped).
std::string to_ansi(const Text& text);

// The text with line breaks at spaces, so that no line is wider than
// `width` characters (UTF-8 code points) unless one word is; the breaks
// replace the spaces they fall on. Styles and pauses are kept. width 0:
// unchanged.
Text wrap(const Text& text, size_t width);

// "12,345,678".
std::string with_commas(int64_t n);
// Drops control characters (so text from other players cannot move the
// cursor or change colours) and trims spaces at both ends.
std::string sanitize(std::string_view s);

}  // namespace cmud::game
