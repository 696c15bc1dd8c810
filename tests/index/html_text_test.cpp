#include "index/html_text.h"

#include <catch2/catch.hpp>

using namespace chaja;

TEST_CASE("html text keeps content, drops scripts, navigation and footers", "[html]") {
  const auto h = *html_to_text(R"(<!doctype html><html><head><title> 사내  복지 안내 </title>
    <style>body{color:red}</style><script>alert('x')</script></head><body>
    <nav><a href="/">Home</a> | <a href="/about">About</a></nav>
    <h1>복지 제도</h1><p>연차는 <b>15일</b>입니다.</p>
    <ul><li>재택근무 주 2회</li><li>교육비 200만 원</li></ul>
    <table><tr><th>항목</th><th>금액</th></tr><tr><td>축하금</td><td>50만 원</td></tr></table>
    <div hidden>secret hidden text</div>
    <footer>Copyright 2024</footer></body></html>)");
  CHECK(h.title == "사내 복지 안내");
  CHECK(h.text.find("# 복지 제도") != std::string::npos);
  CHECK(h.text.find("연차는 15일입니다.") != std::string::npos);
  CHECK(h.text.find("- 재택근무 주 2회") != std::string::npos);
  CHECK(h.text.find("축하금 | 50만 원") != std::string::npos);
  CHECK(h.text.find("alert") == std::string::npos);
  CHECK(h.text.find("color:red") == std::string::npos);
  CHECK(h.text.find("Home") == std::string::npos);
  CHECK(h.text.find("Copyright") == std::string::npos);
  CHECK(h.text.find("secret") == std::string::npos);
}

TEST_CASE("html title falls back to the first h1", "[html]") {
  CHECK(html_to_text("<h1>The Guide</h1><p>x</p>")->title == "The Guide");
  CHECK(html_to_text("<p>no title</p>")->title.empty());
}

TEST_CASE("broken and hostile markup does not crash", "[html]") {
  CHECK(html_to_text("<p>unclosed <b>bold <i>italic")->text == "unclosed bold italic");
  CHECK(html_to_text("")->text.empty());
  // Nesting within the limit parses; content past the walker's own depth cap is dropped.
  std::string deep;
  for (int i = 0; i < 3000; ++i) deep += "<div>";
  deep += "deep text";
  auto h = html_to_text(deep);
  REQUIRE(h.ok());
  CHECK(h->text.size() < 100);
  // Deeper than the limit is refused before gumbo sees it (its tree building is quadratic).
  for (const char* tag : {"<div>", "<b>", "<span class=\"x\">"}) {
    std::string hostile;
    for (int i = 0; i < 100000; ++i) hostile += tag;
    auto r = html_to_text(hostile);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == ErrorKind::kInvalidInput);
  }
}

TEST_CASE("the nesting estimate ignores void, self-closing and implicitly closed elements",
          "[html]") {
  CHECK(html_nesting_estimate("<div><div></div></div>") == 2);
  CHECK(html_nesting_estimate("<br><img src=x><hr/><p>a<p>b<li>c") == 0);
  CHECK(html_nesting_estimate("<script>if (a<b) { x = '<div><div>'; }</script><div></div>") == 1);
  CHECK(html_nesting_estimate("<!-- <div><div><div> --><div>") == 1);
  std::string many_paragraphs;
  for (int i = 0; i < 100000; ++i) many_paragraphs += "<p>text";
  CHECK(html_nesting_estimate(many_paragraphs) == 0);
}
