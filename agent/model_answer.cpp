#include "agent/model_answer.h"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "agent/citations.h"
#include "agent/event_queue.h"
#include "agent/extractive.h"
#include "index/tokenizer.h"
#include "index/utf8.h"
#include "prompts/prompts.h"

namespace chaja {
namespace {

// A passage sent to a model is cut at this many bytes (on a character boundary): chunks are
// about 1 kB, so this only bounds a freak one.
constexpr size_t kPassageBytes = 4000;
constexpr size_t kAnswerTokens = 1024;       // room kept for the answer
constexpr size_t kPromptMarginTokens = 256;  // the estimate's slack, message framing
constexpr size_t kMinPassageTokens = 64;     // a smaller remainder is not worth a cut passage
constexpr size_t kHistoryTurns = 4;          // earlier turns sent along
constexpr size_t kHistoryAnswerBytes = 1500;
constexpr auto kRelatedTimeout = std::chrono::seconds(15);

std::string cut(std::string_view text, size_t bytes) {
  if (text.size() <= bytes) return std::string(text);
  return std::string(text.substr(0, utf8::floor_boundary(text, bytes))) + "…";
}

// The events of one answer, produced on the stream's thread and pulled by next().
class ModelStream final : public AnswerStream {
 public:
  ModelStream(std::vector<std::unique_ptr<ChatModel>> models, std::vector<ModelName> names,
              bool extractive_last, AnswerContext context, AskResponse base)
      : models_(std::move(models)),
        names_(std::move(names)),
        extractive_last_(extractive_last),
        context_(std::move(context)),
        base_(std::move(base)) {
    worker_ = std::thread([this] { run(); });
  }

  ~ModelStream() override {
    cancel_ = true;
    worker_.join();
  }

  bool wait_for(std::chrono::milliseconds timeout) override { return events_.wait_for(timeout); }
  std::optional<AnswerEvent> next() override { return events_.next(); }

 private:
  void push(AnswerEvent e) { events_.push(std::move(e)); }
  void finish() { events_.close(); }

  void run() {
    Error last = make_error(ErrorKind::kUnavailable, "no model to answer with");
    for (size_t m = 0; m < models_.size(); ++m) {
      ChatModel& model = *models_[m];
      size_t sent = 0;
      const ChatRequest request = answer_prompt(context_, model_budget(names_[m]), &sent);
      const std::vector<Passage> given(context_.passages.begin(),
                                       context_.passages.begin() + static_cast<long>(sent));
      AskResponse response = base_;
      CitationRewriter rewriter(given.size());
      // The sources go out with the first text: until then a failure may still hand over to
      // the next model, whose sources (or the extractive model's) may differ.
      bool started = false;
      std::vector<int> first_cited;
      auto emit = [&](const std::string& text) {
        if (!started) push(SourcesEvent{passage_citations(given, context_.searched())});
        started = true;
        for (int source : first_cited) {
          Citation c = citation_of(
              given[static_cast<size_t>(source - 1)],
              static_cast<int>(response.citations.size()) + 1,
              citation_snippet(given[static_cast<size_t>(source - 1)].text, context_.searched()));
          response.citations.push_back(c);
          push(CitationEvent{std::move(c)});
        }
        first_cited.clear();
        if (!text.empty()) {
          response.answer += text;
          push(DeltaEvent{text});
        }
      };
      auto sink = [&](const ChatEvent& e) {
        if (cancel_) return false;
        if (e.kind == ChatEvent::Kind::kText && !e.text.empty()) {
          const std::string shown = rewriter.feed(e.text, &first_cited);
          if (!shown.empty() || !first_cited.empty()) emit(shown);
        }
        return true;
      };
      auto result = model.stream(request, sink, &cancel_);
      if (result) {
        emit(rewriter.finish(&first_cited));
        response.model = model.name();
        response.usage.prompt_tokens = std::max<int64_t>(0, result->stats.usage.input_tokens);
        response.usage.completion_tokens = std::max<int64_t>(0, result->stats.usage.output_tokens);
        response.related_questions = related(model, response.answer);
        push(RelatedEvent{response.related_questions});
        push(DoneEvent{std::move(response)});
        return finish();
      }
      if (started || cancel_ || result.error().kind == ErrorKind::kCancelled) {
        push(ErrorEvent{result.error()});
        return finish();
      }
      last = Error{result.error().kind, model.name() + ": " + result.error().message};
    }
    if (!extractive_last_) {
      push(ErrorEvent{last});
      return finish();
    }
    for (AnswerEvent& e : extractive_events(context_.searched(), context_.passages, base_))
      push(std::move(e));
    finish();
  }

