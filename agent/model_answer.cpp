#include "agent/model_answer.h"

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "agent/extractive.h"
#include "index/tokenizer.h"
#include "index/utf8.h"
#include "prompts/prompts.h"

namespace chaja {
namespace {

constexpr size_t kSnippetBytes = 300;
// A passage sent to a model is cut at this many bytes (on a character boundary): chunks are
// about 1 kB, and eight of them stay far below any model's context.
constexpr size_t kPassageBytes = 4000;

std::string cut(std::string_view text, size_t bytes) {
  if (text.size() <= bytes) return std::string(text);
  return std::string(text.substr(0, utf8::floor_boundary(text, bytes))) + "…";
}

void replace_all(std::string& s, std::string_view from, std::string_view to) {
  for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size()))
    s.replace(at, from.size(), to);
}

// The events of one answer, produced on the stream's thread and pulled by next().
class ModelStream final : public AnswerStream {
 public:
  ModelStream(std::vector<std::unique_ptr<ChatModel>> models, bool extractive_last,
              std::string question, std::vector<Passage> passages, AskResponse base)
      : models_(std::move(models)),
        extractive_last_(extractive_last),
        question_(std::move(question)),
        passages_(std::move(passages)),
        base_(std::move(base)) {
    worker_ = std::thread([this] { run(); });
  }

  ~ModelStream() override {
    cancel_ = true;
    worker_.join();
  }

  bool wait_for(std::chrono::milliseconds timeout) override {
    std::unique_lock<std::mutex> lock(mu_);
    return ready_.wait_for(lock, timeout, [&] { return !queue_.empty() || finished_; });
  }

  std::optional<AnswerEvent> next() override {
    std::unique_lock<std::mutex> lock(mu_);
    ready_.wait(lock, [&] { return !queue_.empty() || finished_; });
    if (queue_.empty()) return std::nullopt;
    AnswerEvent e = std::move(queue_.front());
    queue_.pop_front();
    return e;
  }

 private:
  void push(AnswerEvent e) {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.push_back(std::move(e));
    ready_.notify_one();
  }

  void finish() {
    std::lock_guard<std::mutex> lock(mu_);
    finished_ = true;
    ready_.notify_one();
  }

  void run() {
    const ChatRequest request = answer_prompt(question_, passages_);
    AskResponse response = base_;
    response.citations = passage_citations(passages_);
    Error last = make_error(ErrorKind::kUnavailable, "no model to answer with");
    for (const auto& model : models_) {
      // The sources go out with the first text: until then a failure may still hand over to
      // the next model, whose citations (the extractive model's) may be numbered differently.
      bool started = false;
      auto sink = [&](const ChatEvent& e) {
        if (cancel_) return false;
        if (e.kind == ChatEvent::Kind::kText && !e.text.empty()) {
          if (!started) push(SourcesEvent{response.citations});
          started = true;
          push(DeltaEvent{e.text});
        }
        return true;
      };
      auto result = model->stream(request, sink, &cancel_);
      if (result) {
        if (!started) push(SourcesEvent{response.citations});
        response.answer = result->text;
        response.model = model->name();
        response.usage.prompt_tokens = std::max<int64_t>(0, result->stats.usage.input_tokens);
        response.usage.completion_tokens = std::max<int64_t>(0, result->stats.usage.output_tokens);
        push(RelatedEvent{response.related_questions});
        push(DoneEvent{std::move(response)});
        return finish();
      }
      if (started || cancel_ || result.error().kind == ErrorKind::kCancelled) {
        push(ErrorEvent{result.error()});
        return finish();
      }
      last = Error{result.error().kind, model->name() + ": " + result.error().message};
    }
    if (!extractive_last_) {
      push(ErrorEvent{last});
      return finish();
    }
    for (AnswerEvent& e : extractive_events(question_, passages_, base_)) push(std::move(e));
    finish();
  }

  std::vector<std::unique_ptr<ChatModel>> models_;
  const bool extractive_last_;
  const std::string question_;
  const std::vector<Passage> passages_;
  const AskResponse base_;
  CancelFlag cancel_{false};
  std::mutex mu_;
  std::condition_variable ready_;
  std::deque<AnswerEvent> queue_;
  bool finished_ = false;
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

std::vector<Citation> passage_citations(const std::vector<Passage>& passages) {
  std::vector<Citation> out;
  for (size_t i = 0; i < passages.size(); ++i) {
    const Passage& h = passages[i];
    out.push_back(citation_of(h, static_cast<int>(i + 1), cut(h.text, kSnippetBytes)));
  }
  return out;
}

ChatRequest answer_prompt(const std::string& question, const std::vector<Passage>& passages) {
  std::string sources;
  for (size_t i = 0; i < passages.size(); ++i) {
    const Passage& h = passages[i];
    sources += "[" + std::to_string(i + 1) + "] " + h.title;
    if (!h.section.empty()) sources += " / " + h.section;
    if (h.kind == SourceKind::kWeb)
      sources += " (web page " + h.source + (h.published.empty() ? "" : ", " + h.published) + ")";
    else
      sources += " (" + h.source + ")";
    sources += "\n" + cut(h.text, kPassageBytes) + "\n\n";
  }
  if (passages.empty()) sources = "(no sources were found)\n";
  std::string system(prompts::find("answer_system.txt"));
  replace_all(system, "{language}", contains_hangul(question) ? "Korean" : "English");
  replace_all(system, "{sources}", sources);
  ChatRequest request;
  request.system = std::move(system);
  request.messages.push_back({ChatRole::kUser, question});
  request.temperature = 0.2;
  request.max_tokens = 1024;
  return request;
}

Result<std::unique_ptr<AnswerStream>> model_answer_stream(const std::vector<ModelName>& chain,
                                                          const ChatModelFactory& factory,
                                                          const std::string& question,
                                                          std::vector<Passage> passages,
                                                          AskResponse base) {
  std::vector<std::unique_ptr<ChatModel>> models;
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
  }
  if (models.empty() && !extractive_last) return first_error;
  return std::unique_ptr<AnswerStream>(new ModelStream(std::move(models), extractive_last, question,
                                                       std::move(passages), std::move(base)));
}

}  // namespace chaja
