// The prompt templates of prompts/, embedded at build time (see prompts/CMakeLists.txt).
#pragma once

#include <string_view>

namespace chaja::prompts {

// The bytes of a template by file name ("answer_system.txt"); empty when there is none.
std::string_view find(std::string_view name);

}  // namespace chaja::prompts
