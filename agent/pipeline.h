// The answer pipeline: validate the request, retrieve passages, answer with the chosen model, and
// hand back a pull stream of events. Thread-safe: one Answerer serves all request threads.
#pragma once

#include <memory>
#include <utility>

#include "agent/answer.h"
#include "agent/model_answer.h"
#include "index/retriever.h"
#include "index/store.h"

namespace chaja {

inline constexpr size_t kMaxQueryChars = 4000;
inline constexpr size_t kMaxK = 100;

class Answerer {
 public:
  // models makes the chat models that `model` names; without it only "extractive" answers.
  // default_model answers requests that name none.
  explicit Answerer(Retriever& retriever, ChatModelFactory models = {},
                    std::string default_model = "extractive")
      : retriever_(retriever), models_(std::move(models)), default_model_(std::move(default_model)) {}

  // Checks the request and does the retrieval before returning, so that every early failure
  // (bad input, unknown collection or model) is an Error here and not a half-sent stream.
  Result<std::unique_ptr<AnswerStream>> start(const AskRequest& request);

  // Drains start() into one response.
  Result<AskResponse> ask(const AskRequest& request);

  Result<std::vector<RetrievedHit>> search(const SearchRequest& request);

 private:
  Retriever& retriever_;
  ChatModelFactory models_;
  std::string default_model_;
};

// Validation shared by search and ask: non-empty, bounded, valid query; k in range.
Status check_query(const std::string& query, size_t k);

}  // namespace chaja
