// Helpers shared by the JSON edges, json_api.cpp and openai_api.cpp: nlohmann types in their
// signatures, so no other module includes this. Same behaviour as /v1/ask's own parsing:
// absent or null fields leave the output untouched; a wrong type is an Error naming the field.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <string>
#include <string_view>
#include <vector>

#include "agent/answer.h"

namespace chaja::json_detail {

// Serialises with invalid UTF-8 replaced (never throws).
std::string dump(const nlohmann::json& j);
// Parses a request body: at most 64 levels deep, valid UTF-8 JSON, an object.
Result<nlohmann::json> parse_object(std::string_view body);
Error field_error(const char* field, const char* want);
Status get_string(const nlohmann::json& j, const char* field, std::string& out,
                  bool required = false);
Status get_bool(const nlohmann::json& j, const char* field, bool& out);
// "collection": a valid collection name.
Status get_collection(const nlohmann::json& j, std::string& out);
// "web" (bool) and "sources" ("local", "web" or "both"; it overrides "web") into the request.
Status get_sources(const nlohmann::json& j, AskRequest& r);
// Perplexity's "search_domain_filter" and "search_recency_filter" into the request.
Status get_web_filters(const nlohmann::json& j, AskRequest& r);
// "filter": metadata keys and values (or arrays of values: any of), validated
// (check_metadata_filter); absent or null leaves out untouched.
Status get_metadata_filter(const nlohmann::json& j, MetadataFilter& out);

// The contract's citation object ({"n","kind","doc_id",...}), as /v1/ask gives it.
nlohmann::json citation_json(const Citation& c);
nlohmann::json citations_json(const std::vector<Citation>& cs);
nlohmann::json claims_json(const std::vector<Claim>& claims);

}  // namespace chaja::json_detail
