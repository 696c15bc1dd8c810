// Answers through an LLM. The retrieved passages, fenced and numbered, go to the model with the
// system prompt in the question's language (prompts/answer_system.txt, answer_system.ko.txt),
// packed under the model's context budget (agent/prompt_budget.h); earlier turns of the thread
// go along as messages. The answer streams back as DeltaEvents with its citation markers
// checked and renumbered as they arrive (agent/citations.h): a marker pointing at no source is
// dropped, and the final citation list is what the answer cited, [n] being citations[n-1].
// Related questions come from a second, short call; when it fails, from the sources.
//
// A model name may be a fallback chain, "clova:HCX-005,openai:gpt-4o-mini,extractive": each
// model is tried in order, and one that fails before its first text gives way to the next
// ("extractive" answers from the passages themselves and never fails). Once text has reached
// the caller, a failure ends the answer with an ErrorEvent: nothing is retried or mixed.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "agent/answer.h"
#include "agent/prompt_budget.h"
#include "connectors/chat.h"
#include "connectors/model_name.h"
#include "index/store.h"

namespace chaja {

// Makes the chat model a name stands for; the CLI wires it to the provider registry, so the
// pipeline never knows a provider. kUnavailable when the provider is not configured.
using ChatModelFactory = std::function<Result<std::unique_ptr<ChatModel>>(const ModelName&)>;

// Splits "a,b,extractive" into parsed names; kInvalidInput for an empty or malformed entry.
Result<std::vector<ModelName>> parse_model_chain(const std::string& names);

// One citation per passage, numbered from 1 in order, with a snippet of its text (the part that
// best matches the query).
std::vector<Citation> passage_citations(const std::vector<Passage>& passages,
                                        std::string_view query);

// What an answer is written from.
struct AnswerContext {
  std::string question;  // as the user asked it
  // What was searched for: a follow-up made standalone ("" = the question). The extractive
  // model and the related questions drawn from the sources read this one.
  std::string query;
  std::vector<HistoryTurn> history;  // earlier turns, oldest first
  std::vector<Passage> passages;     // best first

  const std::string& searched() const { return query.empty() ? question : query; }
};

// The chat request: the system prompt with the sources fenced as data (<source n="1" ...> …
// </source>; a "</source" inside a source cannot close the fence), earlier turns (markers
// removed, the newest kept first when short of room), the question. Passages are packed best
// first while they fit the budget, with room kept for the answer; `sent` gets how many did.
ChatRequest answer_prompt(const AnswerContext& context, const ModelBudget& budget,
                          size_t* sent = nullptr);

// The request for three related questions (prompts/related_questions.txt), and its reading:
// up to three cleaned lines that are questions, none equal to the asked one.
ChatRequest related_prompt(const std::string& question, const std::string& answer);
std::vector<std::string> parse_related(std::string_view output, std::string_view question);

// A blocking call with a deadline of its own: past `timeout`, or when `outer` is set, the call
// is cancelled (kCancelled / the connector's kTimeout).
Result<ChatResult> chat_within(ChatModel& model, const ChatRequest& request,
                               std::chrono::milliseconds timeout,
                               const CancelFlag* outer = nullptr);

// The answer stream of a chain. Models are made (factory) before any event, so a chain none
// of whose models can be made fails here; the calls run on a thread of the stream, which
// destroying the stream cancels and joins. `base` carries what the answer reports besides the
// model's part (timings, warnings, the query).
Result<std::unique_ptr<AnswerStream>> model_answer_stream(const std::vector<ModelName>& chain,
                                                          const ChatModelFactory& factory,
                                                          AnswerContext context,
                                                          AskResponse base = {});

}  // namespace chaja
