#!/bin/bash
# The direction of calls between netmove's libraries (docs/ARCHITECTURE.md
# "Modules"), checked two ways on the built archives:
#
#  1. Every library's undefined symbols are defined only by libraries it may
#     call (nm): a daemon file called from the CLI, or the CLI from the
#     daemon, shows here with the symbol's name.
#  2. A CLI file that calls a daemon function fails to link with the CLI's
#     own link line, and the same file calling a common function links: the
#     Makefile, not a convention, keeps the direction.
set -u -o pipefail
cd "$(dirname "$0")/../.." || exit 1
B=${BUILD:-build}
fail=0

# lib: the libraries it may call (besides libopenvswitch and the system's).
declare -A may=(
	[nmovs]=""
	[firewall]=""
	[garp]="nmovs"
	[nmcommon]="garp firewall nmovs"
	[nmverify]="nmcommon garp firewall nmovs"
	[nmaddr]="nmverify nmcommon garp firewall nmovs"
	[nmcli]="nmaddr nmverify nmcommon garp firewall nmovs"
	[nmhooks]="nmcli nmaddr nmverify nmcommon garp firewall nmovs"
	[nmdaemon]="nmaddr nmverify nmcommon garp firewall nmovs"
)

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

for l in "${!may[@]}"; do
	[ -f "$B/lib$l.a" ] || { echo "missing $B/lib$l.a (make all first)"; exit 1; }
	nm --defined-only "$B/lib$l.a" | awk '$2 ~ /^[TDBRC]$/ {print $3}' | sort -u >"$tmp/def.$l"
	nm -u "$B/lib$l.a" | awk '{print $NF}' | sort -u >"$tmp/undef.$l"
done
for l in "${!may[@]}"; do
	for other in "${!may[@]}"; do
		[ "$other" = "$l" ] && continue
		case " ${may[$l]} " in *" $other "*) continue ;; esac
		bad=$(comm -12 "$tmp/undef.$l" "$tmp/def.$other")
		if [ -n "$bad" ]; then
			echo "FAIL: lib$l calls lib$other, which it may not:" $bad
			fail=1
		fi
	done
done
[ $fail -eq 0 ] && echo "ok: ${#may[@]} libraries call only the ones they may"

# 2. Link a CLI file that calls the daemon, with the CLI's link line.
read -r -a cflags <<<"$(make -s --no-print-directory print-cflags)"
read -r -a link <<<"$(make -s --no-print-directory print-cli-link)"
probe() {       # probe NAME CALL: compiles and links a CLI file making CALL
	cat >"$tmp/$1.c" <<-EOC
	#include "netmove/cli/cli.h"
	void nm_layering_probe(void);
	void nm_layering_probe(void) { $2; }
	EOC
	gcc "${cflags[@]}" -c -o "$tmp/$1.o" "$tmp/$1.c" || { echo "FAIL: $1.c does not compile"; exit 1; }
	gcc -o "$tmp/$1" "$tmp/$1.o" "${link[@]}" >"$tmp/$1.log" 2>&1
}
if ! probe common 'extern void *nm_json_object_1(const char *, void *); nm_json_object_1("a", 0)'; then
	echo "FAIL: a CLI file calling netmove/common does not link:"; cat "$tmp/common.log"; fail=1
else
	echo "ok: a CLI file calling netmove/common (nm_json_object_1) links"
fi
if probe daemon 'extern void migrations_run(void *); migrations_run(0)'; then
	echo "FAIL: a CLI file calling the daemon's migrations_run() links"; fail=1
elif grep -q "undefined reference to \`migrations_run'" "$tmp/daemon.log"; then
	echo "ok: a CLI file calling the daemon's migrations_run() fails to link:"
	grep -m1 "undefined reference" "$tmp/daemon.log" | sed 's/^/    /'
else
	echo "FAIL: the daemon probe failed to link for another reason:"; cat "$tmp/daemon.log"; fail=1
fi
exit $fail
