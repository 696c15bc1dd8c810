#include "index/main_text.h"

#include <catch2/catch.hpp>
#include <string>

#include "index/charset.h"
#include "index/html_text.h"
#include "index/test_util.h"
#include "index/utf8.h"

using namespace chaja;

namespace {

std::string fixture(const std::string& name) {
  return test::read_file(std::string(CHAJA_FIXTURES) + "/web/" + name);
}

using test::has;

}  // namespace

TEST_CASE("main text of a Korean news article keeps the story, drops the page around it",
          "[main_text]") {
  const auto r = extract_main_text(fixture("news_ko.html"),
                                   "https://www.hanbit-daily.example/news/view?id=42#top");
  REQUIRE(r.ok());
  const MainText& m = r.value();
  CHECK(m.title == "한빛시 도서관, 야간 개관 시범 운영 | 한빛일보");
  CHECK(m.canonical_url == "https://www.hanbit-daily.example/news/2026/03/library-night.html");
  CHECK(m.published == "2026-03-14T09:30:00+09:00");
  CHECK(m.language == "ko");
  const std::string& t = m.text;
  CHECK(has(t, "# 한빛시 도서관, 야간 개관 시범 운영"));
  CHECK(has(t, "중앙도서관을 밤 11시까지 개방하는 야간 개관을 시범 운영한다고 14일 밝혔다."));
  CHECK(has(t, "## 직장인과 수험생 수요 반영"));
  CHECK(has(t, "경비 인력도 두 명 늘린다."));
  // Paragraphs are separated by blank lines.
  CHECK(has(t, "밝혔다.\n\n시범 운영 기간은"));
  for (const char* gone : {"쿠키", "동의", "지역의 내일을 기록하는", "정치", "스포츠", "페이스북",
                           "카카오톡", "관련 기사", "작은도서관", "많이 본 뉴스", "버스 노선",
                           "광고 문의", "무단 전재", "Copyright", "dataLayer", "schema.org"})
    CHECK_FALSE(has(t, gone));
  REQUIRE(m.sections.size() >= 2);
  CHECK(m.sections[0].heading == "한빛시 도서관, 야간 개관 시범 운영");
  CHECK(m.sections.back().heading == "직장인과 수험생 수요 반영");
  CHECK(has(m.sections.back().text, "무인 반납기로 처리한다."));
}

TEST_CASE("main text of a documentation page keeps headings and code, drops the sidebar",
          "[main_text]") {
  const auto r = extract_main_text(fixture("docs_en.html"),
                                   "https://docs.widgetry.example/en/2.3/guide/cache.html");
  REQUIRE(r.ok());
  const MainText& m = r.value();
  CHECK(m.title == "Configuring the cache — Widgetry 2.3 documentation");
  CHECK(m.canonical_url == "https://docs.widgetry.example/en/2.3/guide/cache.html");
  CHECK(m.published == "2025-11-02");
  CHECK(m.language == "en-US");
  const std::string& t = m.text;
  CHECK(has(t, "# Configuring the cache"));
  CHECK(has(t, "## Setting the size"));
  CHECK(has(t, "## Disabling the disk layer"));
  CHECK(has(t, "the least recently used entries are evicted first."));
  CHECK(has(t, "[cache]\nmemory_mb = 256\ndisk_path = \"/var/cache/widgetry\""));
  CHECK(has(t, "Restart the service after changing these values"));
  CHECK(has(t, "Note: entries written by version 2.2 are ignored"));
  for (const char* gone : {"Installation", "Quickstart", "Writing plugins", "API reference",
                           "Changelog", "Search docs", "Docs »", "Widgetry contributors"})
    CHECK_FALSE(has(t, gone));
  CHECK(m.sections.size() == 3);
}

TEST_CASE("main text renders a comparison table as rows", "[main_text]") {
  const auto r = extract_main_text(fixture("table_en.html"), "https://reviews.example/notes");
  REQUIRE(r.ok());
  const std::string& t = r->text;
  CHECK(r->title == "Comparing three note-taking apps");
  CHECK(r->canonical_url.empty());
  CHECK(r->published.empty());
  CHECK(has(t, "App | Offline mode | Price per month | Export formats\n"));
  CHECK(has(t, "Quillnote | Full | $4 | Markdown, PDF\n"));
  CHECK(has(t, "Paperleaf | Read only | Free | HTML\n"));
  CHECK(has(t, "Inkstone | Full | $8 | Markdown, HTML, DOCX"));
  CHECK(has(t, "We used each app for a month"));
  CHECK(has(t, "Quillnote is the best value for most people."));
  for (const char* gone : {"Home", "Deals", "weekly reviews", "Privacy"}) CHECK_FALSE(has(t, gone));
}

