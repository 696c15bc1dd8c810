// JSON at the edges: request bodies parsed into domain structs, domain results serialised, for the
// HTTP API and the CLI's --json alike. The only agent module that includes nlohmann/json.
// Parsers treat the body as hostile: wrong types, unknown shapes and invalid UTF-8 are errors
// naming the field, never exceptions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "agent/answer.h"
#include "agent/jobs.h"
#include "index/retriever.h"
#include "index/store.h"
#include "index/thread_store.h"

namespace chaja {

Result<AskRequest> parse_ask_request(std::string_view body);
Result<SearchRequest> parse_search_request(std::string_view body);
// The CLI's `--filter KEY=VALUE` added to a filter: VALUE is a JSON scalar when it reads as one
// (2024, true, "2024"), else a string (legal); a key given again means any of its values.
Status add_filter_argument(MetadataFilter& filter, std::string_view argument);
// POST /v1/documents as JSON: {"title","text","source"?,"collection"?,"metadata"?}.
Result<DocumentInput> parse_document_request(std::string_view body);

// Checks a document from any front door: text present, title and source UTF-8 and bounded,
// a valid collection name.
Status check_document_input(const DocumentInput& doc);
// Checks metadata: a JSON object (as text); returns it normalised.
Result<std::string> normalise_metadata(std::string_view json_text);

std::string ask_response_json(const AskResponse& response);
// A citation list and a list of strings as JSON arrays (what a thread stores of each turn).
std::string citations_json_text(const std::vector<Citation>& citations);
std::string strings_json_text(const std::vector<std::string>& strings);
// GET /v1/threads/{id}: the thread and its turns, each turn's citations and related questions as
// JSON (as stored).
std::string thread_json(const ThreadInfo& thread);
std::string search_response_json(const std::vector<RetrievedHit>& hits, double took_ms,
                                 bool explain = false);
std::string document_json(const DocumentInfo& doc, const std::string* text = nullptr);
std::string documents_json(const std::vector<DocumentInfo>& docs);
// GET /v1/collections: {"collections": [{"name","documents","chunks","bytes"}]}.
std::string collections_json(const std::vector<CollectionInfo>& collections);
std::string put_result_json(const PutResult& put);
std::string error_json(const Error& error);

// One Server-Sent Events frame: "event: NAME\ndata: JSON\n\n".
std::string sse_frame(const AnswerEvent& event);

// --- Ingest jobs -------------------------------------------------------------------------------

// A job's file (<data>/jobs/<id>.job) and back; a damaged file is kInvalidInput.
std::string job_file_json(const JobFile& job);
Result<JobFile> parse_job_file(std::string_view text);
// GET /v1/jobs/{id}: {"id","state","progress","collection","source","bytes","created_at",
// "finished_at", "result": {"id","chunks","status"} | "error": {"type","message"}}.
std::string job_status_json(const JobStatus& job);

// --- Logs --------------------------------------------------------------------------------------

// One line of the request log (stderr), as JSON: {"ts","level","msg":"request","request_id",
// "method","path","route","status","ms","key"}. No headers, bodies or query strings.
struct RequestLogEntry {
  std::string request_id, method, path, route, key_id;
  int status = 0;
  double ms = 0;
};
std::string request_log_json(const RequestLogEntry& e);

// An audit entry for an answer: who asked what, and which sources were returned (or the error).
// `key_id` is "" on an open server.
std::string audit_answer_json(const std::string& request_id, const std::string& key_id,
                              const AskRequest& request, const AskResponse* response,
                              const Error* error);
// An audit entry for anything else ("document.add", "document.delete", "thread.delete",
// "key.create", "key.revoke"): its event name and string fields.
std::string audit_event_json(const std::string& request_id, const std::string& key_id,
                             const std::string& event,
                             const std::vector<std::pair<std::string, std::string>>& fields);

}  // namespace chaja
