// From files and raw text to stored, chunked documents: format detection by extension, text
// extraction (.txt .md .html, .pdf through index/pdf_text.h, .docx through index/docx_text.h),
// charset repair, chunking, and the store write. Used by `chaja index` and by POST /v1/documents.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "index/chunker.h"
#include "index/result.h"
#include "index/store.h"

namespace chaja {

enum class DocFormat { kText, kMarkdown, kHtml, kPdf, kDocx };

// The largest file ingested (IngestOptions::max_file_bytes by default; also the PDF and .docx cap).
inline constexpr uint64_t kMaxIngestBytes = 64ull << 20;

// Format by file extension (case-insensitive); kUnsupported for anything else.
Result<DocFormat> format_of(const std::filesystem::path& path);

struct PreparedDocument {
  std::string title;
  std::string text;  // valid UTF-8, ready to chunk
  std::string note;  // charset conversion or repair done, "" if none
};

// Extracts title and text from a file's bytes. fallback_title is used when the content names none.
// A PDF's title is its metadata Title, else its first non-empty line; its pages are separated by a
// blank line. PDF errors: kTooLarge, kUnsupported (locked), kInvalidInput (not a readable PDF).
// A .docx's title is its core.xml dc:title, else its first non-empty paragraph (see docx_text.h);
// errors: kTooLarge, kUnsupported (password-protected), kInvalidInput (not a readable .docx).
Result<PreparedDocument> prepare_document(std::string bytes, DocFormat format,
                                          const std::string& fallback_title);

struct IngestOptions {
  std::string collection = kDefaultCollection;
  ChunkOptions chunking;
  uint64_t max_file_bytes = kMaxIngestBytes;
  // Files are committed in batches of this many documents or bytes of text, whichever comes
  // first (and reported once committed): one transaction per file makes FTS5 merge constantly.
  size_t batch_documents = 256;
  size_t batch_bytes = 16u << 20;
};

// One line of progress per file.
struct FileReport {
  std::filesystem::path path;
  enum class Kind { kStored, kSkipped, kFailed } kind = Kind::kStored;
  PutResult put;        // when stored
  std::string message;  // why skipped or failed, or a note (repaired charset) when stored
  uint64_t bytes = 0;
};

struct IngestStats {
  size_t files = 0;  // files looked at
  size_t added = 0, replaced = 0, unchanged = 0, duplicates = 0, skipped = 0, failed = 0;
  size_t chunks = 0;   // chunks written
  uint64_t bytes = 0;  // bytes of the files read
  double seconds = 0;
};

using IngestReporter = std::function<void(const FileReport&, size_t done, size_t total)>;

// Ingests files and folders (recursively; hidden entries skipped). A file that cannot be read or
// decoded is reported and the run goes on; only a store failure ends it (as an error).
Result<IngestStats> ingest_paths(Store& store, const std::vector<std::filesystem::path>& paths,
                                 const IngestOptions& options, const IngestReporter& report);

}  // namespace chaja
