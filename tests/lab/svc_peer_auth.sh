#!/bin/bash
# Peers authenticate each other: host1's netmoved answers a JSON-RPC request
# only over TLS with a certificate signed by the lab CA whose name is a
# configured peer.  A certificate of the right CA with an unknown name is
# refused and logged; a certificate of another CA, or none, never gets past
# the handshake.  And an authenticated peer may only confirm (make the source
# delete) a migration that is its own.  openssl s_client plays the peer.
#
#   host2 (openssl s_client, various certificates) --mgmt--> host1:7300 (netmoved)
#   host3 (a configured peer, not vm1's destination)  --mgmt--> host1:7300
set -eu
. "$(dirname "$0")/lib.bash"

"$LAB" up --hosts 3 --vms 1
pki=$LAB_STATE/pki
r1=$(status_get '.hosts[0].ovs_rundir')

# ask CERT_PREFIX [REQUEST [NODE]]: a request ('locate' by default) to
# host1's netmoved as that peer, from NODE (host2 by default).
ask() {
	local tls=() req=${2:-'{"id":7,"method":"locate","params":[{"vm":"vm1"}]}'}
	[ -z "$1" ] || tls=(-cert "$1-cert.pem" -key "$1-key.pem")
	printf '%s' "$req" |
		"$LAB" exec "${3:-host2}" timeout 5 openssl s_client -quiet -ign_eof \
		-connect 198.19.0.1:7300 -CAfile "$pki/ca.pem" "${tls[@]}" 2>"$TMP/ssl.err" || true
}

reply=$(ask "$pki/host2")
echo "$reply" | grep -q '"present":true' || fail "a configured peer got no answer: '$reply' $(cat "$TMP/ssl.err")"
pass "host2's certificate: answered ($reply)"

# The right CA, a name that is not a peer.
openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=host9" \
	-keyout "$TMP/host9-key.pem" -out "$TMP/host9.csr" 2>/dev/null
openssl x509 -req -in "$TMP/host9.csr" -CA "$pki/ca.pem" -CAkey "$pki/ca.key" \
	-CAcreateserial -days 1 -out "$TMP/host9-cert.pem" 2>/dev/null
reply=$(ask "$TMP/host9")
[ -z "$reply" ] || fail "an unknown peer (CN host9) got an answer: $reply"
wait_until 5 grep -q "refusing peer: certificate name 'host9' is not a configured peer" "$r1/netmoved.log" ||
	fail "the refusal of host9 is not in host1's log"
pass "CN host9 (lab CA, not a peer): refused and logged"

# Another CA altogether.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
	-subj "/CN=host2" -keyout "$TMP/rogue-key.pem" -out "$TMP/rogue-cert.pem" 2>/dev/null
reply=$(ask "$TMP/rogue")
[ -z "$reply" ] || fail "a certificate of another CA got an answer: $reply"
wait_until 5 grep -q "SSL_accept: .*certificate verify failed" "$r1/netmoved.log" ||
	fail "the failed verification is not in host1's log"
pass "CN host2 signed by another CA: refused in the handshake, logged"

reply=$(ask "")
[ -z "$reply" ] || fail "a peer without a certificate got an answer: $reply"
wait_until 5 grep -q "SSL_accept: .*peer did not return a certificate" "$r1/netmoved.log" ||
	fail "the missing certificate is not in host1's log"
pass "no certificate: refused in the handshake, logged"

# Authorization: host2 prepares vm1 (host1 exports it to host2); host3, a
# configured and authenticated peer, asks host1 to confirm that migration.
wait_peers host2 host1
"$LAB" exec host2 "$NETMOVE" prepare vm1 --from host1 --json >"$TMP/prep.json"
id=$(jq -r .id "$TMP/prep.json")
reply=$(ask "$pki/host3" "{\"id\":9,\"method\":\"confirm\",\"params\":[{\"vm\":\"vm1\",\"id\":\"$id\"}]}" host3)
echo "$reply" | grep -q "no export of vm1 to host3" || fail "host3 was not refused: '$reply'"
ovs-vsctl --db="unix:$r1/db.sock" list-ports br-int | grep -qx tap-vm1 || fail "host1 lost vm1's port"
"$LAB" exec host1 "$NETMOVE" confirm vm1 >/dev/null 2>&1 && fail "host1 no longer holds vm1's export for host2"
pass "host3 may not confirm host2's migration of vm1: refused, vm1 intact on host1"
"$LAB" exec host2 "$NETMOVE" abort vm1 >/dev/null
