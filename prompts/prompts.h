// The prompt templates of prompts/, embedded at build time (see prompts/CMakeLists.txt).
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace chaja::prompts {

// The bytes of a template by file name ("answer_system.txt"); empty when there is none.
std::string_view find(std::string_view name);

// A template with its placeholders ("{language}") replaced by their values, in one pass over the
// template: a value is never searched again, so text inside a value that looks like a
// placeholder (a source quoting "{sources}") stays as it is. Placeholders not given stay too.
std::string fill(std::string_view text,
                 std::initializer_list<std::pair<std::string_view, std::string_view>> values);

}  // namespace chaja::prompts
