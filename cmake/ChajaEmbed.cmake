# chaja_embed_files(OUT_CPP NAMESPACE ns FILES a b ...): writes a .cpp at build time that holds each
# file's bytes as a std::string_view, looked up by file name through ns::find(name).
# The generation runs in script mode (cmake -P) so an edited asset rebuilds without re-configuring.
set(CHAJA_EMBED_SCRIPT ${CMAKE_CURRENT_LIST_DIR}/embed_files.cmake)

function(chaja_embed_files out_cpp)
  cmake_parse_arguments(ARG "" "NAMESPACE" "FILES" ${ARGN})
  add_custom_command(
    OUTPUT ${out_cpp}
    COMMAND ${CMAKE_COMMAND} -DOUT=${out_cpp} -DNAMESPACE=${ARG_NAMESPACE}
            "-DFILES=${ARG_FILES}" -P ${CHAJA_EMBED_SCRIPT}
    DEPENDS ${ARG_FILES} ${CHAJA_EMBED_SCRIPT}
    COMMENT "Embedding ${ARG_NAMESPACE} assets"
    VERBATIM)
endfunction()
