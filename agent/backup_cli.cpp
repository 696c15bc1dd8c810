#include "agent/backup_cli.h"

#include <cstdio>
#include <string>

#include "index/backup.h"

namespace chaja {

int cmd_backup(const cli::Args& a) {
  if (a.positional.size() != 1)
    return cli::usage_error("backup takes one target folder (new or empty)");
  const std::filesystem::path data = cli::data_dir(a);
  auto report = backup_data_dir(data, a.positional[0]);
  if (!report) return cli::fail(report.error());
  for (const BackupFile& f : report->files)
    std::printf("  %-32s %12llu bytes\n", f.name.c_str(), static_cast<unsigned long long>(f.bytes));
  for (const std::string& s : report->skipped) std::printf("  left out: %s\n", s.c_str());
  std::printf("backed up %zu files, %llu bytes in %.3f s: %s -> %s\n", report->files.size(),
              static_cast<unsigned long long>(report->bytes), report->seconds, data.c_str(),
              a.positional[0].c_str());
  return cli::kExitOk;
}

}  // namespace chaja