  // Three related questions from the model; from the sources when it cannot say.
  std::vector<std::string> related(ChatModel& model, const std::string& answer) {
    auto result =
        chat_within(model, related_prompt(context_.question, answer), kRelatedTimeout, &cancel_);
    std::vector<std::string> out;
    if (result) out = parse_related(result->text, context_.question);
    if (out.size() < 3)
      for (std::string& q : derived_related_questions(context_.searched(), context_.passages))
        if (out.size() < 3 && std::find(out.begin(), out.end(), q) == out.end())
          out.push_back(std::move(q));
    return out;
  }

  std::vector<std::unique_ptr<ChatModel>> models_;
  const std::vector<ModelName> names_;
  const bool extractive_last_;
  const AnswerContext context_;
  const AskResponse base_;
  CancelFlag cancel_{false};
  EventQueue events_;
  std::thread worker_;  // last: started once everything above exists
};

}  // namespace

Result<std::vector<ModelName>> parse_model_chain(const std::string& names) {
  constexpr size_t kMaxChain = 5;  // each entry may cost a provider call and its retries
  std::vector<ModelName> chain;
  size_t start = 0;
  for (;;) {
    const size_t comma = names.find(',', start);
    const std::string one =
        names.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    auto parsed = parse_model_name(one);
    if (!parsed) return parsed.error();
    for (const ModelName& m : chain)
      if (m.full() == parsed->full())
        return make_error(ErrorKind::kInvalidInput, "the model " + m.full() + " is named twice");
    chain.push_back(std::move(*parsed));
    if (chain.size() > kMaxChain)
      return make_error(ErrorKind::kInvalidInput,
                        "a fallback chain names at most " + std::to_string(kMaxChain) + " models");
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return chain;
}

std::vector<Citation> passage_citations(const std::vector<Passage>& passages,
                                        std::string_view query) {
  std::vector<Citation> out;
  for (size_t i = 0; i < passages.size(); ++i) {
    const Passage& h = passages[i];
    out.push_back(citation_of(h, static_cast<int>(i + 1), citation_snippet(h.text, query)));
  }
  return out;
}

namespace {

// An attribute value inside a fence: no quotes, angle brackets or line breaks.
std::string attribute(std::string_view v) {
  std::string out;
  for (char c : v) out += (c == '"' || c == '<' || c == '>' || c == '\n' || c == '\r') ? ' ' : c;
  return cut(out, 300);
}

// Source text inside a fence: a "</source" in it cannot close the fence.
std::string fenced_text(std::string_view text) {
  std::string out(text);
  for (size_t at = out.find("</"); at != std::string::npos; at = out.find("</", at + 3))
    if (out.compare(at + 2, 6, "source") == 0 || out.compare(at + 2, 6, "SOURCE") == 0)
      out.insert(at + 2, " ");
  return out;
}

std::string fence(const Passage& p, size_t n, std::string_view text) {
  std::string out = "<source n=\"" + std::to_string(n) + "\" kind=\"" +
                    (p.kind == SourceKind::kWeb ? "web" : "document") + "\" title=\"" +
                    attribute(p.section.empty() ? p.title : p.title + " / " + p.section) +
                    "\" from=\"" + attribute(p.source) + "\"";
  if (!p.published.empty()) out += " date=\"" + attribute(p.published) + "\"";
  return out + ">\n" + fenced_text(text) + "\n</source>\n\n";
}

// An earlier answer as history: its markers pointed at that turn's sources, not these.
std::string without_markers(std::string_view answer) {
  std::string out = rewrite_citations(answer, 0, nullptr);
  return cut(out, kHistoryAnswerBytes);
}

}  // namespace

ChatRequest answer_prompt(const AnswerContext& context, const ModelBudget& budget, size_t* sent) {
  const bool korean = contains_hangul(context.question);
  // {sources} stays until the passages are packed against what the rest costs.
  std::string system =
      prompts::fill(prompts::find(korean ? "answer_system.ko.txt" : "answer_system.txt"),
                    {{"{language}", korean ? "한국어" : "English"}});

  ChatRequest request;
  request.temperature = 0.2;
  request.max_tokens = kAnswerTokens;
  // What is spent before any source: the template, the question, the answer's room.
  const size_t fixed = estimate_tokens(system, budget) + estimate_tokens(context.question, budget) +
                       kAnswerTokens + kPromptMarginTokens;
  size_t room = budget.context_tokens > fixed ? budget.context_tokens - fixed : 0;

  // Earlier turns, newest first while they fit (at most half the room), then in order.
  std::vector<ChatMessage> turns;
  size_t history_room = room / 2;
  const size_t from =
      context.history.size() > kHistoryTurns ? context.history.size() - kHistoryTurns : 0;
  for (size_t i = context.history.size(); i-- > from;) {
    const HistoryTurn& t = context.history[i];
    const std::string answer = without_markers(t.answer);
    const size_t cost = estimate_tokens(t.question, budget) + estimate_tokens(answer, budget) + 8;
    if (cost > history_room) break;
    history_room -= cost;
    room -= cost;
    turns.insert(turns.begin(), {ChatMessage{ChatRole::kAssistant, answer}});
    turns.insert(turns.begin(), {ChatMessage{ChatRole::kUser, t.question}});
  }

  std::string sources;
  size_t n = 0;
  for (const Passage& p : context.passages) {
    const std::string text = cut(p.text, kPassageBytes);
    const size_t framing = estimate_tokens(fence(p, n + 1, ""), budget);
    if (room < framing + kMinPassageTokens) break;
    const std::string_view fits = cut_to_tokens(text, room - framing, budget);
    if (fits.size() < text.size() && estimate_tokens(fits, budget) < kMinPassageTokens) break;
    const std::string block = fence(p, n + 1, fits);
    room -= std::min(room, estimate_tokens(block, budget));
    sources += block;
    ++n;
    if (fits.size() < text.size()) break;  // the room is spent
  }
  if (n == 0) sources = korean ? "(찾은 자료가 없습니다)\n" : "(no sources were found)\n";
  system = prompts::fill(system, {{"{sources}", sources}});
  if (sent) *sent = n;
  request.system = std::move(system);
  request.messages = std::move(turns);
  request.messages.push_back({ChatRole::kUser, context.question});
  return request;
}

ChatRequest related_prompt(const std::string& question, const std::string& answer) {
  ChatRequest r;
  r.system = prompts::fill(prompts::find("related_questions.txt"),
                           {{"{language}", contains_hangul(question) ? "Korean" : "English"}});
  r.messages.push_back({ChatRole::kUser, question});
  r.messages.push_back({ChatRole::kAssistant, without_markers(answer)});
  r.messages.push_back({ChatRole::kUser, contains_hangul(question)
                                             ? "이어서 물어볼 만한 질문 세 개를 주세요."
                                             : "Give three follow-up questions."});
  r.temperature = 0.3;
  r.max_tokens = 200;
  return r;
}

std::vector<std::string> parse_related(std::string_view output, std::string_view question) {
  std::vector<std::string> out;
  if (!utf8::is_valid(output)) return out;
  size_t start = 0;
  while (start <= output.size() && out.size() < 3) {
    size_t end = output.find('\n', start);
    if (end == std::string_view::npos) end = output.size();
    std::string_view line = output.substr(start, end - start);
    start = end + 1;
    // "1. ", "- ", "* ", "Q: " and quotes are not part of the question.
    while (!line.empty() && (line.front() == ' ' || line.front() == '-' || line.front() == '*' ||
                             line.front() == '"' || line.front() == '.' || line.front() == ')' ||
                             (line.front() >= '0' && line.front() <= '9')))
      line.remove_prefix(1);
    while (!line.empty() && (line.back() == ' ' || line.back() == '"' || line.back() == '\r'))
      line.remove_suffix(1);
    const bool question_mark = line.ends_with("?") || line.ends_with("？");
    if (line.size() < 4 || line.size() > 300 || !question_mark || line == question) continue;
    if (std::find(out.begin(), out.end(), line) != out.end()) continue;
    out.emplace_back(line);
  }
  return out;
}

Result<ChatResult> chat_within(ChatModel& model, const ChatRequest& request,
                               std::chrono::milliseconds timeout, const CancelFlag* outer) {
  CancelFlag cancel{false};
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  std::thread watchdog([&] {
    const auto until = std::chrono::steady_clock::now() + timeout;
    std::unique_lock<std::mutex> lock(mu);
    while (!done) {
      if (std::chrono::steady_clock::now() >= until || (outer && *outer)) {
        cancel = true;
        return;
      }
      cv.wait_for(lock, std::chrono::milliseconds(20));
    }
  });
  auto result = model.chat(request, &cancel);
  {
    std::lock_guard<std::mutex> lock(mu);
    done = true;
  }
  cv.notify_one();
  watchdog.join();
  return result;
}

Result<std::unique_ptr<AnswerStream>> model_answer_stream(const std::vector<ModelName>& chain,
                                                          const ChatModelFactory& factory,
                                                          AnswerContext context, AskResponse base) {
  std::vector<std::unique_ptr<ChatModel>> models;
  std::vector<ModelName> names;
  bool extractive_last = false;
  Error first_error = make_error(ErrorKind::kInvalidInput, "no model named");
  for (const ModelName& name : chain) {
    if (name.provider == "extractive") {
      extractive_last = true;
      break;  // it always answers: nothing after it would ever run
    }
    if (!factory) return make_error(ErrorKind::kUnavailable, "no LLM connectors in this build");
    auto model = factory(name);
    if (!model) {
      // A chain skips a model it cannot make; a single model's failure is the answer.
      if (chain.size() == 1) return model.error();
      if (models.empty()) first_error = model.error();
      continue;
    }
    models.push_back(std::move(*model));
    names.push_back(name);
  }
  if (models.empty() && !extractive_last) return first_error;
  return std::unique_ptr<AnswerStream>(new ModelStream(
      std::move(models), std::move(names), extractive_last, std::move(context), std::move(base)));
}

}  // namespace chaja
