// UTF-8 helpers: validation, repair, decoding and the character classes the tokenizer and chunker
// need. Written by hand (about 150 lines) because ICU is not in SQLite here and pulling ICU in for
// these few functions would cost more than it serves; the decoder is strict (RFC 3629: no
// overlongs, no surrogates, nothing above U+10FFFF).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace chaja::utf8 {

inline constexpr char32_t kReplacement = 0xFFFD;

// Length of the valid sequence starting at s[pos], or 0 when it is not a valid sequence.
size_t valid_sequence_length(std::string_view s, size_t pos);

bool is_valid(std::string_view s);

// Replaces every invalid sequence by U+FFFD (maximal subpart practice) and drops NUL bytes.
// Returns how many invalid sequences were replaced.
size_t repair(std::string& s);

// Decodes the code point at s[pos] in valid UTF-8; sets len to its byte length.
// On invalid input returns kReplacement with len = 1, so loops always advance.
char32_t decode(std::string_view s, size_t pos, size_t& len);

void append(std::string& out, char32_t cp);

// Largest index <= pos that starts a code point (pos itself when it does).
size_t floor_boundary(std::string_view s, size_t pos);

// Number of code points.
size_t length(std::string_view s);

bool is_hangul(char32_t cp);       // syllables and jamo
bool is_han_or_kana(char32_t cp);  // CJK ideographs, hiragana, katakana
bool is_space(char32_t cp);        // Unicode white space incl. NBSP and ideographic space
bool is_word_char(char32_t cp);    // letters, digits, marks of non-CJK scripts, underscore
char32_t ascii_lower(char32_t cp);

}  // namespace chaja::utf8
