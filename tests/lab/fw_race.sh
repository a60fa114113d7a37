#!/bin/bash
# Exports that race ruleset changes: a VM's chain and its two rules come and
# go in one transaction, again and again, while 'netmove fw export' dumps
# the ruleset (tables, chains, sets, rules: four dumps).  Every document must
# be a state the ruleset really had (the chain with both rules, or neither),
# never a torn mix, and no dump may be confused with the next one's answer
# after an interrupted dump (libnftnl aborts on a message it did not expect).
#
#   [ns fwr-PID]  table inet t { chain c (vmr's); chain c2 (vmr's) <- added/deleted in a loop }
set -eu
. "$(dirname "$0")/lib.bash"

ns=fwr-$$
ip netns add "$ns"
stop_ns() { ip netns del "$ns" 2>/dev/null || true; }
# shellcheck disable=SC2154  # rc is set inside the trap itself
trap 'rc=$?; capture_stop; stop_ns; cleanup; exit $rc' EXIT

ip netns exec "$ns" nft -f - <<'NFT'
table inet t {
	chain c { comment "netmove:vm=vmr"; accept; }
}
NFT
printf '%s\n' 'add chain inet t c2 { comment "netmove:vm=vmr"; }' \
	'add rule inet t c2 counter accept' 'add rule inet t c2 counter drop' >"$TMP/add.nft"
printf '%s\n' 'delete chain inet t c2' >"$TMP/del.nft"

# At most 2000 rounds or 25 s, until the exports are done.
churn() {
	local end=$((${EPOCHREALTIME/./} + 25000000))
	for _ in $(seq 2000); do
		[ ! -e "$TMP/stop" ] && [ "${EPOCHREALTIME/./}" -lt $end ] || break
		ip netns exec "$ns" nft -f "$TMP/add.nft"
		ip netns exec "$ns" nft -f "$TMP/del.nft"
	done
}
bg churn

n=0 with=0
end=$((${EPOCHREALTIME/./} + 20000000))
while [ $n -lt 300 ] && [ "${EPOCHREALTIME/./}" -lt $end ]; do
	ip netns exec "$ns" "$NETMOVE" fw export vmr >"$TMP/doc.json" ||
		fail "export $n failed: $(cat "$TMP/doc.json")"
	c=$(jq '[.tables[].chains[] | select(.name == "c2")] | length' "$TMP/doc.json")
	r=$(jq '[.tables[].rules[] | select(.chain == "c2")] | length' "$TMP/doc.json")
	[ "$c:$r" = 1:2 ] || [ "$c:$r" = 0:0 ] || fail "export $n is torn: chain c2 $c times, its rules $r times"
	[ "$c" -eq 0 ] || with=$((with + 1))
	n=$((n + 1))
done
touch "$TMP/stop"
[ $n -ge 50 ] || fail "only $n exports in 20 s"
pass "$n exports of a churning ruleset: none torn ($with with chain c2 and both rules)"
