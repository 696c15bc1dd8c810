// End to end, ingestion as an administrator uses it: a large upload becomes a job with progress
// (202, GET /v1/jobs/{id}); a job a dead process acknowledged is finished by the next start;
// re-ingesting a source replaces it; DELETE by source.
#include <catch2/catch.hpp>

#include <thread>

#include "../support/chaja_process.h"

namespace {

using namespace chaja::test;

json parse(const httplib::Result& r) {
  REQUIRE(r);
  INFO(r->body);
  json j = json::parse(r->body, nullptr, false);
  REQUIRE(!j.is_discarded());
  return j;
}

// Polls GET /v1/jobs/{id} until the job has ended; its last status.
json wait_job(httplib::Client& c, const std::string& id) {
  json job;
  for (int i = 0; i < 500; ++i) {
    job = parse(c.Get("/v1/jobs/" + id));
    if (job["state"] == "done" || job["state"] == "failed") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return job;
}

bool found(httplib::Client& c, const std::string& query, const std::string& source) {
  const json r =
      parse(c.Post("/v1/search", json{{"query", query}, {"k", 3}}.dump(), "application/json"));
  for (const json& hit : r["results"])
    if (hit["source"] == source) return true;
  return false;
}

}  // namespace

TEST_CASE("e2e jobs: large uploads are stored in the background, with progress", "[e2e][jobs]") {
  TempDir data;
  Serve server({}, data.path().string());
  auto c = server.client();

  // Asked for: a multipart upload with ?async=true.
  httplib::MultipartFormDataItems form = {
      {"file", "The Verrin aqueduct was finished in 1642 by the guild of masons.\n", "verrin.txt",
       "text/plain"},
      {"collection", "default", "", ""}};
  auto accepted = c.Post("/v1/documents?async=true", form);
  REQUIRE(accepted->status == 202);
  const json ticket = parse(accepted);
  const std::string id = ticket["job_id"].get<std::string>();
  CHECK(accepted->get_header_value("Location") == "/v1/jobs/" + id);
  const json job = wait_job(c, id);
  CHECK(job["state"] == "done");
  CHECK(job["progress"] == 1.0);
  CHECK(job["result"]["chunks"].get<int>() >= 1);
  CHECK(job["result"]["status"] == "added");
  CHECK(found(c, "Verrin aqueduct masons", "verrin.txt"));

  // Over the threshold (1 MiB of text): a job without asking.
  std::string big = "The Ostrel lighthouse keeper logs the weather every hour.\n\n";
  while (big.size() < (1u << 20) + 1000) big += "Filler sentence about nothing in particular. ";
  auto large = c.Post("/v1/documents",
                      json{{"title", "Ostrel"}, {"text", big}, {"source", "ostrel.txt"}}.dump(),
                      "application/json");
  REQUIRE(large->status == 202);
  const json large_job = wait_job(c, parse(large)["job_id"].get<std::string>());
  CHECK(large_job["state"] == "done");
  CHECK(large_job["bytes"].get<int64_t>() > (1 << 20));
  CHECK(found(c, "Ostrel lighthouse keeper weather", "ostrel.txt"));

  // Unknown and malformed job ids.
  CHECK(c.Get("/v1/jobs/" + std::string(32, 'a'))->status == 404);
  CHECK(c.Get("/v1/jobs/xyz")->status == 400);
}

TEST_CASE("e2e jobs: a job acknowledged by a process that died is finished by the next",
          "[e2e][jobs]") {
  TempDir data;
  // What a killed server leaves behind: its job file, written and fsync'd before the 202.
  fs::create_directories(data.path() / "jobs");
  const std::string id = "0123456789abcdef0123456789abcdef";
  {
    std::ofstream f(data.path() / "jobs" / (id + ".job"));
    f << json{{"collection", "default"},
              {"title", "Quarry"},
              {"source", "quarry.txt"},
              {"text", "The Helmsby quarry closed in 1931 after the flood."},
              {"metadata", json::object()},
              {"owner", ""},
              {"created_at", 1700000000}}
             .dump();
  }
  {
    std::ofstream f(data.path() / "jobs" / "deadbeef.job.tmp");  // never acknowledged
    f << "{";
  }
  Serve server({}, data.path().string());
  auto c = server.client();
  const json job = wait_job(c, id);
  CHECK(job["state"] == "done");
  CHECK(found(c, "Helmsby quarry flood", "quarry.txt"));
  CHECK(!fs::exists(data.path() / "jobs" / (id + ".job")));
  CHECK(!fs::exists(data.path() / "jobs" / "deadbeef.job.tmp"));
}

TEST_CASE("e2e documents: re-ingesting a source replaces it; delete by source",
          "[e2e][jobs][documents]") {
  TempDir data;
  Serve server({}, data.path().string());
  auto c = server.client();
  auto put = [&](const std::string& text) {
    return c.Post("/v1/documents",
                  json{{"title", "Menu"}, {"text", text}, {"source", "menu.txt"}}.dump(),
                  "application/json");
  };
  REQUIRE(put("The canteen serves soup on Mondays.")->status == 201);
  auto again = put("The canteen serves noodles on Mondays.");
  REQUIRE(again->status == 200);
  CHECK(parse(again)["status"] == "replaced");
  CHECK(found(c, "canteen noodles Mondays", "menu.txt"));
  const json listed = parse(c.Get("/v1/documents"));
  CHECK(listed["documents"].size() == 1);

  CHECK(c.Delete("/v1/documents?source=menu.txt")->status == 200);
  CHECK(!found(c, "canteen noodles Mondays", "menu.txt"));
  CHECK(c.Delete("/v1/documents?source=menu.txt")->status == 404);
  CHECK(c.Delete("/v1/documents")->status == 400);
}
