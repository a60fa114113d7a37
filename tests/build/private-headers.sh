#!/bin/bash
# A -private.h header (docs/STYLE.md "Shape") is included only by files of
# its own folder and by tests/: another module including one fails here.
set -u
cd "$(dirname "$0")/../.." || exit 1
fail=0

while IFS=: read -r file _ line; do
	hdr=$(sed -n 's/^#include "\(.*-private\.h\)".*/\1/p' <<<"$line")
	[ -n "$hdr" ] || continue
	case $file in
	tests/*) continue ;;
	esac
	if [ "$(dirname "$file")" != "$(dirname "$hdr")" ]; then
		echo "FAIL: $file includes $hdr, private to $(dirname "$hdr")/"
		fail=1
	fi
done < <(grep -rn --include='*.[ch]' '^#include ".*-private\.h"' \
	garp ovs firewall netmove tests)

# One suffix: no header named like an internal one another way.
others=$(find garp ovs firewall netmove -name '*-int.h' -o -name 'internal.h')
if [ -n "$others" ]; then
	echo "FAIL: private headers end in -private.h: $others"
	fail=1
fi
[ $fail = 0 ] && echo "ok: private headers included only inside their module"
exit $fail
