#include "agent/pipeline.h"

#include <deque>

#include "agent/extractive.h"
#include "index/utf8.h"

namespace chaja {
namespace {

// A stream whose events are all known up front (the extractive model answers at once).
class ReadyStream final : public AnswerStream {
 public:
  explicit ReadyStream(std::deque<AnswerEvent> events) : events_(std::move(events)) {}
  std::optional<AnswerEvent> next() override {
    if (events_.empty()) return std::nullopt;
    AnswerEvent e = std::move(events_.front());
    events_.pop_front();
    return e;
  }

 private:
  std::deque<AnswerEvent> events_;
};

bool is_blank(const std::string& s) {
  for (size_t i = 0; i < s.size();) {
    size_t len = 0;
    if (!utf8::is_space(utf8::decode(s, i, len))) return false;
    i += len;
  }
  return true;
}

}  // namespace

Status check_query(const std::string& query, size_t k) {
  if (is_blank(query)) return make_error(ErrorKind::kInvalidInput, "the query is empty");
  if (!utf8::is_valid(query))
    return make_error(ErrorKind::kInvalidInput, "the query is not valid UTF-8");
  if (utf8::length(query) > kMaxQueryChars)
    return make_error(ErrorKind::kInvalidInput,
                      "the query is longer than " + std::to_string(kMaxQueryChars) + " characters");
  if (k == 0 || k > kMaxK)
    return make_error(ErrorKind::kInvalidInput, "k must be between 1 and " + std::to_string(kMaxK));
  return {};
}

Result<std::vector<RetrievedHit>> Answerer::search(const SearchRequest& request) {
  if (Status s = check_query(request.query, request.k); !s) return s.error();
  return retriever_.search(request);
}

Result<std::unique_ptr<AnswerStream>> Answerer::start(const AskRequest& request) {
  if (Status s = check_query(request.query, request.k); !s) return s.error();
  auto chain = parse_model_chain(request.model.empty() ? default_model_ : request.model);
  if (!chain) return chain.error();
  if (request.web)
    return make_error(ErrorKind::kUnsupported,
                      "web search is not in this build yet; ask without \"web\"");
  if (request.thread_id)
    return make_error(ErrorKind::kUnsupported,
                      "threads are not in this build yet; ask without thread_id");

  SearchRequest search;
  search.query = request.query;
  search.k = request.k;
  search.collection = request.collection;
  auto retrieved = retriever_.search(search);
  if (!retrieved) return retrieved.error();
  std::vector<SearchHit> hits;
  hits.reserve(retrieved->size());
  for (RetrievedHit& r : *retrieved) hits.push_back(std::move(r.hit));
  if (chain->size() > 1 || chain->front().provider != "extractive")
    return model_answer_stream(*chain, models_, request.query, std::move(hits));

  ExtractiveAnswer extracted = extract_answer(request.query, hits);
  AskResponse response;
  response.model = "extractive";
  response.citations = extracted.citations;

  std::deque<AnswerEvent> events;
  events.emplace_back(SourcesEvent{response.citations});
  if (extracted.parts.empty()) {
    response.answer = no_answer_text(request.query);
    events.emplace_back(DeltaEvent{response.answer});
  } else {
    for (size_t i = 0; i < extracted.parts.size(); ++i) {
      std::string piece = (i == 0 ? "" : " ") + extracted.parts[i];
      response.answer += piece;
      events.emplace_back(DeltaEvent{std::move(piece)});
    }
  }
  events.emplace_back(RelatedEvent{response.related_questions});
  events.emplace_back(DoneEvent{std::move(response)});
  return std::unique_ptr<AnswerStream>(new ReadyStream(std::move(events)));
}

Result<AskResponse> Answerer::ask(const AskRequest& request) {
  auto stream = start(request);
  if (!stream) return stream.error();
  while (auto event = (*stream)->next()) {
    if (auto* done = std::get_if<DoneEvent>(&*event)) return std::move(done->response);
    if (auto* err = std::get_if<ErrorEvent>(&*event)) return err->error;
  }
  return make_error(ErrorKind::kInternal, "the answer stream ended without a result");
}

}  // namespace chaja
