#include "index/ingest.h"

#include <algorithm>
#include <chrono>
#include <fstream>
#include <sstream>

#include "index/charset.h"
#include "index/docx_text.h"
#include "index/html_text.h"
#include "index/pdf_text.h"
#include "index/utf8.h"

namespace chaja {
namespace fs = std::filesystem;

namespace {

constexpr size_t kMaxTitleChars = 100;

std::string lower_ext(const fs::path& p) {
  std::string ext = p.extension().string();
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return ext;
}

// The first non-empty line, trimmed.
std::string_view first_line(std::string_view text) {
  size_t b = text.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return {};
  size_t e = text.find('\n', b);
  std::string_view line =
      text.substr(b, e == std::string_view::npos ? std::string_view::npos : e - b);
  while (!line.empty() && (line.back() == ' ' || line.back() == '\r' || line.back() == '\t'))
    line.remove_suffix(1);
  return line;
}

std::string title_from_text(std::string_view text, DocFormat format) {
  const std::string_view line = first_line(text);
  if (line.empty() || utf8::length(line) > kMaxTitleChars) return "";
  if (format == DocFormat::kMarkdown) {
    if (line.starts_with("# ")) return std::string(line.substr(2));
    return "";
  }
  // A plain-text first line is a title when it does not read as a sentence.
  const char last = line.back();
  if (last == '.' || last == '!' || last == '?' || last == ',') return "";
  return std::string(line);
}

Result<std::string> read_file(const fs::path& path, uint64_t max_bytes) {
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  if (ec) return make_error(ErrorKind::kIo, "cannot read: " + ec.message());
  if (size > max_bytes)
    return make_error(ErrorKind::kTooLarge, "file of " + std::to_string(size) +
                                                " bytes is over the limit of " +
                                                std::to_string(max_bytes));
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(ErrorKind::kIo, "cannot open for reading");
  std::string bytes(size, '\0');
  in.read(bytes.data(), static_cast<std::streamsize>(size));
  bytes.resize(static_cast<size_t>(in.gcount()));
  if (in.bad()) return make_error(ErrorKind::kIo, "read error");
  return bytes;
}

bool hidden(const fs::path& p) {
  const std::string name = p.filename().string();
  return name.size() > 1 && name[0] == '.' && name != "..";
}

}  // namespace

Result<DocFormat> format_of(const fs::path& path) {
  const std::string ext = lower_ext(path);
  if (ext == ".txt" || ext == ".text") return DocFormat::kText;
  if (ext == ".md" || ext == ".markdown") return DocFormat::kMarkdown;
  if (ext == ".html" || ext == ".htm") return DocFormat::kHtml;
  if (ext == ".pdf") return DocFormat::kPdf;
  if (ext == ".docx") return DocFormat::kDocx;
  return make_error(ErrorKind::kUnsupported, "unsupported file type '" +
                                                 (ext.empty() ? std::string("(none)") : ext) +
                                                 "' (supported: .txt .md .html .pdf .docx)");
}

Result<PreparedDocument> prepare_document(std::string bytes, DocFormat format,
                                          const std::string& fallback_title) {
  if (format == DocFormat::kPdf) {
    PdfLimits limits;
    limits.max_bytes = kMaxIngestBytes;
    auto pdf = pdf_to_text(bytes, limits);
    if (!pdf) return pdf.error();
    PreparedDocument doc;
    doc.text = std::move(pdf->text);
    doc.title = std::move(pdf->title);
    if (doc.title.empty()) {
      const std::string_view line = first_line(doc.text);
      if (utf8::length(line) <= kMaxTitleChars) doc.title = std::string(line);
    }
    if (doc.title.empty()) doc.title = fallback_title;
    return doc;
  }
  if (format == DocFormat::kDocx) {
    DocxLimits limits;
    limits.max_bytes = kMaxIngestBytes;
    auto docx = docx_to_text(bytes, limits);
    if (!docx) return docx.error();
    PreparedDocument doc;
    doc.text = std::move(docx->text);
    doc.title = docx->title.empty() ? fallback_title : std::move(docx->title);
    return doc;
  }
  auto decoded = decode_to_utf8(std::move(bytes));
  if (!decoded) return decoded.error();
  PreparedDocument doc;
  doc.note = std::move(decoded->note);
  if (format == DocFormat::kHtml) {
    auto h = html_to_text(decoded->text);
    if (!h) return h.error();
    doc.title = std::move(h->title);
    doc.text = std::move(h->text);
  } else {
    doc.text = std::move(decoded->text);
    doc.title = title_from_text(doc.text, format);
  }
  if (doc.title.empty()) doc.title = fallback_title;
  return doc;
}

Result<IngestStats> ingest_paths(Store& store, const std::vector<fs::path>& paths,
                                 const IngestOptions& options, const IngestReporter& report) {
  const auto t0 = std::chrono::steady_clock::now();
  IngestStats stats;
  std::vector<fs::path> files;
  std::vector<FileReport> early;  // missing paths, reported once the total is known
  for (const fs::path& root : paths) {
    std::error_code ec;
    const auto status = fs::status(root, ec);
    if (ec || !fs::exists(status)) {
      early.push_back({root, FileReport::Kind::kFailed, {}, "no such file or directory", 0});
      continue;
    }
    if (!fs::is_directory(status)) {
      files.push_back(root);
      continue;
    }
    auto it =
        fs::recursive_directory_iterator(root, fs::directory_options::skip_permission_denied, ec);
    for (; !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (hidden(it->path())) {
        if (it->is_directory(ec)) it.disable_recursion_pending();
        continue;
      }
      if (it->is_regular_file(ec)) files.push_back(it->path());
    }
    if (ec)
      early.push_back({root, FileReport::Kind::kFailed, {}, "cannot list: " + ec.message(), 0});
  }
  std::sort(files.begin(), files.end());
  const size_t total = files.size() + early.size();
  size_t done = 0;
  for (FileReport& r : early) {
    ++stats.failed;
    if (report) report(r, ++done, total);
  }

  // Stored files are reported only once their batch has committed: a report is an acknowledgement.
  std::vector<NewDocument> batch;
  std::vector<FileReport> batch_reports;
  size_t batch_bytes = 0;
  auto emit = [&](FileReport& r) {
    if (r.kind == FileReport::Kind::kSkipped) ++stats.skipped;
    if (r.kind == FileReport::Kind::kFailed) ++stats.failed;
    if (report) report(r, ++done, total);
  };
  auto flush = [&]() -> Status {
    if (batch.empty()) return {};
    auto results = store.put_batch(batch);
    if (!results) return results.error();  // the store is failing: stop, nothing half-written
    for (size_t i = 0; i < results->size(); ++i) {
      const PutResult& put = (*results)[i];
      switch (put.outcome) {
        case PutOutcome::kAdded:
          ++stats.added;
          stats.chunks += put.chunks;
          break;
        case PutOutcome::kReplaced:
          ++stats.replaced;
          stats.chunks += put.chunks;
          break;
        case PutOutcome::kUnchanged:
          ++stats.unchanged;
          break;
        case PutOutcome::kDuplicate:
          ++stats.duplicates;
          break;
      }
      batch_reports[i].put = put;
      emit(batch_reports[i]);
    }
    batch.clear();
    batch_reports.clear();
    batch_bytes = 0;
    return {};
  };

  for (const fs::path& path : files) {
    ++stats.files;
    FileReport r;
    r.path = path;
    auto finish = [&](FileReport::Kind kind, std::string message) {
      r.kind = kind;
      r.message = std::move(message);
      emit(r);
    };
    auto format = format_of(path);
    if (!format) {
      finish(FileReport::Kind::kSkipped, format.error().message);
      continue;
    }
    auto bytes = read_file(path, options.max_file_bytes);
    if (!bytes) {
      finish(FileReport::Kind::kFailed, bytes.error().message);
      continue;
    }
    r.bytes = bytes->size();
    stats.bytes += r.bytes;
    auto prepared = prepare_document(std::move(*bytes), *format, path.stem().string());
    if (!prepared) {
      finish(FileReport::Kind::kFailed, prepared.error().message);
      continue;
    }
    if (prepared->text.find_first_not_of(" \t\r\n") == std::string::npos) {
      finish(FileReport::Kind::kSkipped, "no text in it");
      continue;
    }
    NewDocument doc;
    doc.input.collection = options.collection;
    doc.input.title = std::move(prepared->title);
    std::error_code ec;
    const fs::path canonical = fs::weakly_canonical(path, ec);
    doc.input.source = (ec ? path : canonical).string();
    doc.input.text = std::move(prepared->text);
    doc.chunks = chunk_text(doc.input.text, options.chunking);
    batch_bytes += doc.input.text.size();
    r.kind = FileReport::Kind::kStored;
    r.message = std::move(prepared->note);
    batch.push_back(std::move(doc));
    batch_reports.push_back(std::move(r));
    if (batch.size() >= options.batch_documents || batch_bytes >= options.batch_bytes) {
      if (Status s = flush(); !s) return s.error();
    }
  }
  if (Status s = flush(); !s) return s.error();
  stats.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return stats;
}

}  // namespace chaja
