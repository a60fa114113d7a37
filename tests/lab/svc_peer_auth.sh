#!/bin/bash
# Peers authenticate each other: host1's netmoved answers a JSON-RPC request
# only over TLS with a certificate signed by the lab CA whose name is a
# configured peer.  A certificate of the right CA with an unknown name is
# refused and logged; a certificate of another CA, or none, never gets past
# the handshake.  openssl s_client plays the peer.
#
#   host2 (openssl s_client, various certificates) --mgmt--> host1:7300 (netmoved)
set -eu
. "$(dirname "$0")/lib.bash"

"$LAB" up --hosts 2 --vms 1
pki=$LAB_STATE/pki
r1=$(status_get '.hosts[0].ovs_rundir')

# ask CERT_PREFIX: a 'locate' request to host1's netmoved as that peer.
ask() {
	local tls=()
	[ -z "$1" ] || tls=(-cert "$1-cert.pem" -key "$1-key.pem")
	printf '{"id":7,"method":"locate","params":[{"vm":"vm1"}]}' |
		"$LAB" exec host2 timeout 5 openssl s_client -quiet -ign_eof \
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
