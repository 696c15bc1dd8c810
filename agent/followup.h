// Follow-up questions made standalone. "그 회사의 기업 가치는?" after "한빛반도체의 대표이사는
// 누구인가요?" searches for 한빛반도체's value, not for "that company".
//
// Two ways, the pipeline picks: through the answering model (rewrite_prompt(), one short call),
// or by rule when no model is configured or the call fails (rule_standalone_query()). The rule
// finds the topic of the previous question (the noun phrase before its first topic or possessive
// particle in Korean; the longest run of capitalised words in English) and puts it where the
// follow-up has a demonstrative or pronoun (그 회사, 그것, 해당, it, its, they, that company), or
// before a short follow-up that names no subject ("직원 수는?", "and the revenue?").
// Pure functions, thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "agent/answer.h"
#include "connectors/chat.h"

namespace chaja {

// True when the question leans on an earlier turn: a demonstrative or pronoun, or too few
// words of its own to stand alone.
bool looks_like_follow_up(std::string_view question);

// The main subject of a question ("한빛반도체", "Greywick Point"), "" when none stands out.
std::string question_topic(std::string_view question);

// The question made standalone by rule; the question itself when there is no history or it
// does not look like a follow-up.
std::string rule_standalone_query(std::string_view question,
                                  const std::vector<HistoryTurn>& history);

// The chat request asking a model for the standalone query (prompts/rewrite_query.txt): the
// last turns of the conversation and the new question; the model answers with the query only.
ChatRequest rewrite_prompt(std::string_view question, const std::vector<HistoryTurn>& history);

// Cleans a model's rewrite (first line, quotes and labels removed); "" when it is unusable
// (empty, too long, not UTF-8), so the caller falls back to the rule.
std::string clean_rewrite(std::string_view model_output);

}  // namespace chaja
