#include "agent/openai_api.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

using namespace chaja;
using json = nlohmann::json;

namespace {

Error parse_error(const std::string& body) {
  auto r = parse_chat_completion_request(body);
  REQUIRE_FALSE(r.ok());
  return r.error();
}

AskResponse sample_response() {
  AskResponse r;
  r.answer = "대표이사는 박서연입니다 [1]. 본사는 판교에 있습니다 [2].";
  r.model = "extractive";
  r.usage = {12, 7};
  Citation local;
  local.n = 1;
  local.doc_id = 3;
  local.chunk_id = 9;
  local.title = "한빛반도체 소개";
  local.source = "docs/sample/hanbit.md";
  local.snippet = "대표이사 박서연";
  Citation web;
  web.n = 2;
  web.kind = SourceKind::kWeb;
  web.title = "Hanbit";
  web.source = "https://news.example/hanbit";
  web.domain = "news.example";
  web.published = "2024-05-01";
  web.snippet = "본사 판교";
  r.citations = {local, web};
  r.related_questions = {"한빛반도체의 매출은?"};
  r.claims = {Claim{"대표이사는 박서연입니다", {1}, 1.0, true}};
  r.warnings = {"a warning"};
  return r;
}

}  // namespace

TEST_CASE("chat requests: the last user message is the query, earlier pairs the history",
          "[openai_api]") {
  auto r = parse_chat_completion_request(R"({
    "model": "chaja",
    "messages": [
      {"role": "system", "content": "Be brief."},
      {"role": "user", "content": "연차는 며칠인가요?"},
      {"role": "assistant", "content": "15일입니다 [1]."},
      {"role": "developer", "content": [{"type": "text", "text": "Cite."}]},
      {"role": "user", "content": [{"type": "text", "text": "그럼"}, {"type": "text", "text": "반차는?"}]}
    ]})");
  REQUIRE(r.ok());
  CHECK(r->model.empty());  // "chaja": the server's default
  CHECK(r->query == "그럼\n반차는?");
  REQUIRE(r->history.size() == 1);
  CHECK(r->history[0].question == "연차는 며칠인가요?");
  CHECK(r->history[0].answer == "15일입니다 [1].");
  CHECK_FALSE(r->stream);
  CHECK(r->collection == kDefaultCollection);
  CHECK_FALSE(r->web);
}

TEST_CASE("chat requests: odd conversations still make turns", "[openai_api]") {
  // A greeting before any question is dropped; consecutive questions are one; two replies join;
  // an unanswered question right before the last stays history with an empty answer.
  auto r = parse_chat_completion_request(R"({"messages": [
      {"role": "assistant", "content": "무엇을 도와드릴까요?"},
      {"role": "user", "content": "A"}, {"role": "user", "content": "B"},
      {"role": "assistant", "content": "X"}, {"role": "assistant", "content": null},
      {"role": "user", "content": "C"},
      {"role": "user", "content": "D"}]})");
  REQUIRE(r.ok());
  CHECK(r->query == "D");
  REQUIRE(r->history.size() == 2);
  CHECK(r->history[0].question == "A\nB");
  CHECK(r->history[0].answer == "X\n");
  CHECK(r->history[1].question == "C");
  CHECK(r->history[1].answer.empty());

  auto one = parse_chat_completion_request(R"({"messages":[{"role":"user","content":"Q"}]})");
  REQUIRE(one.ok());
  CHECK(one->query == "Q");
  CHECK(one->history.empty());
  CHECK(one->model.empty());  // absent: the default
}

TEST_CASE("chat requests: models, stream and the Chaja and Perplexity extras", "[openai_api]") {
  auto r = parse_chat_completion_request(R"({
    "model": "ollama:llama3.1,extractive", "stream": true, "collection": "hr", "web": true,
    "search_domain_filter": ["a.com", "-b.example"], "search_recency_filter": "week",
    "thread_id": "t1", "temperature": 0.2, "max_tokens": 100, "n": 1,
    "stream_options": {"include_usage": true},
    "messages": [{"role": "user", "content": "q"}]})");
  REQUIRE(r.ok());
  CHECK(r->model == "ollama:llama3.1,extractive");
  CHECK(r->stream);
  CHECK(r->collection == "hr");
  CHECK(r->web);
  CHECK(r->include_domains == std::vector<std::string>{"a.com"});
  CHECK(r->exclude_domains == std::vector<std::string>{"b.example"});
  CHECK(r->recency == WebRecency::kWeek);
  CHECK(r->thread_id == std::optional<std::string>("t1"));
}

