#include "index/utf8.h"

#include <catch2/catch.hpp>

using namespace chaja;

TEST_CASE("utf8 validation follows RFC 3629", "[utf8]") {
  CHECK(utf8::is_valid(""));
  CHECK(utf8::is_valid("plain ascii"));
  CHECK(utf8::is_valid("한국어 텍스트"));
  CHECK(utf8::is_valid("\xF0\x9F\x98\x80"));        // U+1F600
  CHECK_FALSE(utf8::is_valid("\xC0\xAF"));          // overlong '/'
  CHECK_FALSE(utf8::is_valid("\xE0\x80\xAF"));      // overlong
  CHECK_FALSE(utf8::is_valid("\xED\xA0\x80"));      // surrogate D800
  CHECK_FALSE(utf8::is_valid("\xF4\x90\x80\x80"));  // above U+10FFFF
  CHECK_FALSE(utf8::is_valid("\xEA\xB0"));          // truncated 가
  CHECK_FALSE(utf8::is_valid("\x80"));              // lone continuation
  CHECK_FALSE(utf8::is_valid("\xFF"));
}

TEST_CASE("utf8 repair replaces each bad sequence once and keeps good text", "[utf8]") {
  std::string s = "ok \xEA\xB0 done \xFF\xFE end";
  const size_t n = utf8::repair(s);
  CHECK(n == 3);
  CHECK(utf8::is_valid(s));
  CHECK(s == "ok \xEF\xBF\xBD done \xEF\xBF\xBD\xEF\xBF\xBD end");

  std::string nul("a\0b", 3);
  CHECK(utf8::repair(nul) == 0);
  CHECK(nul == "ab");

  std::string good = "이미 올바른 문장";
  CHECK(utf8::repair(good) == 0);
  CHECK(good == "이미 올바른 문장");
}

TEST_CASE("utf8 decode and append round-trip every length", "[utf8]") {
  for (char32_t cp : {char32_t{'A'}, char32_t{0xE9}, char32_t{0xAC00}, char32_t{0x1F600}}) {
    std::string s;
    utf8::append(s, cp);
    size_t len = 0;
    CHECK(utf8::decode(s, 0, len) == cp);
    CHECK(len == s.size());
  }
  size_t len = 0;
  CHECK(utf8::decode("\xFF", 0, len) == utf8::kReplacement);
  CHECK(len == 1);
}

TEST_CASE("utf8 floor_boundary never lands inside a sequence", "[utf8]") {
  const std::string s = "가나";  // 6 bytes
  CHECK(utf8::floor_boundary(s, 0) == 0);
  CHECK(utf8::floor_boundary(s, 1) == 0);
  CHECK(utf8::floor_boundary(s, 2) == 0);
  CHECK(utf8::floor_boundary(s, 3) == 3);
  CHECK(utf8::floor_boundary(s, 5) == 3);
  CHECK(utf8::floor_boundary(s, 99) == 6);
  CHECK(utf8::length(s) == 2);
}

TEST_CASE("utf8 character classes", "[utf8]") {
  CHECK(utf8::is_hangul(0xAC00));
  CHECK(utf8::is_hangul(0x3131));  // ㄱ
  CHECK_FALSE(utf8::is_hangul('a'));
  CHECK(utf8::is_han_or_kana(0x6F22));  // 漢
  CHECK(utf8::is_space(0x3000));
  CHECK(utf8::is_word_char(0xE9));          // é
  CHECK_FALSE(utf8::is_word_char(0x3002));  // 。
  CHECK_FALSE(utf8::is_word_char('-'));
}
