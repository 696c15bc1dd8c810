# chaja_warnings(TARGET): the warning set for Chaja's own code (never for third-party headers,
# which come in as SYSTEM includes through their imported targets).
function(chaja_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
                                           -Wold-style-cast -Wcast-align -Wnull-dereference)
  if(CHAJA_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()
