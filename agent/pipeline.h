// The answer pipeline: validate the request, retrieve passages (the local index, the web, or
// both, ranked together), answer with the chosen model, and hand back a pull stream of events.
// Thread-safe: one Answerer serves all request threads.
#pragma once

#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <utility>

#include "agent/answer.h"
#include "agent/model_answer.h"
#include "agent/web_retrieval.h"
#include "index/pool_ranker.h"
#include "index/retriever.h"
#include "index/store.h"
#include "index/thread_store.h"

namespace chaja {

inline constexpr size_t kMaxQueryChars = 4000;
inline constexpr size_t kMaxK = 100;
// With the web on, this many of the collection's best passages join the web's in one ranking.
inline constexpr size_t kLocalPoolSize = 20;
inline constexpr size_t kMaxHistoryTurns = 50;  // earlier turns a caller may send
inline constexpr size_t kMaxHistoryTurnBytes = 64 << 10;

// Receives the search steps as they happen.
using StepSink = std::function<void(StepEvent)>;

class Answerer {
 public:
  // models makes the chat models that `model` names; without it only "extractive" answers.
  // default_model answers requests that name none.
  explicit Answerer(Retriever& retriever, ChatModelFactory models = {},
                    std::string default_model = "extractive")
      : retriever_(retriever),
        models_(std::move(models)),
        default_model_(std::move(default_model)) {}

  // The web side for requests with `web`: a retriever, or the error such requests get (no
  // backend configured, a bad setting). Call before serving.
  void set_web(std::shared_ptr<WebRetriever> web) { web_ = std::move(web); }
  void set_web_unavailable(Error why) { web_unavailable_ = std::move(why); }
  // Where conversations are kept: every answer then belongs to a thread (a new one unless the
  // request names one), and a thread's turns are the history of its next question.
  void set_threads(ThreadStore* threads) { threads_ = threads; }

  // Checks the request (bad input, unknown collection, model or thread are Errors here, not a
  // half-sent stream) and returns the stream at once: the searches and model calls run on the
  // stream's thread, their steps streamed as they happen; a failure there (the web search
  // failing with nothing else to answer from) is the stream's ErrorEvent.
  Result<std::unique_ptr<AnswerStream>> start(const AskRequest& request);

  // Drains start() into one response.
  Result<AskResponse> ask(const AskRequest& request);

  Result<std::vector<RetrievedHit>> search(const SearchRequest& request);

 private:
  // The passages for a request with the web on, searched for `query`; fills timings, warnings
  // and the steps to stream.
  Result<std::vector<Passage>> web_passages(const AskRequest& request, const std::string& query,
                                            AskResponse& base, const StepSink& step,
                                            const CancelFlag* cancel);
  // The collection's passages for `query`: the first search, then a plan's other queries (a
  // translation, the parts of a compound question) and up to kMaxBridgeSteps bridge searches,
  // fused by reciprocal rank; each search a step.
  Result<std::vector<Passage>> local_passages(const AskRequest& request, const std::string& query,
                                              const std::vector<ModelName>& chain, bool helper_down,
                                              AskResponse& base, const StepSink& step,
                                              const CancelFlag* cancel);
  // The chain's first model for the short helper calls, null when it is extractive or cannot
  // be made.
  std::unique_ptr<ChatModel> helper_model(const std::vector<ModelName>& chain) const;
  // A follow-up made standalone: by the chain's first model, else by rule.
  // helper_down is set when the model's call fails, so the later helper calls are skipped.
  std::string standalone_query(const std::string& question, const std::vector<HistoryTurn>& history,
                               const std::vector<ModelName>& chain, bool& helper_down,
                               const CancelFlag* cancel);

  // What start() checked and found, handed to the stream's thread.
  struct AnswerJob {
    AskRequest request;
    std::vector<ModelName> chain;
    std::vector<HistoryTurn> history;
    std::string thread_id;          // the thread to append to ("" until one is created)
    std::vector<Passage> passages;  // what the answer was given (the claims' sources)
  };
  class AgentStream;
  // Everything after the checks: rewrite, searches, the thread, the answer's own stream.
  Result<std::unique_ptr<AnswerStream>> answer(AnswerJob& job, const StepSink& step,
                                               const CancelFlag* cancel);

  Retriever& retriever_;
  ChatModelFactory models_;
  std::string default_model_;
  std::shared_ptr<WebRetriever> web_;
  std::optional<Error> web_unavailable_;
  ThreadStore* threads_ = nullptr;
};

// Validation shared by search and ask: non-empty, bounded, valid query; k in range.
Status check_query(const std::string& query, size_t k);

// Validation of caller-given history: at most kMaxHistoryTurns turns, UTF-8, bounded.
Status check_history(const std::vector<HistoryTurn>& history);

// Validation of the web filters: host names only (no scheme, path or wildcard), at most 20 each,
// and only with the web on.
Status check_web_filters(const AskRequest& request);

// "day", "week", "month" or "year" (Perplexity's search_recency_filter values).
Result<WebRecency> parse_recency(std::string_view text);

}  // namespace chaja
