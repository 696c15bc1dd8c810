// fuzz_html: the page path of ingest and web fetch. The input is a page's raw bytes in any
// charset. Invariants:
//   - decode_to_utf8 (detected, and with a declared charset picked from the data) gives valid
//     UTF-8 or an error, never an exception;
//   - html_to_text and extract_main_text on the decoded text, and extract_main_text on the raw
//     bytes (it promises to replace invalid sequences), give valid UTF-8 in every field;
//   - a sections' text is part of the main text.
#include <string>
#include <string_view>

#include "index/charset.h"
#include "index/html_text.h"
#include "index/main_text.h"
#include "index/utf8.h"
#include "tests/fuzz/fuzz_util.h"

namespace {

using chaja::utf8::is_valid;

void check_main_text(std::string_view html) {
  chaja::Result<chaja::MainText> main =
      chaja::extract_main_text(html, "https://example.com/a/b.html");
  if (!main) {
    FUZZ_CHECK(main.error().kind == chaja::ErrorKind::kTooLarge ||
               main.error().kind == chaja::ErrorKind::kInvalidInput);
    return;
  }
  FUZZ_CHECK(is_valid(main->title));
  FUZZ_CHECK(is_valid(main->canonical_url));
  FUZZ_CHECK(is_valid(main->published));
  FUZZ_CHECK(is_valid(main->language));
  FUZZ_CHECK(is_valid(main->text));
  for (const chaja::MainTextSection& s : main->sections) {
    FUZZ_CHECK(is_valid(s.heading));
    FUZZ_CHECK(is_valid(s.text));
    FUZZ_CHECK(main->text.find(s.text) != std::string::npos);
  }
}

void check_html(std::string_view utf8_html) {
  FUZZ_CHECK(is_valid(utf8_html));
  chaja::Result<chaja::HtmlText> text = chaja::html_to_text(utf8_html);
  if (text) {
    FUZZ_CHECK(is_valid(text->title));
    FUZZ_CHECK(is_valid(text->text));
  } else {
    FUZZ_CHECK(text.error().kind == chaja::ErrorKind::kTooLarge ||
               text.error().kind == chaja::ErrorKind::kInvalidInput);
  }
  check_main_text(utf8_html);
}

// Charsets a server or a <meta> may declare, including wrong and unknown ones.
constexpr std::string_view kDeclared[] = {
    "utf-8",  "euc-kr",   "cp949",     "iso-8859-1",        "windows-1252",
    "utf-16", "utf-16le", "shift_jis", "x-no-such-charset", "UTF-8"};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  chaja::Result<chaja::DecodedText> decoded = chaja::decode_to_utf8(std::string(input));
  if (decoded) check_html(decoded->text);
  const std::string_view declared =
      kDeclared[chaja::fuzz::hash_bytes(input) % (sizeof kDeclared / sizeof kDeclared[0])];
  chaja::Result<chaja::DecodedText> as_declared =
      chaja::decode_to_utf8(std::string(input), declared);
  if (as_declared) FUZZ_CHECK(is_valid(as_declared->text));
  check_main_text(input);
  return 0;
}
