#!/bin/bash
# A VM-initiated TCP flow behind an "established only" inbound policy, with
# nf_conntrack_tcp_loose=0, survives a move through netmoved only because its
# conntrack entry moves: the same move with the moved entries deleted on the
# destination breaks it.  Two fresh labs, the same scenario, one difference.
#
#   vm1 --TCP (VM-initiated)--> client          (probe --reverse)
#   host1 nft: inbound to vm1 only established/related + tcp dport @vm1-ports
#   host2: the same after the move, if netmove brought the VM's objects
set -eu
. "$(dirname "$0")/lib.bash"

# run NAME EXTRA_HOOK: one move under a VM-initiated stream; prints survived.
run() {
	local name=$1 extra=$2
	"$LAB" up --hosts 2 --vms 1 --firewall >/dev/null
	[ "$("$LAB" exec host2 sysctl -n net.netfilter.nf_conntrack_tcp_loose)" = 0 ] || fail "tcp_loose not 0"
	wait_peers host2 host1
	rm -f "$TMP/ready"
	"$LAB" probe vm1 --reverse --duration 4 --ready "$TMP/ready" --json >"$TMP/$name.json" &
	local probe=$!
	wait_until 10 test -f "$TMP/ready" || fail "$name: probe did not start"
	"$LAB" exec host1 conntrack -L -p tcp --dport 5001 2>/dev/null | grep -q "ESTABLISHED src=198.18.1.1 " ||
		fail "$name: the VM-initiated flow is not tracked on host1"
	if [ -n "$extra" ]; then
		"$LAB" migrate vm1 host2 --netmove --hook "$extra" >/dev/null
	else
		"$LAB" migrate vm1 host2 --netmove >/dev/null
	fi
	wait $probe || true
	"$LAB" exec host1 "$NETMOVE" status --json | jq -c .conntrack_events >"$TMP/$name.ctev"
	"$LAB" down
	jq -r '.tcp.survived' "$TMP/$name.json"
}

with=$(run moved "")
[ "$with" = true ] || fail "with its conntrack entry moved the flow broke: $(cat "$TMP/moved.json")"
pass "conntrack moved: the VM-initiated flow survived ($(jq -c '{tcp_stall_ms: .tcp.longest_gap_ms}' "$TMP/moved.json"))"
# The source's delta at the pause came from its event listener, not a dump.
jq -e '.listening and .deltas >= 1 and .fallbacks == 0 and .overruns == 0 and .watches == 0' \
	"$TMP/moved.ctev" >/dev/null || fail "source's conntrack delta not from events: $(cat "$TMP/moved.ctev")"
pass "the source's conntrack delta came from events: $(cat "$TMP/moved.ctev")"

# Same move; right after netmove resume, the moved entries go.
without=$(run deleted 'conntrack -D -s 198.18.1.1 >/dev/null 2>&1; conntrack -D -d 198.18.1.1 >/dev/null 2>&1; true')
[ "$without" = false ] || fail "the flow survived without its conntrack entry: the test shows nothing"
pass "conntrack entry deleted after the move: the same flow broke ($(jq -r '.tcp.error' "$TMP/deleted.json"))"