TEST_CASE("chat requests: bad input is a 400 naming the field", "[openai_api]") {
  struct Case {
    const char* body;
    const char* names;  // in the message
  };
  const Case cases[] = {
      {"", "not valid JSON"},
      {"[]", "JSON object"},
      {R"({})", "\"messages\" is required"},
      {R"({"messages":{}})", "\"messages\""},
      {R"({"messages":[]})", "non-empty"},
      {R"({"messages":["hi"]})", "\"messages[0]\""},
      {R"({"messages":[{"content":"hi"}]})", "\"messages[0].role\""},
      {R"({"messages":[{"role":"boss","content":"hi"}]})", "\"messages[0].role\""},
      {R"({"messages":[{"role":"tool","content":"hi"}]})", "no tools"},
      {R"({"messages":[{"role":"user","content":42}]})", "\"messages[0].content\""},
      {R"({"messages":[{"role":"user","content":[{"type":"image_url","image_url":{}}]}]})",
       "\"messages[0].content[0].type\""},
      {R"({"messages":[{"role":"user","content":[{"type":"text"}]}]})",
       "\"messages[0].content[0].text\""},
      {R"({"messages":[{"role":"user","content":["x"]}]})", "\"messages[0].content[0]\""},
      {R"({"messages":[{"role":"user","content":"q"},{"role":"assistant","content":"a"}]})",
       "must be a user message"},
      {R"({"messages":[{"role":"user","content":"q"},{"role":"system","content":"s"}]})",
       "must be a user message"},
      {R"({"model":7,"messages":[{"role":"user","content":"q"}]})", "\"model\""},
      {R"({"stream":"yes","messages":[{"role":"user","content":"q"}]})", "\"stream\""},
      {R"({"n":2,"messages":[{"role":"user","content":"q"}]})", "\"n\""},
      {R"({"web":1,"messages":[{"role":"user","content":"q"}]})", "\"web\""},
      {R"({"collection":"../x","messages":[{"role":"user","content":"q"}]})", "collection"},
      {R"({"search_domain_filter":"a.com","messages":[{"role":"user","content":"q"}]})",
       "\"search_domain_filter\""},
      {R"({"search_recency_filter":"decade","messages":[{"role":"user","content":"q"}]})",
       "decade"},
      {R"({"thread_id":5,"messages":[{"role":"user","content":"q"}]})", "\"thread_id\""},
  };
  for (const Case& c : cases) {
    INFO(c.body);
    const Error e = parse_error(c.body);
    CHECK(e.kind == ErrorKind::kInvalidInput);
    CHECK_THAT(e.message, Catch::Contains(c.names));
  }
  // Invalid UTF-8 inside a string, too deep nesting, too many messages.
  CHECK(parse_error("{\"messages\":[{\"role\":\"user\",\"content\":\"\xFF\"}]}").kind ==
        ErrorKind::kInvalidInput);
  CHECK(parse_error(std::string(200, '[')).kind == ErrorKind::kInvalidInput);
  json many = {{"messages", json::array()}};
  for (size_t i = 0; i <= kMaxChatMessages; ++i)
    many["messages"].push_back({{"role", "user"}, {"content", "q"}});
  CHECK_THAT(parse_error(many.dump()).message, Catch::Contains("at most"));
}

TEST_CASE("chat completions render OpenAI's object with Perplexity's sources", "[openai_api]") {
  const json j = json::parse(chat_completion_json(sample_response(), "chatcmpl-abc", 1700000000));
  CHECK(j["id"] == "chatcmpl-abc");
  CHECK(j["object"] == "chat.completion");
  CHECK(j["created"] == 1700000000);
  CHECK(j["model"] == "extractive");
  REQUIRE(j["choices"].size() == 1);
  CHECK(j["choices"][0]["index"] == 0);
  CHECK(j["choices"][0]["message"]["role"] == "assistant");
  CHECK(j["choices"][0]["message"]["content"] == sample_response().answer);
  CHECK(j["choices"][0]["finish_reason"] == "stop");
  CHECK(j["usage"] == json{{"prompt_tokens", 12}, {"completion_tokens", 7}, {"total_tokens", 19}});
  CHECK(j["citations"] == json{"docs/sample/hanbit.md", "https://news.example/hanbit"});
  REQUIRE(j["search_results"].size() == 2);
  CHECK(j["search_results"][0] == json{{"title", "한빛반도체 소개"},
                                       {"url", "docs/sample/hanbit.md"},
                                       {"snippet", "대표이사 박서연"},
                                       {"date", nullptr}});
  CHECK(j["search_results"][1]["date"] == "2024-05-01");
  CHECK(j["search_results"][1]["url"] == "https://news.example/hanbit");
  const json& chaja = j["chaja"];
  CHECK(chaja["citations"][0]["n"] == 1);
  CHECK(chaja["citations"][0]["doc_id"] == 3);
  CHECK(chaja["citations"][1]["kind"] == "web");
  CHECK(chaja["claims"][0]["citations"] == json{1});
  CHECK(chaja["related_questions"] == json{"한빛반도체의 매출은?"});
  CHECK(chaja["thread_id"].is_null());
  CHECK(chaja["warnings"] == json{"a warning"});

  const std::string id = new_completion_id();
  CHECK(id.size() == 9 + 24);
  CHECK(id.starts_with("chatcmpl-"));
  CHECK(id.find_first_not_of("0123456789abcdef", 9) == std::string::npos);
  CHECK(new_completion_id() != id);
}

