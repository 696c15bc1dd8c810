// Black-box: metadata filters through the real `chaja serve` (POST /v1/search, /v1/ask,
// /v1/chat/completions) and `chaja search --filter`.
#include "../support/chaja_process.h"

using namespace chaja::test;

namespace {

struct Reply {
  int status = 0;
  json body;
};

Reply post(const Serve& server, const std::string& path, const json& body) {
  auto r = server.client().Post(path, body.dump(), "application/json");
  REQUIRE(r);
  Reply out;
  out.status = r->status;
  out.body = json::parse(r->body, nullptr, false);
  INFO(r->body);
  return out;
}

// Twelve notes on the same leave policy: two from legal (2024), ten from hr.
std::vector<int64_t> add_notes(const Serve& server, std::vector<int64_t>& legal) {
  std::vector<int64_t> all;
  for (int i = 0; i < 12; ++i) {
    const bool is_legal = i == 3 || i == 9;
    json doc = {{"title", std::string(is_legal ? "Legal" : "HR") + " note " + std::to_string(i)},
                {"text", "The annual leave policy grants 15 days of leave. Note " +
                             std::to_string(i) + " about annual leave."},
                {"source", "note-" + std::to_string(i)},
                {"metadata", is_legal ? json{{"department", "legal"}, {"year", 2024}}
                                      : json{{"department", "hr"}, {"year", "2024"}}}};
    Reply r = post(server, "/v1/documents", doc);
    REQUIRE(r.status == 201);
    all.push_back(r.body["id"].get<int64_t>());
    if (is_legal) legal.push_back(all.back());
  }
  return all;
}

}  // namespace

TEST_CASE("server: a metadata filter on search, ask and chat completions", "[server][filter]") {
  TempDir data;
  Serve server({}, data.path().string());
  std::vector<int64_t> legal;
  add_notes(server, legal);
  auto is_legal = [&](const json& id) {
    return std::find(legal.begin(), legal.end(), id.get<int64_t>()) != legal.end();
  };

  // Search: without the filter hr notes come back; with it, only the two legal ones.
  Reply all = post(server, "/v1/search", {{"query", "annual leave policy"}, {"k", 5}});
  REQUIRE(all.status == 200);
  CHECK(all.body["results"].size() == 5);
  Reply hits =
      post(server, "/v1/search",
           {{"query", "annual leave policy"}, {"k", 5}, {"filter", {{"department", "legal"}}}});
  REQUIRE(hits.status == 200);
  REQUIRE(hits.body["results"].size() == 2);
  for (const json& h : hits.body["results"]) CHECK(is_legal(h["doc_id"]));
  // Any of; and a number is not a string.
  Reply any = post(server, "/v1/search",
                   {{"query", "annual leave"},
                    {"k", 5},
                    {"filter", {{"department", {"legal", "finance"}}, {"year", 2024}}}});
  REQUIRE(any.status == 200);
  CHECK(any.body["results"].size() == 2);
  Reply strings = post(server, "/v1/search",
                       {{"query", "annual leave"}, {"k", 5}, {"filter", {{"year", "2024"}}}});
  REQUIRE(strings.status == 200);
  CHECK(strings.body["results"].size() == 5);
  for (const json& h : strings.body["results"]) CHECK_FALSE(is_legal(h["doc_id"]));

  // Ask: every citation is a legal note.
  Reply ask =
      post(server, "/v1/ask",
           {{"query", "How many days of annual leave?"}, {"filter", {{"department", "legal"}}}});
  REQUIRE(ask.status == 200);
  REQUIRE_FALSE(ask.body["citations"].empty());
  for (const json& c : ask.body["citations"]) CHECK(is_legal(c["doc_id"]));

  // The OpenAI-compatible route takes it as an extra field.
  Reply chat =
      post(server, "/v1/chat/completions",
           {{"model", "chaja"},
            {"messages", {{{"role", "user"}, {"content", "How many days of annual leave?"}}}},
            {"filter", {{"department", "legal"}}}});
  REQUIRE(chat.status == 200);
  REQUIRE_FALSE(chat.body["chaja"]["citations"].empty());
  for (const json& c : chat.body["chaja"]["citations"]) CHECK(is_legal(c["doc_id"]));

  // Bad filters are 400s naming the field.
  for (const json& bad :
       {json("legal"), json{{"department", nullptr}}, json{{"department", {{"a", 1}}}},
        json{{"bad key", 1}}, json{{"department", json::array()}}}) {
    INFO(bad.dump());
    Reply r = post(server, "/v1/search", {{"query", "leave"}, {"filter", bad}});
    CHECK(r.status == 400);
    CHECK(has(r.body["error"]["message"].get<std::string>(), "filter"));
    CHECK(post(server, "/v1/ask", {{"query", "leave"}, {"filter", bad}}).status == 400);
  }
}

TEST_CASE("cli: search --filter", "[server][filter]") {
  TempDir data;
  {
    Serve server({}, data.path().string());
    std::vector<int64_t> legal;
    add_notes(server, legal);
  }
  const std::string args =
      "search 'annual leave policy' --k 5 --json --data '" + data.path().string() + "' ";
  Run r = run("", args + "--filter department=legal");
  json j = parse_json(r);
  CHECK(j["results"].size() == 2);
  // year=2024 reads as a number (the legal notes); '"2024"' as a string (the hr notes).
  CHECK(parse_json(run("", args + "--filter year=2024"))["results"].size() == 2);
  CHECK(parse_json(run("", args + "--filter 'year=\"2024\"'"))["results"].size() == 5);
  // Repeated: any of.
  CHECK(parse_json(run("", args + "--filter department=legal --filter department=hr"))["results"]
            .size() == 5);
  Run bad = run("", args + "--filter 'bad key=1'");
  CHECK(bad.exit_code == 2);
  CHECK(has(bad.err, "filter key"));
  CHECK(run("", args + "--filter nokey").exit_code == 2);
}
