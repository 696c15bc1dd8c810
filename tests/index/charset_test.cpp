#include "index/charset.h"

#include <iconv.h>

#include <catch2/catch.hpp>

#include "index/utf8.h"

using namespace chaja;

namespace {

// UTF-8 to another charset, for building test input.
std::string encode(const std::string& utf8_text, const char* charset) {
  iconv_t cd = iconv_open(charset, "UTF-8");
  REQUIRE(cd != reinterpret_cast<iconv_t>(-1));
  std::string out(utf8_text.size() * 2, '\0');
  char* in = const_cast<char*>(utf8_text.data());
  size_t in_left = utf8_text.size(), out_left = out.size();
  char* o = out.data();
  REQUIRE(iconv(cd, &in, &in_left, &o, &out_left) != static_cast<size_t>(-1));
  iconv_close(cd);
  out.resize(out.size() - out_left);
  return out;
}

}  // namespace

TEST_CASE("UTF-8 passes through; a BOM is dropped", "[charset]") {
  auto r = decode_to_utf8("\xEF\xBB\xBF한글 text");
  REQUIRE(r.ok());
  CHECK(r->text == "한글 text");
  CHECK(r->note.empty());
}

TEST_CASE("CP949 (EUC-KR) text is detected and converted", "[charset]") {
  const std::string text =
      "보성 녹차 축제는 매년 5월에 열린다. 올해 축제에는 약 12만 명의 방문객이 다녀갔다.";
  const std::string encoded = encode(text, "CP949");
  REQUIRE_FALSE(utf8::is_valid(encoded));
  auto r = decode_to_utf8(encoded);
  REQUIRE(r.ok());
  CHECK(r->text == text);
  CHECK(r->note.rfind("converted from", 0) == 0);
  // A declared charset is used as given; EUC-KR is read as its superset CP949.
  auto declared = decode_to_utf8(encoded, "euc-kr");
  REQUIRE(declared.ok());
  CHECK(declared->text == text);
}

TEST_CASE("UTF-16 with a BOM is converted", "[charset]") {
  const std::string le(
      "\xFF\xFE"
      "A\0\x00\xAC",
      6);  // "A가" in UTF-16LE
  auto r = decode_to_utf8(le);
  REQUIRE(r.ok());
  CHECK(r->text == "A가");
}

TEST_CASE("a few stray bytes in UTF-8 text are repaired with a note", "[charset]") {
  std::string text;
  for (int i = 0; i < 50; ++i) text += "정상적인 한국어 문장입니다. ";
  text += "\xFF";
  auto r = decode_to_utf8(text);
  REQUIRE(r.ok());
  CHECK(utf8::is_valid(r->text));
  CHECK_FALSE(r->note.empty());
}

TEST_CASE("binary data is rejected", "[charset]") {
  std::string bin;
  for (int i = 0; i < 4096; ++i) bin.push_back(static_cast<char>(i % 7 == 0 ? 0 : (i * 37) & 0xFF));
  auto r = decode_to_utf8(bin);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().kind == ErrorKind::kInvalidInput);
}

TEST_CASE("an unknown declared charset is an error from convert_to_utf8", "[charset]") {
  auto r = convert_to_utf8("abc", "no-such-charset");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().kind == ErrorKind::kUnsupported);
}
