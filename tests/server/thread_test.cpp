// End to end, threads: a follow-up continues a conversation through `chaja ask --thread` and
// through POST /v1/ask with thread_id; the thread is read and deleted over HTTP. The answers are
// the extractive model's, over docs/sample.
#include <catch2/catch.hpp>

#include "../support/chaja_process.h"

namespace {

using namespace chaja::test;

std::string sample() {
  return std::string(CHAJA_SOURCE_DIR) + "/docs/sample";
}

json parse_json(const std::string& body) {
  INFO(body);
  json j = json::parse(body, nullptr, false);
  REQUIRE(j.is_object());
  return j;
}

bool cites(const json& response, const std::string& file) {
  for (const json& c : response["citations"])
    if (has(c["source"].get<std::string>(), file)) return true;
  return false;
}

}  // namespace

TEST_CASE("e2e threads: chaja ask --thread resolves a follow-up", "[e2e][threads]") {
  TempDir data;
  const std::string d = "--data '" + data.path().string() + "'";
  REQUIRE(run("", "index '" + sample() + "' " + d).exit_code == 0);

  const Run first = run("", "ask --json " + d + " '한빛반도체의 대표이사는 누구인가요?'");
  INFO(describe(first));
  REQUIRE(first.exit_code == 0);
  const json one = parse_json(first.out);
  REQUIRE(one["thread_id"].is_string());
  const std::string thread = one["thread_id"];
  CHECK(thread.size() == 32);
  CHECK(has(one["answer"], "박서연"));
  // Three related questions, in Korean.
  REQUIRE(one["related_questions"].size() == 3);
  for (const json& q : one["related_questions"]) CHECK(has(q.get<std::string>(), "?"));

  // "그 회사" is the company the first question was about.
  const Run second =
      run("", "ask --json " + d + " --thread " + thread + " '그 회사의 기업 가치는?'");
  INFO(describe(second));
  REQUIRE(second.exit_code == 0);
  const json two = parse_json(second.out);
  CHECK(two["thread_id"] == thread);
  CHECK(has(two["query"], "한빛반도체"));
  CHECK(has(two["answer"], "2조 3,000억"));
  CHECK(cites(two, "hanbit-semiconductor-ko.txt"));
  // Every cited sentence is checked against its source.
  REQUIRE_FALSE(two["claims"].empty());
  for (const json& c : two["claims"]) CHECK(c["supported"] == true);

  // Without the thread, the same words find no company.
  const Run alone = run("", "ask --json " + d + " '그 회사의 기업 가치는?'");
  const json three = parse_json(alone.out);
  CHECK(three["query"] == "");
  CHECK(three["thread_id"] != thread);

  const Run unknown =
      run("", "ask " + d + " --thread 0123456789abcdef0123456789abcdef 'anything?'");
  CHECK(unknown.exit_code == 1);
  CHECK(has(unknown.err, "thread"));
}

TEST_CASE("e2e threads: POST /v1/ask with thread_id, GET and DELETE /v1/threads/{id}",
          "[e2e][threads]") {
  TempDir data;
  REQUIRE(run("", "index '" + sample() + "' --data '" + data.path().string() + "'").exit_code == 0);
  Serve serve({}, data.path().string(), data / "serve.log");
  auto c = serve.client();

  auto r1 = c.Post("/v1/ask", R"({"query":"When was the Greywick Point lighthouse first lit?"})",
                   "application/json");
  REQUIRE(r1);
  REQUIRE(r1->status == 200);
  const json one = parse_json(r1->body);
  const std::string thread = one["thread_id"];

  // A streamed follow-up: the rewrite shows as a step before the sources.
  const json ask = {
      {"query", "Who was its first keeper?"}, {"thread_id", thread}, {"stream", true}};
  auto r2 = c.Post("/v1/ask", ask.dump(), "application/json");
  REQUIRE(r2);
  REQUIRE(r2->status == 200);
  const auto events = parse_sse(r2->body);
  REQUIRE_FALSE(events.empty());
  CHECK(events[0].event == "step");
  CHECK(has(json::parse(events[0].data)["kind"], "rewrite"));
  CHECK(has(json::parse(events[0].data)["text"], "Greywick Point"));
  const json done = json::parse(events.back().data);
  REQUIRE(events.back().event == "done");
  CHECK(done["thread_id"] == thread);
  std::string joined;
  for (const SseEvent& e : events)
    if (e.event == "delta") joined += json::parse(e.data)["text"].get<std::string>();
  CHECK(joined == done["answer"]);

  // One of the related questions, asked in the same thread.
  REQUIRE_FALSE(done["related_questions"].empty());
  const std::string related = done["related_questions"][0];
  auto r3 =
      c.Post("/v1/ask", json{{"query", related}, {"thread_id", thread}}.dump(), "application/json");
  REQUIRE(r3);
  REQUIRE(r3->status == 200);
  CHECK(parse_json(r3->body)["thread_id"] == thread);

  auto got = c.Get(("/v1/threads/" + thread).c_str());
  REQUIRE(got);
  REQUIRE(got->status == 200);
  const json t = parse_json(got->body);
  CHECK(t["id"] == thread);
  CHECK(t["turn_count"] == 3);
  REQUIRE(t["turns"].size() == 3);
  CHECK(t["turns"][2]["question"] == related);
  CHECK(t["turns"][0]["question"] == "When was the Greywick Point lighthouse first lit?");
  CHECK(t["turns"][1]["question"] == "Who was its first keeper?");
  CHECK(has(t["turns"][1]["query"], "Greywick Point"));
  CHECK(t["turns"][1]["answer"] == done["answer"]);
  CHECK(t["turns"][1]["citations"] == done["citations"]);

  auto bad = c.Get("/v1/threads/not-a-thread");
  REQUIRE(bad);
  CHECK(bad->status == 400);
  auto del = c.Delete(("/v1/threads/" + thread).c_str());
  REQUIRE(del);
  CHECK(del->status == 200);
  auto gone = c.Get(("/v1/threads/" + thread).c_str());
  REQUIRE(gone);
  CHECK(gone->status == 404);
  // Asking on a deleted thread is a 404, not a new thread.
  const json again = {{"query", "And the tower?"}, {"thread_id", thread}};
  auto r4 = c.Post("/v1/ask", again.dump(), "application/json");
  REQUIRE(r4);
  CHECK(r4->status == 404);
}
