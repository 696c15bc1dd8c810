// End to end, PDFs: `chaja index` a Korean PDF and `chaja ask` cites it; a multipart upload of the
// same PDF to `chaja serve` is stored and found by /v1/search. Fixtures: tests/fixtures/pdf.
#include <catch2/catch.hpp>

#include "../support/chaja_process.h"

namespace {

using namespace chaja::test;

std::string pdf_fixture(const std::string& name) {
  return std::string(CHAJA_FIXTURES) + "/pdf/" + name;
}

}  // namespace

TEST_CASE("e2e pdf: chaja index a Korean PDF, then chaja ask cites it", "[e2e][pdf]") {
  TempDir data;
  const std::string d = "--data '" + data.path().string() + "'";
  const Run indexed = run("", "index '" + pdf_fixture("korean.pdf") + "' " + d);
  INFO(describe(indexed));
  REQUIRE(indexed.exit_code == 0);

  const Run asked = run("", "ask --json " + d + " '한빛반도체 청주 공장의 직원 수는 몇 명인가요?'");
  INFO(describe(asked));
  REQUIRE(asked.exit_code == 0);
  const json j = parse_json(asked);
  CHECK(has(j["answer"].get<std::string>(), "1,240명"));
  REQUIRE_FALSE(j["citations"].empty());
  const std::string source = j["citations"][0]["source"];
  CHECK(source.ends_with(".pdf"));
  CHECK(j["citations"][0]["title"] == "한빛반도체 회사 소개");

  // A locked PDF is reported by name and the run goes on (exit 0, nothing stored from it).
  const Run locked = run("", "index '" + pdf_fixture("encrypted.pdf") + "' " + d);
  INFO(describe(locked));
  CHECK(has(locked.out + locked.err, "encrypted"));
}

TEST_CASE("e2e pdf: multipart upload of a PDF to chaja serve, then found by /v1/search",
          "[e2e][pdf]") {
  TempDir data;
  Serve serve({}, data.path().string(), data / "serve.log");
  httplib::Client c = serve.client();
  const std::string pdf = read_file(pdf_fixture("korean.pdf"));
  REQUIRE(pdf.size() > 1000);
  auto added =
      c.Post("/v1/documents",
             httplib::MultipartFormDataItems{{"file", pdf, "hanbit.pdf", "application/pdf"}});
  REQUIRE(added);
  INFO(added->body);
  REQUIRE(added->status == 201);
  const json doc = json::parse(added->body);
  const int64_t id = doc["id"];

  auto found = c.Post("/v1/search", json{{"query", "청주 공장 준공"}}.dump(), "application/json");
  REQUIRE(found);
  INFO(found->body);
  REQUIRE(found->status == 200);
  bool hit = false;
  const json results = json::parse(found->body)["results"];
  for (const json& r : results)
    if (r["doc_id"] == id) hit = true;
  CHECK(hit);

  auto got = c.Get("/v1/documents/" + std::to_string(id));
  REQUIRE(got);
  INFO(got->body);
  CHECK(json::parse(got->body)["title"] == "한빛반도체 회사 소개");

  auto locked =
      c.Post("/v1/documents",
             httplib::MultipartFormDataItems{
                 {"file", read_file(pdf_fixture("encrypted.pdf")), "l.pdf", "application/pdf"}});
  REQUIRE(locked);
  CHECK(locked->status == 400);
  auto broken =
      c.Post("/v1/documents",
             httplib::MultipartFormDataItems{
                 {"file", read_file(pdf_fixture("corrupt.pdf")), "b.pdf", "application/pdf"}});
  REQUIRE(broken);
  CHECK(broken->status == 400);
  CHECK(has(broken->body, "not a readable PDF"));
}
