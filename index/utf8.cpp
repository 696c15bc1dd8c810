#include "index/utf8.h"

namespace chaja::utf8 {
namespace {

unsigned char byte_at(std::string_view s, size_t i) {
  return static_cast<unsigned char>(s[i]);
}
bool is_cont(unsigned char b) {
  return (b & 0xC0) == 0x80;
}

}  // namespace

size_t valid_sequence_length(std::string_view s, size_t pos) {
  const size_t n = s.size();
  if (pos >= n) return 0;
  const unsigned char b0 = byte_at(s, pos);
  if (b0 < 0x80) return 1;
  size_t len = 0;
  unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    len = 2;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    len = 3;
    if (b0 == 0xE0) lo = 0xA0;  // no overlongs
    if (b0 == 0xED) hi = 0x9F;  // no surrogates
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    len = 4;
    if (b0 == 0xF0) lo = 0x90;
    if (b0 == 0xF4) hi = 0x8F;  // <= U+10FFFF
  } else {
    return 0;
  }
  if (pos + len > n) return 0;
  const unsigned char b1 = byte_at(s, pos + 1);
  if (b1 < lo || b1 > hi) return 0;
  for (size_t i = 2; i < len; ++i)
    if (!is_cont(byte_at(s, pos + i))) return 0;
  return len;
}

bool is_valid(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    if (byte_at(s, i) < 0x80) {
      ++i;
      continue;
    }
    const size_t len = valid_sequence_length(s, i);
    if (len == 0) return false;
    i += len;
  }
  return true;
}

size_t repair(std::string& s) {
  std::string out;
  size_t replaced = 0;
  bool changed = false;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    const unsigned char b = byte_at(s, i);
    if (b == 0) {
      changed = true;
      ++i;
      continue;
    }
    const size_t len = valid_sequence_length(s, i);
    if (len > 0) {
      out.append(s, i, len);
      i += len;
      continue;
    }
    // Maximal subpart: skip the lead byte and the continuation bytes that could belong to it.
    changed = true;
    ++replaced;
    append(out, kReplacement);
    ++i;
    while (i < s.size() && is_cont(byte_at(s, i)) && b >= 0xC0) ++i;
  }
  if (changed) s.swap(out);
  return replaced;
}

char32_t decode(std::string_view s, size_t pos, size_t& len) {
  len = valid_sequence_length(s, pos);
  if (len == 0) {
    len = 1;
    return kReplacement;
  }
  const unsigned char b0 = byte_at(s, pos);
  if (len == 1) return b0;
  char32_t cp = b0 & (0x7F >> len);
  for (size_t i = 1; i < len; ++i) cp = (cp << 6) | (byte_at(s, pos + i) & 0x3F);
  return cp;
}

void append(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

size_t floor_boundary(std::string_view s, size_t pos) {
  if (pos >= s.size()) return s.size();
  while (pos > 0 && is_cont(byte_at(s, pos))) --pos;
  return pos;
}

size_t length(std::string_view s) {
  size_t n = 0;
  for (size_t i = 0; i < s.size(); ++n) {
    size_t len = 0;
    decode(s, i, len);
    i += len;
  }
  return n;
}

bool is_hangul(char32_t cp) {
  return (cp >= 0xAC00 && cp <= 0xD7A3) ||  // syllables
         (cp >= 0x1100 && cp <= 0x11FF) ||  // jamo
         (cp >= 0x3130 && cp <= 0x318F) ||  // compatibility jamo
         (cp >= 0xA960 && cp <= 0xA97F) || (cp >= 0xD7B0 && cp <= 0xD7FF);
}

bool is_han_or_kana(char32_t cp) {
  return (cp >= 0x4E00 && cp <= 0x9FFF) ||    // CJK unified ideographs
         (cp >= 0x3400 && cp <= 0x4DBF) ||    // extension A
         (cp >= 0xF900 && cp <= 0xFAFF) ||    // compatibility ideographs
         (cp >= 0x20000 && cp <= 0x2FA1F) ||  // supplementary ideographs
         (cp >= 0x3040 && cp <= 0x30FF) ||    // hiragana, katakana
         (cp >= 0x31F0 && cp <= 0x31FF);
}

bool is_space(char32_t cp) {
  return cp == ' ' || (cp >= 0x09 && cp <= 0x0D) || cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
         (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F ||
         cp == 0x205F || cp == 0x3000 || cp == 0xFEFF;
}

bool is_word_char(char32_t cp) {
  if (cp < 0x80) {
    return (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') || (cp >= '0' && cp <= '9') ||
           cp == '_';
  }
  if (is_hangul(cp) || is_han_or_kana(cp) || is_space(cp)) return false;
  // Latin-1 letters (not the symbols and punctuation of that block).
  if (cp < 0x100) return cp >= 0xC0 && cp != 0xD7 && cp != 0xF7;
  // General punctuation, symbols, arrows, box drawing, CJK punctuation, fullwidth punctuation.
  if ((cp >= 0x2000 && cp <= 0x2BFF) || (cp >= 0x3000 && cp <= 0x303F) ||
      (cp >= 0xFE30 && cp <= 0xFE4F) || (cp >= 0xFF00 && cp <= 0xFF0F) ||
      (cp >= 0xFF1A && cp <= 0xFF20) || (cp >= 0xFF3B && cp <= 0xFF40) ||
      (cp >= 0xFF5B && cp <= 0xFF65) || cp == kReplacement || (cp >= 0x1F000 && cp <= 0x1FAFF))
    return false;
  return true;  // other scripts' letters, digits and marks
}

char32_t ascii_lower(char32_t cp) {
  return (cp >= 'A' && cp <= 'Z') ? cp + 32 : cp;
}

}  // namespace chaja::utf8
