// Answers through an LLM. The retrieved passages, numbered in the order of the answer's
// citations, go to the model with the system prompt (prompts/answer_system.txt); the model's
// answer streams back as DeltaEvents, so its [n] is citations[n-1].
//
// A model name may be a fallback chain, "clova:HCX-005,openai:gpt-4o-mini,extractive": each
// model is tried in order, and one that fails before its first text gives way to the next
// ("extractive" answers from the passages themselves and never fails). Once text has reached
// the caller, a failure ends the answer with an ErrorEvent: nothing is retried or mixed.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "agent/answer.h"
#include "connectors/chat.h"
#include "connectors/model_name.h"
#include "index/store.h"

namespace chaja {

// Makes the chat model a name stands for; the CLI wires it to the provider registry, so the
// pipeline never knows a provider. kUnavailable when the provider is not configured.
using ChatModelFactory = std::function<Result<std::unique_ptr<ChatModel>>(const ModelName&)>;

// Splits "a,b,extractive" into parsed names; kInvalidInput for an empty or malformed entry.
Result<std::vector<ModelName>> parse_model_chain(const std::string& names);

// One citation per passage sent, numbered from 1 in order, with a snippet of its text.
std::vector<Citation> passage_citations(const std::vector<Passage>& passages);

// The chat request: the system prompt with the numbered sources and the question's language,
// the question as the user's message.
ChatRequest answer_prompt(const std::string& question, const std::vector<Passage>& passages);

// The answer stream of a chain. Models are made (factory) before any event, so a chain none
// of whose models can be made fails here; the calls run on a thread of the stream, which
// destroying the stream cancels and joins. `base` carries what the answer reports besides the
// model's part (timings, warnings).
Result<std::unique_ptr<AnswerStream>> model_answer_stream(const std::vector<ModelName>& chain,
                                                          const ChatModelFactory& factory,
                                                          const std::string& question,
                                                          std::vector<Passage> passages,
                                                          AskResponse base = {});

}  // namespace chaja
