#!/bin/bash
# netmoved --check-config (as OpenBSD daemons' -n): 0 and "configuration OK"
# on a valid file; 2 on a bad one, the member named; nothing opened either
# way (no control socket or pidfile in the run directory, no state
# directory, no OVSDB connection).  --config defaults to $NETMOVE_CONFIG.
set -eu
cd "$(dirname "$0")/../.." || exit 1
NMD=$PWD/build/netmoved
[ -x "$NMD" ] || { echo "skip: build/netmoved not built (make)"; exit 77; }
TMP=$(mktemp -d /tmp/netmove-checkconfig.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
export NETMOVE_RUNDIR=$TMP/run OVS_RUNDIR=$TMP/ovs
mkdir "$NETMOVE_RUNDIR" "$OVS_RUNDIR"
# An OVSDB that would see a connection: a listening socket nobody may touch.
python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(8)
s.settimeout(30)
try:
    s.accept(); open(sys.argv[2], "w").write("connected\n")
except socket.timeout:
    pass
' "$OVS_RUNDIR/db.sock" "$TMP/db-touched" &
dbpid=$!
trap 'kill $dbpid 2>/dev/null || true; rm -rf "$TMP"' EXIT
for _ in $(seq 50); do [ -S "$OVS_RUNDIR/db.sock" ] && break; sleep 0.02; done

good() {
	jq -n --arg s "$TMP/state" '{version: 2, host: "h1", site: "a", state_dir: $s,
		networks: [{name: "blue", vlans: {a: 100}, prefixes: ["198.18.0.0/16"]}]}'
}

# check FILE CODE [PATTERN]: --check-config on FILE exits CODE, and its
# output matches PATTERN.
check() {
	local file=$1 want=$2 pat=${3:-} rc=0
	"$NMD" --check-config --config="$file" >"$TMP/out" 2>&1 || rc=$?
	[ $rc = "$want" ] || fail "--check-config on $(basename "$file"): exit $rc, not $want: $(cat "$TMP/out")"
	[ -z "$pat" ] || grep -Eq -- "$pat" "$TMP/out" ||
		fail "--check-config on $(basename "$file"): '$(cat "$TMP/out")' does not match '$pat'"
}

good >"$TMP/good.json"
check "$TMP/good.json" 0 "good.json: configuration OK"
good | jq '.bridge = 5' >"$TMP/type.json"
check "$TMP/type.json" 2 "type.json: .*member 'bridge'"
good | jq 'del(.host)' >"$TMP/nohost.json"
check "$TMP/nohost.json" 2 "nohost.json: .*'host'"
good | jq '.colour = "blue"' >"$TMP/unknown.json"
check "$TMP/unknown.json" 2 "colour"
good | jq '.networks[0].prefixes = ["198.18.0.1/16"]' >"$TMP/prefix.json"
check "$TMP/prefix.json" 2 "prefixes"
good | jq '.listen = "pssl:7300"' >"$TMP/notls.json"
check "$TMP/notls.json" 2 "tls: required"
echo '{"version": 2, "host": ' >"$TMP/syntax.json"
check "$TMP/syntax.json" 2 "syntax.json"
check "$TMP/missing.json" 2 "missing.json"
echo "ok: --check-config: 0 on a valid file; 2 naming the member (bridge, host, colour, prefixes, tls) or the file"

# The example the package installs.
check netmove/daemon/netmoved.json.example 0 "configuration OK"
# $NETMOVE_CONFIG is the default --config.
rc=0
NETMOVE_CONFIG=$TMP/type.json "$NMD" --check-config >"$TMP/out" 2>&1 || rc=$?
[ $rc = 2 ] && grep -q "type.json" "$TMP/out" || fail "--check-config without --config did not read \$NETMOVE_CONFIG (exit $rc: $(cat "$TMP/out"))"
echo "ok: the example configuration passes; \$NETMOVE_CONFIG is the default"

# Nothing opened.
[ -z "$(ls -A "$NETMOVE_RUNDIR")" ] || fail "--check-config created $(ls -A "$NETMOVE_RUNDIR") in the run directory"
[ ! -e "$TMP/state" ] || fail "--check-config created the state directory"
kill $dbpid 2>/dev/null; wait $dbpid 2>/dev/null || true
[ ! -e "$TMP/db-touched" ] || fail "--check-config connected to OVSDB"
echo "ok: --check-config opened nothing (no socket, pidfile, state directory or OVSDB connection)"