TEST_CASE("a page of mostly navigation gives a short text that is not the menu", "[main_text]") {
  const auto r = extract_main_text(fixture("nav_only.html"), "https://store.example/sitemap");
  REQUIRE(r.ok());
  const std::string& t = r->text;
  CHECK(t.size() < 120);
  for (const char* gone : {"Women", "Shoes", "Watches", "Gift cards", "Careers", "Returns"})
    CHECK_FALSE(has(t, gone));
  CHECK(r->title == "Site map — Example Store");
}

TEST_CASE("main text: landmark, scoring and link-farm heuristics", "[main_text]") {
  // <main> is taken when there is no article; a page-level header outside it is dropped.
  auto r = extract_main_text(
      "<header><p>Site wide header text that should go away entirely.</p></header><main><p>"
      "This is the main content of the page, which is long enough to count as substantial. "
      "It has several sentences. Each one adds to the length, and the length is what counts "
      "here.</p></main>",
      "");
  REQUIRE(r.ok());
  CHECK(has(r->text, "This is the main content"));
  CHECK_FALSE(has(r->text, "Site wide header"));
  // JSON-LD datePublished when no meta tag says it; a link inside a sentence is kept.
  r = extract_main_text(
      R"(<script type="application/ld+json">{"@graph":[{"datePublished" : "2024-05-01"}]}</script>
      <div class="post"><p>First paragraph of prose, with a <a href="/x">link</a> in it, ends here.</p>
      <p>Second paragraph of prose, also with commas, periods and so on. It goes on.</p></div>
      <div class="popup-modal"><p>Subscribe now, before it is too late, please do.</p></div>)",
      "https://a.example/b/c");
  REQUIRE(r.ok());
  CHECK(r->published == "2024-05-01");
  CHECK(has(r->text, "with a link in it, ends here."));
  CHECK(has(r->text, "Second paragraph of prose"));
  CHECK_FALSE(has(r->text, "Subscribe now"));
  // No landmark and no class hints: paragraph scoring picks the prose and its sibling block.
  r = extract_main_text(
      "<div><a href=/>A home link</a> <a href=/b>Another link here</a> <a href=/c>Third</a></div>"
      "<div><div><p>Plain prose paragraph one, long enough to count, with commas, and a stop.</p>"
      "<p>Plain prose paragraph two continues the story. It has commas, sentences, and stops.</p>"
      "</div><div><p>A sibling block of prose that belongs too, with a sentence. Yes, it does.</p>"
      "</div></div><div><p>Short.</p></div>",
      "");
  REQUIRE(r.ok());
  CHECK(has(r->text, "Plain prose paragraph one"));
  CHECK(has(r->text, "A sibling block of prose"));
  CHECK_FALSE(has(r->text, "home link"));
  CHECK_FALSE(has(r->text, "Short."));
  // <time datetime> inside the article.
  r = extract_main_text("<article><time datetime=\"2023-01-02\">Jan 2</time><p>" +
                            std::string(200, 'x') + "</p></article>",
                        "");
  REQUIRE(r.ok());
  CHECK(r->published == "2023-01-02");
}

TEST_CASE("resolve_url follows RFC 3986", "[main_text]") {
  const std::string base = "https://h.example/a/b/c?q=1#f";
  CHECK(resolve_url(base, "https://x.example/y") == "https://x.example/y");
  CHECK(resolve_url(base, "//cdn.example/z") == "https://cdn.example/z");
  CHECK(resolve_url(base, "/root") == "https://h.example/root");
  CHECK(resolve_url(base, "d") == "https://h.example/a/b/d");
  CHECK(resolve_url(base, "../d?x=2") == "https://h.example/a/d?x=2");
  CHECK(resolve_url(base, "./") == "https://h.example/a/b/");
  CHECK(resolve_url(base, "?z") == "https://h.example/a/b/c?z");
  CHECK(resolve_url(base, "#g") == "https://h.example/a/b/c?q=1#g");
  CHECK(resolve_url("https://h.example", "p") == "https://h.example/p");
  CHECK(resolve_url("", "p").empty());
  CHECK(resolve_url("not a url", "/p").empty());
}

