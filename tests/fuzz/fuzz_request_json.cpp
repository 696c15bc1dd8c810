// fuzz_request_json: the HTTP API's request bodies (agent/json_api.h, agent/openai_api.h). The
// input is one body, given to every parser. Invariants:
//   - no parser throws (an exception escaping a parser would be a 500 at best); errors are
//     kInvalidInput or kTooLarge with a valid UTF-8 message;
//   - what a parser accepts is what the server relies on: strings valid UTF-8, a filter within
//     check_metadata_filter's limits, a document that passes check_document_input with metadata
//     that normalise_metadata accepts;
//   - what the server then writes back (the answer, OpenAI and error objects, a document, and the
//     error for a rejected body) is valid JSON that parses again.
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "agent/json_api.h"
#include "agent/openai_api.h"
#include "index/metadata_filter.h"
#include "index/utf8.h"
#include "tests/fuzz/fuzz_util.h"

namespace {

using chaja::utf8::is_valid;

void check_json_text(const std::string& text) {
  FUZZ_CHECK(is_valid(text));
  FUZZ_CHECK(nlohmann::json::accept(text));
}

void check_error(const chaja::Error& error) {
  FUZZ_CHECK(error.kind == chaja::ErrorKind::kInvalidInput ||
             error.kind == chaja::ErrorKind::kTooLarge);
  FUZZ_CHECK(!error.message.empty());
  check_json_text(chaja::error_json(error));
  check_json_text(chaja::openai_error_json(error));
}

void check_ask(const chaja::AskRequest& r) {
  FUZZ_CHECK(is_valid(r.query));
  FUZZ_CHECK(is_valid(r.collection));
  FUZZ_CHECK(is_valid(r.model));
  if (r.thread_id) FUZZ_CHECK(is_valid(*r.thread_id));
  for (const std::string& d : r.include_domains) FUZZ_CHECK(is_valid(d));
  for (const std::string& d : r.exclude_domains) FUZZ_CHECK(is_valid(d));
  for (const chaja::HistoryTurn& t : r.history)
    FUZZ_CHECK(is_valid(t.question) && is_valid(t.answer));
  FUZZ_CHECK(chaja::check_metadata_filter(r.filter).ok());

  // The answer echoes the query and the model; the OpenAI form names them too.
  chaja::AskResponse response;
  response.answer = r.query;
  response.query = r.query;
  response.model = r.model;
  response.thread_id = r.thread_id;
  response.related_questions = {r.query};
  chaja::Citation c;
  c.n = 1;
  c.title = r.collection;
  c.source = r.include_domains.empty() ? "" : r.include_domains.front();
  c.snippet = r.history.empty() ? "" : r.history.back().question;
  response.citations.push_back(c);
  check_json_text(chaja::ask_response_json(response));
  check_json_text(chaja::chat_completion_json(response, "chatcmpl-fuzz", 1700000000));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);

  if (auto r = chaja::parse_ask_request(body))
    check_ask(*r);
  else
    check_error(r.error());

  if (auto r = chaja::parse_chat_completion_request(body)) {
    check_ask(*r);
    FUZZ_CHECK(r->history.size() < chaja::kMaxChatMessages);
  } else {
    check_error(r.error());
  }

  if (auto r = chaja::parse_search_request(body)) {
    FUZZ_CHECK(is_valid(r->query) && is_valid(r->collection));
    FUZZ_CHECK(chaja::check_metadata_filter(r->filter).ok());
    chaja::RetrievedHit hit;
    hit.hit.title = r->query;
    hit.hit.text = r->query;
    hit.hit.source = r->collection;
    check_json_text(chaja::search_response_json({hit}, 1.5, r->explain));
  } else {
    check_error(r.error());
  }

  if (auto r = chaja::parse_document_request(body)) {
    FUZZ_CHECK(chaja::check_document_input(*r).ok());
    chaja::Result<std::string> metadata = chaja::normalise_metadata(r->metadata_json);
    FUZZ_CHECK(metadata.ok());
    FUZZ_CHECK(*metadata == r->metadata_json);
    chaja::DocumentInfo info;
    info.collection = r->collection;
    info.title = r->title;
    info.source = r->source;
    info.metadata_json = *metadata;
    check_json_text(chaja::document_json(info, &r->text));
  } else {
    check_error(r.error());
  }

  // The same text as the CLI's metadata file and --filter argument.
  if (auto m = chaja::normalise_metadata(body)) {
    check_json_text(*m);
    FUZZ_CHECK(chaja::normalise_metadata(*m).ok());
  } else {
    check_error(m.error());
  }
  chaja::MetadataFilter filter;
  if (chaja::Status s = chaja::add_filter_argument(filter, body); !s) check_error(s.error());
  return 0;
}
