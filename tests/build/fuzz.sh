#!/bin/bash
# Replays the fuzz corpus (tests/fuzz/corpus/NAME) through each fuzz target
# (build/fuzz/fuzz_NAME, built by 'make tests' with clang) and runs a fixed,
# seeded number of executions on top: the same inputs every run, so that
# what fails is a change to the code, never a new random finding (those are
# 'make fuzz''s).  Nothing is written under tests/.  Skipped without clang.
set -u
cd "$(dirname "$0")/../.." || exit 1
RUNS=${FUZZ_RUNS:-20000}
shopt -s nullglob
bins=(build/fuzz/fuzz_*)
srcs=(tests/fuzz/fuzz_*.c)
if [ ${#bins[@]} -eq 0 ]; then
	echo "no fuzz targets built (clang-14 and libclang-rt-14-dev: make deps)"
	exit 77
fi
[ ${#bins[@]} -eq ${#srcs[@]} ] || { echo "built ${#bins[@]} fuzz targets of ${#srcs[@]}: run make tests"; exit 1; }
tmp=$(mktemp -d /tmp/netmove-fuzz.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
rc=0
for b in "${bins[@]}"; do
	n=${b#build/fuzz/fuzz_}
	mkdir -p "$tmp/$n"
	# -runs counts the corpus replay too; new inputs go to $tmp.
	if "$b" -runs="$RUNS" -seed=1 -artifact_prefix="$tmp/$n-" "$tmp/$n" \
		"tests/fuzz/corpus/$n" >"$tmp/$n.log" 2>&1; then
		echo "fuzz_$n: $(grep -o 'cov: [0-9]*' "$tmp/$n.log" | tail -1), $(grep -o 'Done [0-9]* runs.*' "$tmp/$n.log")"
	else
		echo "fuzz_$n: FAILED"
		grep -A30 '==ERROR\|deadly signal\|ERROR:' "$tmp/$n.log" | head -60
		for a in "$tmp/$n"-*; do echo "input ($a):"; head -c 600 "$a" | od -c | head -20; done
		rc=1
	fi
done
exit $rc
