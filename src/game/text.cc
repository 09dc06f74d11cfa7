#include "cmud/game/text.h"

namespace cmud::game {

Text& Text::add(std::string_view s, Style style) {
  if (s.empty()) return *this;
  if (!spans_.empty() && spans_.back().style == style &&
      spans_.back().pause.count() == 0 && !spans_.back().text.empty()) {
    spans_.back().text += s;
  } else {
    spans_.push_back(Span{style, std::string(s), {}});
  }
  return *this;
}

Text& Text::line(std::string_view s, Style style) {
  add(s, style);
  return add("\n", style == Style::kPlain ? Style::kPlain : style);
}

Text& Text::pause(std::chrono::milliseconds d) {
  if (d.count() > 0) spans_.push_back(Span{Style::kPlain, "", d});
  return *this;
}

Text& Text::append(const Text& other) {
  for (const Span& s : other.spans_) {
    if (s.text.empty()) {
      pause(s.pause);
    } else {
      add(s.text, s.style);
    }
  }
  return *this;
}

bool Text::empty() const {
  for (const Span& s : spans_) {
    if (!s.text.empty()) return false;
  }
  return true;
}

std::string Text::plain() const {
  std::string out;
  for (const Span& s : spans_) out += s.text;
  return out;
}

namespace {

// Characters a terminal shows: UTF-8 code points (continuation bytes are
// not counted).
size_t visible(std::string_view s) {
  size_t n = 0;
  for (char c : s) n += (static_cast<unsigned char>(c) & 0xc0) != 0x80;
  return n;
}

}  // namespace

Text wrap(const Text& text, size_t width) {
  if (width == 0) return text;
  Text out;
  size_t col = 0;
  size_t spaces = 0;  // spaces seen since the last word, not yet written
  struct Piece {
    Style style;
    std::string_view s;
  };
  std::vector<Piece> word;  // a word may run across spans (styles)
  size_t word_width = 0;
  auto flush_word = [&] {
    if (word.empty()) return;
    if (col > 0 && col + spaces + word_width > width) {
      out.add("\n");
      col = 0;
    } else if (spaces > 0) {
      out.add(std::string(spaces, ' '));
      col += spaces;
    }
    spaces = 0;
    for (const Piece& p : word) out.add(p.s, p.style);
    col += word_width;
    word.clear();
    word_width = 0;
  };
  for (const Span& span : text.spans()) {
    if (span.text.empty()) {
      flush_word();
      out.pause(span.pause);
      continue;
    }
    std::string_view rest = span.text;
    while (!rest.empty()) {
      size_t cut = rest.find_first_of(" \n");
      std::string_view run = rest.substr(0, cut);
      if (!run.empty()) {
        word.push_back({span.style, run});
        word_width += visible(run);
      }
      if (cut == std::string_view::npos) break;
      if (rest[cut] == ' ') {
        flush_word();
        ++spaces;  // written before the next word if it fits on the line
      } else {
        flush_word();
        out.add("\n");
        col = 0;
        spaces = 0;
      }
      rest.remove_prefix(cut + 1);
    }
  }
  flush_word();
  if (spaces > 0) out.add(std::string(spaces, ' '));
  return out;
}

std::string_view ansi_start(Style style) {
  switch (style) {
    case Style::kPlain:
      return "";
    case Style::kTitle:
      return "\x1b[1m";
    case Style::kDim:
      return "\x1b[2m";
    case Style::kGood:
      return "\x1b[32m";
    case Style::kBad:
      return "\x1b[31m";
    case Style::kWarn:
      return "\x1b[1;33m";
    case Style::kPlace:
      return "\x1b[36m";
    case Style::kPlayer:
      return "\x1b[1;35m";
    case Style::kCoins:
      return "\x1b[33m";
    case Style::kItem:
      return "\x1b[34m";
    case Style::kSpeech:
      return "\x1b[1;37m";
    case Style::kStory:
      return "\x1b[3m";
  }
  return "";
}

std::string to_ansi(const Text& text) {
  std::string out;
  for (const Span& s : text.spans()) {
    std::string_view start = ansi_start(s.style);
    if (start.empty()) {
      out += s.text;
      continue;
    }
    // Reset before each newline so a style never bleeds into the prompt.
    size_t from = 0;
    while (from < s.text.size()) {
      size_t nl = s.text.find('\n', from);
      size_t end = nl == std::string::npos ? s.text.size() : nl;
      if (end > from) {
        out += start;
        out.append(s.text, from, end - from);
        out += "\x1b[0m";
      }
      if (nl == std::string::npos) break;
      out += '\n';
      from = nl + 1;
    }
  }
  return out;
}

std::string with_commas(int64_t n) {
  bool negative = n < 0;
  uint64_t u =
      negative ? 0 - static_cast<uint64_t>(n) : static_cast<uint64_t>(n);
  std::string digits = std::to_string(u);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return negative ? "-" + out : out;
}

std::string sanitize(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    auto u = static_cast<unsigned char>(s[i]);
    if (u < 0x20 || u == 0x7f) {
      if (u == '\t') out += ' ';
      continue;
    }
    // U+0080..U+009F (C1 controls, e.g. CSI) in UTF-8.
    if (u == 0xc2 && i + 1 < s.size() &&
        static_cast<unsigned char>(s[i + 1]) <= 0x9f &&
        static_cast<unsigned char>(s[i + 1]) >= 0x80) {
      ++i;
      continue;
    }
    out += s[i];
  }
  size_t b = out.find_first_not_of(' ');
  if (b == std::string::npos) return "";
  size_t e = out.find_last_not_of(' ');
  return out.substr(b, e - b + 1);
}

}  // namespace cmud::game
