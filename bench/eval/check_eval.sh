#!/bin/sh
# The eval's regression test (tests/CMakeLists.txt): chaja_eval on the shipped set must validate
# it, print the three retrievers' and the extractive model's tables, and stay above the floors
# passed after the first argument (chaja_eval exits 1 below one).
#   check_eval.sh CHAJA_EVAL SET_DIR [--floor RETRIEVER:METRIC=VALUE]...
set -u
eval_bin=$1
set_dir=$2
shift 2
out=$("$eval_bin" --corpus "$set_dir/corpus" --questions "$set_dir/questions.jsonl" "$@")
status=$?
printf '%s\n' "$out"
[ "$status" -eq 0 ] || { echo "check_eval: chaja_eval exited with $status" >&2; exit 1; }
for row in 'all evidence found' '^bm25 +all ' '^dense +all ' '^hybrid +all ' '^hybrid +lang:ko ' \
           '^hybrid +lang:en ' '^hybrid +type:cross-lingual ' '^extractive +all '; do
  printf '%s\n' "$out" | grep -Eq "$row" || { echo "check_eval: no line matching '$row'" >&2; exit 1; }
done
