// End to end, the page's files as `chaja serve` sends them: types, the CSP, revalidation by
// ETag, gzip rather than brotli (Debian's httplib compresses brotli at its slowest quality), and
// that they need no key. The page itself is tested in a browser (tests/browser/).
#include <catch2/catch.hpp>

#include "../support/chaja_process.h"

using namespace chaja::test;

TEST_CASE("e2e web: the page's files, their headers and compression", "[e2e][web_ui]") {
  TempDir data;
  Serve server({}, data.path().string());
  auto c = server.client();
  c.set_decompress(false);

  auto page = c.Get("/");
  REQUIRE(page);
  CHECK(page->status == 200);
  CHECK(page->get_header_value("Content-Type") == "text/html; charset=utf-8");
  const std::string csp = page->get_header_value("Content-Security-Policy");
  CHECK(has(csp, "script-src 'self'"));
  CHECK(has(csp, "default-src 'none'"));
  CHECK(!has(csp, "unsafe-inline"));
  CHECK(page->get_header_value("X-Content-Type-Options") == "nosniff");
  CHECK(has(page->body, "/app.js"));

  const struct {
    const char* path;
    const char* type;
  } files[] = {{"/app.js", "text/javascript; charset=utf-8"},
               {"/widget.js", "text/javascript; charset=utf-8"},
               {"/app.css", "text/css; charset=utf-8"},
               {"/favicon.svg", "image/svg+xml"}};
  for (const auto& f : files) {
    INFO(f.path);
    auto r = c.Get(f.path);
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(r->get_header_value("Content-Type") == f.type);
    const std::string etag = r->get_header_value("ETag");
    REQUIRE(etag.size() > 2);
    auto again = c.Get(f.path, httplib::Headers{{"If-None-Match", etag}});
    REQUIRE(again);
    CHECK(again->status == 304);
    CHECK(again->body.empty());
  }
  // The bundles hold marked and the renderer, inside one function.
  const std::string app = c.Get("/app.js")->body;
  CHECK(has(app, "marked - a markdown parser"));
  CHECK(has(app, "const ChajaRender"));
  CHECK(app.rfind("// Chaja's browser bundle", 0) == 0);

  // A browser's Accept-Encoding gets gzip, never brotli.
  auto zipped = c.Get("/app.js", httplib::Headers{{"Accept-Encoding", "gzip, deflate, br, zstd"}});
  REQUIRE(zipped);
  CHECK(zipped->get_header_value("Content-Encoding") == "gzip");
  CHECK(zipped->body.size() < app.size() / 2);
  auto br_only = c.Get("/app.js", httplib::Headers{{"Accept-Encoding", "br"}});
  REQUIRE(br_only);
  CHECK(br_only->get_header_value("Content-Encoding").empty());
  CHECK(br_only->body == app);

  CHECK(c.Get("/nosuch.js")->status == 404);
  CHECK(c.Get("/../chaja.db")->status == 404);
}
