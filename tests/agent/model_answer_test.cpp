#include "agent/model_answer.h"

#include <catch2/catch.hpp>
#include <chrono>
#include <map>
#include <optional>
#include <thread>

using namespace chaja;

namespace {

// A scripted model: sends its deltas, then fails with `error` (if set) or finishes.
class FakeModel final : public ChatModel {
 public:
  FakeModel(std::string name, std::vector<std::string> deltas, std::optional<Error> error = {},
            bool block = false)
      : name_(std::move(name)),
        deltas_(std::move(deltas)),
        error_(std::move(error)),
        block_(block) {}
  std::string name() const override { return name_; }
  Result<ChatResult> chat(const ChatRequest& r, const CancelFlag* c) override {
    return stream(
        r, [](const ChatEvent&) { return true; }, c);
  }
  Result<ChatResult> stream(const ChatRequest& request, const ChatSink& sink,
                            const CancelFlag* cancel) override {
    last_request = request;
    ChatResult result;
    for (const std::string& d : deltas_) {
      ChatEvent e;
      e.text = d;
      if (!sink(e)) return make_error(ErrorKind::kCancelled, "cancelled");
      result.text += d;
    }
    while (block_) {  // a model that never finishes until cancelled
      if (cancel && *cancel) return make_error(ErrorKind::kCancelled, "cancelled");
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    if (error_) return *error_;
    result.finish_reason = "stop";
    result.stats.usage = {120, 7};
    return result;
  }
  ChatRequest last_request;

 private:
  std::string name_;
  std::vector<std::string> deltas_;
  std::optional<Error> error_;
  bool block_;
};

std::vector<Passage> passages() {
  Passage a;
  a.chunk_id = 11;
  a.doc_id = 1;
  a.title = "Greywick Point";
  a.source = "docs/greywick.md";
  a.text = "The Greywick lighthouse was automated in 1968.";
  Passage b = a;
  b.chunk_id = 12;
  b.doc_id = 2;
  b.title = "Kettles";
  b.source = "docs/kettle.md";
  b.text = "The Vantor kettle boils one litre in 94 seconds.";
  return {a, b};
}

// Everything the stream yields, in order.
std::vector<AnswerEvent> drain(AnswerStream& s) {
  std::vector<AnswerEvent> out;
  while (auto e = s.next()) out.push_back(std::move(*e));
  return out;
}

ChatModelFactory factory_of(std::map<std::string, std::function<std::unique_ptr<ChatModel>()>> m) {
  return [m](const ModelName& name) -> Result<std::unique_ptr<ChatModel>> {
    auto it = m.find(name.full());
    if (it == m.end())
      return make_error(ErrorKind::kUnavailable, name.full() + " is not configured");
    return it->second();
  };
}

Result<std::vector<ModelName>> chain(const std::string& s) {
  return parse_model_chain(s);
}

}  // namespace

TEST_CASE("the prompt numbers the passages as the citations, in the question's language",
          "[model_answer]") {
  const ChatRequest en = answer_prompt("When was the lighthouse automated?", passages());
  CHECK(en.system.find("[1] Greywick Point (docs/greywick.md)\nThe Greywick lighthouse") !=
        std::string::npos);
  CHECK(en.system.find("[2] Kettles (docs/kettle.md)") != std::string::npos);
  CHECK(en.system.find("(English)") != std::string::npos);
  CHECK(en.system.find("{sources}") == std::string::npos);
  REQUIRE(en.messages.size() == 1);
  CHECK(en.messages[0].content == "When was the lighthouse automated?");
  CHECK(answer_prompt("등대는 언제 자동화되었나요?", passages()).system.find("(Korean)") !=
        std::string::npos);
  const auto cites = passage_citations(passages());
  REQUIRE(cites.size() == 2);
  CHECK(cites[1].n == 2);
  CHECK(cites[1].chunk_id == 12);
}

TEST_CASE("a model's answer streams after the sources and ends with usage", "[model_answer]") {
  auto f = factory_of({{"openai:gpt-4o-mini", [] {
                          return std::make_unique<FakeModel>(
                              "openai:gpt-4o-mini",
                              std::vector<std::string>{"Automated in ", "1968 [1]", "."});
                        }}});
  auto s = model_answer_stream(*chain("openai:gpt-4o-mini"), f, "When?", passages());
  REQUIRE(s.ok());
  const auto events = drain(**s);
  REQUIRE(events.size() == 6);
  REQUIRE(std::holds_alternative<SourcesEvent>(events[0]));
  CHECK(std::get<SourcesEvent>(events[0]).citations.size() == 2);
  CHECK(std::get<DeltaEvent>(events[2]).text == "1968 [1]");
  const AskResponse& done = std::get<DoneEvent>(events[5]).response;
  CHECK(done.answer == "Automated in 1968 [1].");
  CHECK(done.model == "openai:gpt-4o-mini");
  CHECK(done.usage.prompt_tokens == 120);
  CHECK(done.usage.completion_tokens == 7);
}

TEST_CASE("a chain falls back only before the first text", "[model_answer]") {
  const Error down = make_error(ErrorKind::kUpstream, "HTTP 503");
  auto f = factory_of({{"clova:HCX-005",
                        [&] {
                          return std::make_unique<FakeModel>("clova:HCX-005",
                                                             std::vector<std::string>{}, down);
                        }},
                       {"openai:gpt-4o-mini",
                        [] {
                          return std::make_unique<FakeModel>(
                              "openai:gpt-4o-mini", std::vector<std::string>{"From the second."});
                        }},
                       {"mistral:small", [&] {
                          return std::make_unique<FakeModel>(
                              "mistral:small", std::vector<std::string>{"Half"}, down);
                        }}});
  {
    auto s = model_answer_stream(*chain("clova:HCX-005,openai:gpt-4o-mini"), f, "Q?", passages());
    REQUIRE(s.ok());
    const auto events = drain(**s);
    CHECK(std::get<DoneEvent>(events.back()).response.model == "openai:gpt-4o-mini");
    CHECK(std::get<DoneEvent>(events.back()).response.answer == "From the second.");
  }
  {
    // Text reached the caller, then the model failed: an error, no second answer.
    auto s = model_answer_stream(*chain("mistral:small,openai:gpt-4o-mini"), f, "Q?", passages());
    REQUIRE(s.ok());
    const auto events = drain(**s);
    REQUIRE(events.size() == 3);
    CHECK(std::get<DeltaEvent>(events[1]).text == "Half");
    CHECK(std::get<ErrorEvent>(events[2]).error.kind == ErrorKind::kUpstream);
  }
  {
    // Every model down, or not configured: the extractive model answers from the passages.
    auto s = model_answer_stream(*chain("clova:HCX-005,anthropic:claude-x,extractive"), f,
                                 "When was the Greywick lighthouse automated?", passages());
    REQUIRE(s.ok());
    const auto events = drain(**s);
    const AskResponse& done = std::get<DoneEvent>(events.back()).response;
    CHECK(done.model == "extractive");
    CHECK(done.answer.find("1968") != std::string::npos);
  }
  {
    // Without a fallback the last failure is the answer's error, naming the model.
    auto s = model_answer_stream(*chain("clova:HCX-005"), f, "Q?", passages());
    REQUIRE(s.ok());
    const auto events = drain(**s);
    REQUIRE(events.size() == 1);
    CHECK(std::get<ErrorEvent>(events[0]).error.message.find("clova:HCX-005") != std::string::npos);
  }
  // A lone model that cannot be made fails before any event, naming what is missing.
  auto missing = model_answer_stream(*chain("anthropic:claude-x"), f, "Q?", passages());
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().kind == ErrorKind::kUnavailable);
}

TEST_CASE("destroying the stream cancels the model call", "[model_answer]") {
  auto f = factory_of({{"ollama:llama3.1", [] {
                          return std::make_unique<FakeModel>("ollama:llama3.1",
                                                             std::vector<std::string>{"Thinking"},
                                                             std::nullopt, true);
                        }}});
  auto s = model_answer_stream(*chain("ollama:llama3.1"), f, "Q?", passages());
  REQUIRE(s.ok());
  CHECK(std::holds_alternative<SourcesEvent>(*(*s)->next()));
  CHECK(std::get<DeltaEvent>(*(*s)->next()).text == "Thinking");
  const auto t0 = std::chrono::steady_clock::now();
  s->reset();  // the user went away
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(1));
}

TEST_CASE("model chains parse; bad entries are clear errors", "[model_answer]") {
  CHECK(chain("extractive")->size() == 1);
  CHECK_FALSE(chain("openai:gpt-4o-mini,,extractive").ok());
  CHECK_FALSE(chain("nosuch:model").ok());
}
