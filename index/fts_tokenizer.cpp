// Chaja's tokenizer (index/tokenizer.h) registered as an FTS5 tokenizer named "chaja".
// Both documents and queries are cut in document mode here: query-side processing (stop words,
// particle stripping) is done by the store before it writes the MATCH expression.
#include <algorithm>
#include <string_view>

#include "index/sqlite_db.h"
#include "index/tokenizer.h"

namespace chaja::sql {
namespace {

// FTS5 wants an opaque tokenizer object; Chaja's tokenizer has no state, so one static suffices.
struct ChajaFts5Tokenizer {};
ChajaFts5Tokenizer g_tokenizer;

int x_create(void*, const char**, int, Fts5Tokenizer** out) {
  *out = reinterpret_cast<Fts5Tokenizer*>(&g_tokenizer);
  return SQLITE_OK;
}

void x_delete(Fts5Tokenizer*) {}

int x_tokenize(Fts5Tokenizer*, void* ctx, int /*flags*/, const char* text, int n,
               int (*token)(void*, int, const char*, int, int, int)) {
  if (n <= 0 || text == nullptr) return SQLITE_OK;
  int rc = SQLITE_OK;
  tokenize(std::string_view(text, static_cast<size_t>(n)), TokenMode::kDocument,
           [&](std::string_view t, size_t start, size_t end) {
             if (rc != SQLITE_OK) return;
             rc = token(ctx, 0, t.data(), static_cast<int>(t.size()), static_cast<int>(start),
                        static_cast<int>(end));
           });
  return rc;
}

fts5_api* fts5_api_of(sqlite3* db) {
  fts5_api* api = nullptr;
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db, "SELECT fts5(?1)", -1, &stmt, nullptr) == SQLITE_OK) {
    sqlite3_bind_pointer(stmt, 1, static_cast<void*>(&api), "fts5_api_ptr", nullptr);
    sqlite3_step(stmt);
  }
  sqlite3_finalize(stmt);
  return api;
}

}  // namespace

Status register_fts_tokenizer(Db& db) {
  fts5_api* api = fts5_api_of(db.raw());
  if (api == nullptr || api->iVersion < 2)
    return make_error(ErrorKind::kUnsupported, "this SQLite has no FTS5 (version 2 API needed)");
  static fts5_tokenizer tokenizer = {x_create, x_delete, x_tokenize};
  if (api->xCreateTokenizer(api, "chaja", nullptr, &tokenizer, nullptr) != SQLITE_OK)
    return db.error("registering the FTS5 tokenizer");
  return {};
}

Result<std::unique_ptr<IndexTokenizer>> IndexTokenizer::create(Db& db) {
  fts5_api* api = fts5_api_of(db.raw());
  if (api == nullptr) return make_error(ErrorKind::kUnsupported, "this SQLite has no FTS5");
  void* user_data = nullptr;
  fts5_tokenizer porter{};
  if (api->xFindTokenizer(api, "porter", &user_data, &porter) != SQLITE_OK)
    return db.error("finding FTS5's porter tokenizer");
  const char* args[] = {"chaja"};
  Fts5Tokenizer* instance = nullptr;
  if (porter.xCreate(user_data, args, 1, &instance) != SQLITE_OK || instance == nullptr)
    return make_error(ErrorKind::kInternal, "creating the porter tokenizer over chaja failed");
  return std::unique_ptr<IndexTokenizer>(new IndexTokenizer(porter, instance));
}

IndexTokenizer::~IndexTokenizer() {
  module_.xDelete(instance_);
}

void IndexTokenizer::cut(std::string_view text, std::vector<std::string>& out) {
  if (text.empty()) return;
  auto sink = [](void* ctx, int, const char* token, int n, int, int) {
    static_cast<std::vector<std::string>*>(ctx)->emplace_back(token, static_cast<size_t>(n));
    return SQLITE_OK;
  };
  // Texts over 2 GiB do not exist here (chunks are kilobytes); clamp rather than overflow.
  const int n = static_cast<int>(std::min<size_t>(text.size(), 1u << 30));
  module_.xTokenize(instance_, &out, FTS5_TOKENIZE_DOCUMENT, text.data(), n, sink);
}

}  // namespace chaja::sql
