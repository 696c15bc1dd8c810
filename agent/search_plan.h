// Search planning, "search like an agent": which queries to run for a question, and whether
// the passages found call for one more round.
//
// - A plan is the question itself, its translation into each document language that differs
//   from the question's (an English question finds Korean passages and the reverse), and one
//   query per part of a compound question; at most kMaxPlanQueries. Through the answering
//   model (plan_prompt() + parse_plan()), or by rule when there is none or the call fails
//   (rule_plan(): splits only, no translation).
// - A bridge is one more search for an entity the question describes but cannot name ("the
//   company that built X": the first round names X's maker, the second looks up its value):
//   bridge_prompt() + parse_bridge(), at most kMaxBridgeSteps rounds. No rule fallback.
// - The lists each query returns are fused by reciprocal rank (fuse_rankings()).
// Languages are "ko" and "en". Pure functions, thread-safe; the pipeline makes the calls and
// reports the plan and each search as step events.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "connectors/chat.h"

namespace chaja {

inline constexpr size_t kMaxPlanQueries = 4;          // the question included
inline constexpr size_t kMaxPlannedQueryChars = 300;  // code points of one planned query
inline constexpr size_t kMaxBridgeSteps = 2;          // retrieval rounds after the first
inline constexpr double kRrfK = 60;                   // reciprocal rank fusion constant

// "ko" when the text has a Hangul syllable, else "en".
std::string question_language(std::string_view text);

// The languages of a sample of texts (e.g. a first search's passages): "ko" and/or "en", each
// when at least 20% of the letters are Hangul (resp. Latin), the larger share first; empty
// when the sample has no letters.
std::vector<std::string> document_languages(const std::vector<std::string>& texts);

// The chat request for a plan (prompts/plan_search.txt): the question as the user message;
// the model is asked for {"queries": [...]} only.
ChatRequest plan_prompt(std::string_view query, const std::vector<std::string>& document_languages);

// Reads a model's plan: the JSON object {"queries": [...]} (or a bare array), also inside
// ```json fences or with prose around it. Keeps the strings that are valid UTF-8 of 1 to
// kMaxPlannedQueryChars code points (trimmed, one line), drops repeats (case-insensitive), and
// always starts with `query` itself; at most kMaxPlanQueries. Unusable output gives {query}.
std::vector<std::string> parse_plan(std::string_view model_output, std::string_view query);

// The plan without a model: {query}, then the parts of a compound question, split at " and "
// (before a question word: "Who founded Hanbit and when was Daon-13B released?"), "; ",
// 그리고, 및, a Korean question clause ending in -이고/-었고 ("…는 누구이고 …는 얼마인가요?"),
// or distributed over "X와 Y의 … 각각". A split needs two content words on each side; when in
// doubt the question stays whole.
std::vector<std::string> rule_plan(std::string_view query);

// The chat request for a bridge search (prompts/bridge_search.txt): the question and the
// passages found (fenced as data, each cut to a few hundred bytes, the first few only).
ChatRequest bridge_prompt(std::string_view question, const std::vector<std::string>& passage_texts);

// Reads a bridge answer: the cleaned first line (labels and quotes removed) as the next query;
// nullopt for NONE/none/없음, empty or unusable output, or a repeat of the question or of a
// query already searched (case-insensitive).
std::optional<std::string> parse_bridge(std::string_view output, std::string_view question,
                                        const std::vector<std::string>& already_searched);

// Reciprocal rank fusion of several best-first lists of ids: each id scores the sum over the
// lists of 1 / (kRrfK + rank), rank from 1, counting its first place in a list only. Returns
// the distinct ids best first, ties in order of first appearance (list by list); at most
// `limit` of them, 0 for all.
std::vector<int64_t> fuse_rankings(const std::vector<std::vector<int64_t>>& ranked_ids,
                                   size_t limit = 0);

}  // namespace chaja