TEST_CASE("streamed chat completions: a chunk per delta, a final chunk, then [DONE]",
          "[openai_api]") {
  ChatChunkWriter w("chatcmpl-x", 42, "chaja");
  CHECK(w.frame(StepEvent{"search", "q"}).empty());
  CHECK(w.frame(SourcesEvent{sample_response().citations}).empty());
  CHECK(w.frame(CitationEvent{sample_response().citations[0]}).empty());

  auto data_of = [](const std::string& frame) {
    REQUIRE(frame.starts_with("data: "));
    REQUIRE(frame.ends_with("\n\n"));
    return json::parse(frame.substr(6, frame.size() - 8));
  };
  const json first = data_of(w.frame(DeltaEvent{"대표이사는 "}));
  CHECK(first["id"] == "chatcmpl-x");
  CHECK(first["object"] == "chat.completion.chunk");
  CHECK(first["created"] == 42);
  CHECK(first["model"] == "chaja");
  CHECK(first["choices"][0]["delta"] == json{{"role", "assistant"}, {"content", "대표이사는 "}});
  CHECK(first["choices"][0]["finish_reason"].is_null());
  CHECK(first["choices"][0]["index"] == 0);
  const json second = data_of(w.frame(DeltaEvent{"박서연 [1]"}));
  CHECK(second["choices"][0]["delta"] == json{{"content", "박서연 [1]"}});
  CHECK(w.frame(DeltaEvent{""}).empty());
  CHECK(w.frame(RelatedEvent{{"q?"}}).empty());

  const std::string done = w.frame(DoneEvent{sample_response()});
  REQUIRE(done.ends_with("\n\ndata: [DONE]\n\n"));
  const json last = data_of(done.substr(0, done.size() - std::string("data: [DONE]\n\n").size()));
  CHECK(last["model"] == "extractive");  // the model that answered
  CHECK(last["choices"][0]["delta"] == json::object());
  CHECK(last["choices"][0]["finish_reason"] == "stop");
  CHECK(last["citations"].size() == 2);
  CHECK(last["search_results"][0]["title"] == "한빛반도체 소개");
  CHECK(last["usage"]["total_tokens"] == 19);
  CHECK(last["chaja"]["related_questions"].size() == 1);

  // An answer with no text still names the role once; an error is OpenAI's error object.
  ChatChunkWriter empty("chatcmpl-y", 1, "chaja");
  const std::string only = empty.frame(DoneEvent{AskResponse{}});
  CHECK(data_of(only.substr(0, only.find("data: [DONE]")))["choices"][0]["delta"] ==
        json{{"role", "assistant"}});
  const json err = data_of(empty.frame(ErrorEvent{make_error(ErrorKind::kUpstream, "boom")}));
  CHECK(err["error"]["message"] == "boom");
  CHECK(err["error"]["type"] == "api_error");
}

TEST_CASE("errors take OpenAI's shape; models list the default", "[openai_api]") {
  const json bad = json::parse(
      openai_error_json(make_error(ErrorKind::kInvalidInput, "\"messages\" is required")));
  CHECK(bad == json{{"error",
                     {{"message", "\"messages\" is required"},
                      {"type", "invalid_request_error"},
                      {"param", "messages"},
                      {"code", "invalid_request"}}}});
  const json limited = json::parse(openai_error_json(make_error(ErrorKind::kRateLimited, "slow")));
  CHECK(limited["error"]["type"] == "rate_limit_error");
  CHECK(limited["error"]["param"].is_null());

  const json m = json::parse(models_json("extractive", 5));
  CHECK(m["object"] == "list");
  REQUIRE(m["data"].size() == 2);
  CHECK(m["data"][0] ==
        json{{"id", "chaja"}, {"object", "model"}, {"created", 5}, {"owned_by", "chaja"}});
  CHECK(m["data"][1]["id"] == "extractive");
  const json with = json::parse(models_json("clova:HCX-005,extractive", 5));
  REQUIRE(with["data"].size() == 3);
  CHECK(with["data"][2]["id"] == "clova:HCX-005,extractive");
}
