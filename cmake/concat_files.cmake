# Script mode: writes OUT as the files in FILES (a ;-list of absolute paths) one after another,
# each ending with a newline. Used to bundle the browser scripts (web/CMakeLists.txt).
set(text "")
foreach(f IN LISTS FILES)
  file(READ ${f} part)
  string(APPEND text "${part}\n")
endforeach()
file(WRITE ${OUT}.tmp "${text}")
file(COPY_FILE ${OUT}.tmp ${OUT} ONLY_IF_DIFFERENT)
file(REMOVE ${OUT}.tmp)
