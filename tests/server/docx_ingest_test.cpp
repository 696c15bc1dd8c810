// End to end, .docx: `chaja index` a Korean .docx and `chaja ask` cites it; a multipart upload of
// the same file to `chaja serve` is stored and found by /v1/search. Fixtures: tests/fixtures/docx.
#include <catch2/catch.hpp>

#include "../support/chaja_process.h"

namespace {

using namespace chaja::test;

std::string docx_fixture(const std::string& name) {
  return std::string(CHAJA_FIXTURES) + "/docx/" + name;
}

}  // namespace

TEST_CASE("e2e docx: chaja index a Korean .docx, then chaja ask cites it", "[e2e][docx]") {
  TempDir data;
  const std::string d = "--data '" + data.path().string() + "'";
  const Run indexed = run("", "index '" + docx_fixture("korean.docx") + "' " + d);
  INFO(describe(indexed));
  REQUIRE(indexed.exit_code == 0);

  const Run asked =
      run("", "ask --json " + d + " '한빛반도체 판교 연구소의 수석 연구원은 몇 명인가요?'");
  INFO(describe(asked));
  REQUIRE(asked.exit_code == 0);
  const json j = parse_json(asked);
  CHECK(has(j["answer"].get<std::string>(), "87명"));
  REQUIRE_FALSE(j["citations"].empty());
  const std::string source = j["citations"][0]["source"];
  CHECK(source.ends_with(".docx"));
  CHECK(j["citations"][0]["title"] == "한빛반도체 회사 소개");

  // A password-protected file is reported by name and the run goes on.
  const Run locked = run("", "index '" + docx_fixture("encrypted.docx") + "' " + d);
  INFO(describe(locked));
  CHECK(has(locked.out + locked.err, "encrypted"));
}

TEST_CASE("e2e docx: multipart upload of a .docx to chaja serve, then found by /v1/search",
          "[e2e][docx]") {
  TempDir data;
  Serve serve({}, data.path().string(), data / "serve.log");
  httplib::Client c = serve.client();
  const std::string docx = read_file(docx_fixture("korean.docx"));
  REQUIRE(docx.size() > 500);
  const std::string mime =
      "application/vnd.openxmlformats-officedocument.wordprocessingml.document";
  auto added =
      c.Post("/v1/documents", httplib::MultipartFormDataItems{{"file", docx, "hanbit.docx", mime}});
  REQUIRE(added);
  INFO(added->body);
  REQUIRE(added->status == 201);
  const int64_t id = json::parse(added->body)["id"];

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

  auto broken = c.Post("/v1/documents",
                       httplib::MultipartFormDataItems{
                           {"file", read_file(docx_fixture("corrupt.docx")), "b.docx", mime}});
  REQUIRE(broken);
  CHECK(broken->status == 400);
  CHECK(has(broken->body, "not a readable .docx"));
  auto bomb = c.Post("/v1/documents",
                     httplib::MultipartFormDataItems{
                         {"file", read_file(docx_fixture("bomb_declared.docx")), "z.docx", mime}});
  REQUIRE(bomb);
  CHECK(bomb->status == 413);
}
