#include "index/result.h"

namespace chaja {

const char* error_kind_name(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kInvalidInput:
      return "invalid_request";
    case ErrorKind::kNotFound:
      return "not_found";
    case ErrorKind::kTooLarge:
      return "too_large";
    case ErrorKind::kUnsupported:
      return "unsupported";
    case ErrorKind::kConflict:
      return "conflict";
    case ErrorKind::kForbidden:
      return "forbidden";
    case ErrorKind::kUnavailable:
      return "unavailable";
    case ErrorKind::kUpstream:
      return "upstream_error";
    case ErrorKind::kTimeout:
      return "upstream_timeout";
    case ErrorKind::kIo:
      return "io_error";
    case ErrorKind::kInternal:
      return "internal_error";
    case ErrorKind::kRateLimited:
      return "rate_limited";
    case ErrorKind::kUnauthorized:
      return "unauthorized";
    case ErrorKind::kCancelled:
      return "cancelled";
  }
  return "internal_error";
}

}  // namespace chaja
