// The audit log, <data>/audit.log: one JSON object per line, appended. Who asked what and which
// sources came back; who added or removed a document or a thread; keys created and revoked (by
// `chaja keys`, another process: lines are single appends, so writers never interleave).
// Callers are named by their key's id, never by the key. An entry is written before its request
// is answered, so an answer that was returned is on record (the page cache: kill -9 loses
// nothing; fdatasync is left to the operator's log shipping).
#pragma once

#include <filesystem>
#include <memory>
#include <mutex>
#include <string>

#include "index/result.h"

namespace chaja {

class AuditLog {
 public:
  // Opens (creating, mode 0600) the file for appending.
  static Result<std::unique_ptr<AuditLog>> open(const std::filesystem::path& file);
  ~AuditLog();
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

  // Appends one entry: a JSON object (audit_*_json in json_api.h), to which a newline is added.
  // A failed write is reported on stderr once and otherwise ignored: the audit log must not take
  // the service down.
  void write(const std::string& json_object);

 private:
  explicit AuditLog(int fd) : fd_(fd) {}
  int fd_;
  std::mutex mu_;
  bool warned_ = false;
};

// The time now as ISO 8601 UTC with milliseconds: "2026-11-22T21:10:00.123Z".
std::string iso_now();

}  // namespace chaja