TEST_CASE("main text survives hostile input", "[main_text]") {
  // Huge: refused before parsing.
  const auto huge = extract_main_text(std::string(kMaxHtmlBytes + 1, 'a'), "");
  REQUIRE_FALSE(huge.ok());
  CHECK(huge.error().kind == ErrorKind::kTooLarge);
  // Nested past the pre-scan limit: refused.
  std::string deeper;
  for (size_t i = 0; i < kMaxHtmlNesting + 10; ++i) deeper += "<div>";
  const auto refused = extract_main_text(deeper, "");
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().kind == ErrorKind::kInvalidInput);
  // Nested within the limit: parses; content past the walker's depth cap is simply dropped.
  std::string deep;
  for (int i = 0; i < 3000; ++i) deep += "<div>";
  deep += "<p>deep text, deep text, deep text, deep text.</p>";
  CHECK(extract_main_text(deep, "").ok());
  // Malformed, empty, no body, only a head.
  auto r = extract_main_text("<p>unclosed <b>bold <i>italic, with a sentence. And another.", "");
  REQUIRE(r.ok());
  CHECK(has(r->text, "unclosed bold italic"));
  CHECK(extract_main_text("", "")->text.empty());
  r = extract_main_text("<html><head><title>Only a head</title></head></html>", "x");
  REQUIRE(r.ok());
  CHECK(r->title == "Only a head");
  CHECK(r->text.empty());
  CHECK(extract_main_text("<<<>>></></><!-- unterminated", "")->text.size() < 40);
  // Invalid UTF-8 is replaced, never passed through.
  r = extract_main_text(
      "<title>bad \xff byte</title><article><p>Text with a bad \xc3\x28 sequence, and more. " +
          std::string(200, 'y') + "</p></article>",
      "");
  REQUIRE(r.ok());
  CHECK(utf8::is_valid(r->title));
  CHECK(utf8::is_valid(r->text));
  CHECK(has(r->text, "Text with a bad"));
  // A canonical link with a script scheme is not reported.
  r = extract_main_text("<link rel=canonical href=\"javascript:alert(1)\">", "https://a.example/");
  REQUIRE(r.ok());
  CHECK(r->canonical_url.empty());
}

// Found by tests/fuzz/fuzz_html: a text line of '#' alone made the section split throw
// std::out_of_range out of extract_main_text (a fetched page could do that). Only the
// renderer's heading lines ("## Title") start a section; page text that starts with '#' is text.
TEST_CASE("main text: lines of page text starting with # are text, not headings",
          "[main_text][fuzz]") {
  const std::string page =
      "<html><body><article><h1>Release notes</h1>"
      "<p>The new search index makes every query faster, and the old one is gone for good.</p>"
      "<pre>##\n#1 in sales</pre>"
      "<p>Upgrading keeps your notes and settings exactly as they were before the change.</p>"
      "</article></body></html>";
  auto r = extract_main_text(page, "https://example.com/notes");
  REQUIRE(r.ok());
  CHECK(r->text.find("\n##\n#1 in sales\n") != std::string::npos);
  REQUIRE(r->sections.size() == 1);
  CHECK(r->sections[0].heading == "Release notes");
  CHECK(r->sections[0].text.find("#1 in sales") != std::string::npos);

  // The fuzzer's input: a Korean EUC-KR page, mutated.
  const std::string bytes = test::read_file(std::string(CHAJA_SOURCE_DIR) +
                                            "/tests/fuzz/regressions/fuzz_html/"
                                            "crash-e8ca8db252559e3d047a575dfc31b78741398656");
  auto decoded = decode_to_utf8(bytes);
  REQUIRE(decoded.ok());
  auto fuzzed = extract_main_text(decoded->text, "https://example.com/");
  REQUIRE(fuzzed.ok());
  CHECK(utf8::is_valid(fuzzed->text));
}
