#!/bin/bash
# netmove announce restores a migrated VM's reachability: through the
# destination's OVS as if from the VM's own port (OpenFlow packet-out), and
# raw on a host's uplink (libpcap).  tshark, on the client's fabric port,
# confirms every frame kind field by field.  Bad input leaves the wire silent.
#
#          client (198.18.0.1, 2001:db8:1::ffff)
#             |  <- tcpdump on the fabric's port "client"
#   fabric br0 (Linux bridge, learning, 300 s)
#        h1 |                   | h2
#     host1 OVS br-int       host2 OVS br-int
#       tap-vm1 (3rd)          up0  (2nd: raw, --dev up0)
#       (packet-out,           tap-vm1 (1st: vm1 moves here)
#        --bridge/--port)
#   vm1 02:00:00:00:00:01 198.18.1.1 2001:db8:1::1: host1 -> host2 -> host1
set -eu
NETMOVE_LAB=gaa$(printf '%x' $(($$ % 256)))
export NETMOVE_LAB
. "$(dirname "$0")/lib.bash"
[ -x "$NETMOVE" ] || skip "build/netmove not built"

"$LAB" up --hosts 2 --vms 1
mac=$(status_get '.vms[0].mac') ip4=$(status_get '.vms[0].ipv4')
ip6=$(status_get '.vms[0].ipv6') fabric=$(status_get '.fabrics[0].netns')
client_port=$(status_get '.client.fabric_port')

# tsh FILE FILTER FIELD...: the fields of the frames FILTER selects.
tsh() {
	local f=$1 y=$2 e=() x
	shift 2
	for x in "$@"; do e+=(-e "$x"); done
	tshark -r "$f" -Y "$y" -T fields -E separator=' ' "${e[@]}" 2>/dev/null
}
# count FILE FILTER: how many frames FILTER selects.
count() { tshark -r "$1" -Y "$2" 2>/dev/null | wc -l; }
# learned_on PORT: the fabric has the VM's MAC on PORT.
learned_on() { ip netns exec "$fabric" bridge fdb show br br0 | grep -q "$mac dev $1 "; }

# The client knows vm1 (ARP and ND) and the fabric learns it behind h1.
wait_until 10 "$LAB" exec client ping -n -q -c 1 -W 1 "$ip4" || fail "client cannot reach vm1 before the move"
wait_until 10 "$LAB" exec client ping -6 -n -q -c 1 -W 1 "$ip6" || fail "no IPv6 to vm1 before the move"
learned_on h1 || fail "fabric did not learn vm1 on h1"

"$LAB" migrate vm1 host2
[ "$(pings client "$ip4" 20)" -eq 0 ] || fail "client reached vm1 after the move with no announcement"
pass "after the move the client is cut off (fabric still points at h1)"

# --- Bad input: exit 2, the field named, nothing on the wire. ---
capture fabric "$client_port" "$TMP/bad.pcap"
bad() {
	local field=$1 rc=0
	shift
	"$LAB" exec host2 "$NETMOVE" announce "$@" 2>"$TMP/err" >/dev/null || rc=$?
	[ $rc -eq 2 ] || fail "announce $* exited $rc, expected 2"
	grep -q -- "$field" "$TMP/err" || fail "announce $*: message does not name $field: $(cat "$TMP/err")"
}
ok=(--bridge br-int --port tap-vm1)
bad --mac --mac ff:ff:ff:ff:ff:ff --ip "$ip4" "${ok[@]}"
bad --mac --mac 01:00:5e:00:00:01 --ip "$ip4" "${ok[@]}"
bad --mac --mac 00:00:00:00:00:00 "${ok[@]}"
bad --mac --mac 02:00:00:00:00 "${ok[@]}"
bad --ip --mac "$mac" --ip 198.18.1.300 "${ok[@]}"
bad --ip --mac "$mac" --ip ff02::1 "${ok[@]}"
bad --vlan --mac "$mac" --vlan 0 "${ok[@]}"
bad --vlan --mac "$mac" --vlan 4095 "${ok[@]}"
bad --rounds --mac "$mac" --rounds 0 "${ok[@]}"
bad --initial --mac "$mac" --initial -5 "${ok[@]}"
bad --max --mac "$mac" --max 99999999999 "${ok[@]}"
bad port --mac "$mac" --ip "$ip4" --bridge br-int --port tap-nosuch
bad bridge --mac "$mac" --ip "$ip4" --bridge br-nosuch --port tap-vm1
bad dev --mac "$mac" --ip "$ip4" --dev nosuch0
bad --mac --ip "$ip4" "${ok[@]}"
# A marker from the client: once the capture holds it, it has seen
# everything the bad calls could have sent before it.
"$LAB" exec client arping -q -U -c 1 -I eth0 198.18.0.1 || true
wait_until 5 sh -c "[ \$(tcpdump -r '$TMP/bad.pcap' -nn arp 2>/dev/null | wc -l) -ge 1 ]" ||
	fail "marker frame not captured"
capture_stop
n=$(count "$TMP/bad.pcap" "eth.src == $mac || arp.src.hw_mac == $mac")
[ "$n" -eq 0 ] || fail "bad input put $n frame(s) from $mac on the wire"
[ "$(pings client "$ip4" 5)" -eq 0 ] || fail "bad input restored reachability: something was sent"
pass "15 bad inputs: exit 2, field named, wire silent"

# netmove capture rejects bad input the same way.
badcap() {
	local field=$1 rc=0
	shift
	"$LAB" exec fabric "$NETMOVE" capture "$@" 2>"$TMP/err" >/dev/null || rc=$?
	[ $rc -eq 2 ] || fail "capture $* exited $rc, expected 2"
	grep -q -- "$field" "$TMP/err" || fail "capture $*: message does not name $field: $(cat "$TMP/err")"
}
badcap --dev
badcap dev --dev nosuch0
badcap --ip --dev "$client_port" --ip 198.18.1
badcap --mac --dev "$client_port" --mac 33:33:00:00:00:01
badcap --duration --dev "$client_port" --duration 0
pass "netmove capture: 5 bad inputs exit 2 with the field named"

# --- Raw on host2's uplink (libpcap).  It teaches the fabric, not host2's
# own OVS, which here has never seen vm1 and floods to tap-vm1. ---
capture fabric "$client_port" "$TMP/dev.pcap"
"$LAB" exec host2 "$NETMOVE" announce --mac "$mac" --ip "$ip4" --ip "$ip6" \
	--dev up0 --rounds 2 --initial 20 --kinds rarp,garp,na --arp-reply >"$TMP/dev.out"
grep -q "6 frames in 2 rounds" "$TMP/dev.out" || fail "announce --dev said: $(cat "$TMP/dev.out")"
wait_until 5 learned_on h2 || fail "fabric did not relearn vm1 on h2 after announce --dev"
[ "$(pings client "$ip4" 5)" -eq 5 ] || fail "client cannot reach vm1 after announce --dev"
capture_stop
p=$TMP/dev.pcap
[ "$(count "$p" "eth.type == 0x8035 && arp.opcode == 3 && arp.src.hw_mac == $mac")" -eq 2 ] || fail "--dev: expected 2 RARP"
# The reply form: op 2, tha = sha.
[ "$(count "$p" "arp.opcode == 2 && arp.src.hw_mac == $mac && arp.dst.hw_mac == $mac && arp.src.proto_ipv4 == $ip4 && arp.dst.proto_ipv4 == $ip4")" -eq 2 ] ||
	fail "--dev --arp-reply: expected 2 GARP replies (op 2, tha = sha)"
[ "$(count "$p" "icmpv6.type == 136 && icmpv6.nd.na.target_address == $ip6 && icmpv6.checksum.status == 1")" -eq 2 ] ||
	fail "--dev: expected 2 NA with a good checksum"
pass "announce --dev up0 (raw, libpcap): fabric relearned on h2; tshark: 2 RARP, 2 GARP replies, 2 NA"

# --- Back to host1, through its OVS as if from the VM's port, QEMU's
# default schedule.  host1's OVS learned vm1 behind up0 from the frames
# above: only a frame from tap-vm1 itself (packet-out in_port=tap-vm1)
# puts it right. ---
"$LAB" migrate vm1 host1
[ "$(pings client "$ip4" 20)" -eq 0 ] || fail "client reached vm1 after the move back with no announcement"
capture fabric "$client_port" "$TMP/bridge.pcap"
"$LAB" exec host1 "$NETMOVE" announce --mac "$mac" --ip "$ip4" --ip "$ip6" \
	--bridge br-int --port tap-vm1 --json >"$TMP/bridge.json"
wait_until 5 learned_on h1 || fail "fabric did not relearn vm1 on h1"
[ "$(pings client "$ip4" 5)" -eq 5 ] || fail "client cannot reach vm1 after the announcement"
"$LAB" exec client ping -6 -n -q -c 3 -i 0.05 -W 1 "$ip6" >/dev/null || fail "no IPv6 to vm1 after the announcement"
capture_stop
pass "announce --bridge br-int --port tap-vm1: fabric relearned on h1, IPv4 and IPv6 reachable"

p=$TMP/bridge.pcap
[ "$(jq '.frames | length' "$TMP/bridge.json")" -eq 15 ] || fail "--json lists $(jq '.frames | length' "$TMP/bridge.json") frames, expected 15"
[ "$(jq '[.frames[] | select(.time_us > 1000000000000000)] | length' "$TMP/bridge.json")" -eq 15 ] ||
	fail "--json send times are not CLOCK_REALTIME microseconds"
# RARP as QEMU sends it: op 3, sha = tha = MAC, spa = tpa = 0.0.0.0, broadcast.
want="ff:ff:ff:ff:ff:ff 3 $mac 0.0.0.0 $mac 0.0.0.0"
got=$(tsh "$p" "eth.type == 0x8035" eth.dst arp.opcode arp.src.hw_mac arp.src.proto_ipv4 arp.dst.hw_mac arp.dst.proto_ipv4 | sort | uniq -c)
[ "$got" = "      5 $want" ] || fail "RARP frames: '$got', expected 5 x '$want'"
# GARP request: op 1, spa = tpa = the IP, tha zero, broadcast.
want="ff:ff:ff:ff:ff:ff 1 $mac $ip4 00:00:00:00:00:00 $ip4 1"
got=$(tsh "$p" "eth.type == 0x0806 && arp.src.hw_mac == $mac && arp.dst.proto_ipv4 == $ip4" eth.dst arp.opcode arp.src.hw_mac arp.src.proto_ipv4 arp.dst.hw_mac arp.dst.proto_ipv4 arp.isgratuitous | sort | uniq -c)
[ "$got" = "      5 $want" ] || fail "GARP frames: '$got', expected 5 x '$want'"
# Unsolicited NA: to ff02::1, hop limit 255, R 0 S 0 O 1, target and TLLA.
want="33:33:00:00:00:01 $ip6 ff02::1 255 0 0 0 1 $ip6 $mac 1"
got=$(tsh "$p" "icmpv6.type == 136 && icmpv6.nd.na.target_address == $ip6" eth.dst ipv6.src ipv6.dst ipv6.hlim icmpv6.code icmpv6.nd.na.flag.r icmpv6.nd.na.flag.s icmpv6.nd.na.flag.o icmpv6.nd.na.target_address icmpv6.opt.linkaddr icmpv6.checksum.status | sort | uniq -c)
[ "$got" = "      5 $want" ] || fail "NA frames: '$got', expected 5 x '$want' (last field: checksum status 1 = good)"
# Every announcement at least 60 bytes, untagged here.
ours="(eth.type == 0x8035 || arp.dst.proto_ipv4 == $ip4 || icmpv6.nd.na.target_address == $ip6)"
[ "$(count "$p" "$ours && frame.len >= 60")" -eq 15 ] || fail "announcements shorter than 60 bytes"
[ "$(count "$p" "vlan")" -eq 0 ] || fail "tagged frames on an untagged network"
pass "tshark: 5 x RARP (op 3), 5 x GARP (op 1, spa=tpa), 5 x NA (O=1 S=0, hlim 255, checksum good)"

# Rounds at 0, 50, 200, 450, 800 ms: never early (not a timing benchmark:
# only that the schedule is the schedule).
tsh "$p" "eth.type == 0x8035" frame.time_epoch >"$TMP/rarp.t"
awk 'NR > 1 { printf "%d\n", ($1 - prev) * 1000 + 0.5 } { prev = $1 }' "$TMP/rarp.t" >"$TMP/gaps"
[ "$(tr '\n' ' ' <"$TMP/gaps" | awk '$1 >= 49 && $2 >= 149 && $3 >= 249 && $4 >= 349 && NF == 4 { print "ok" }')" = ok ] ||
	fail "round gaps (ms) $(tr '\n' ' ' <"$TMP/gaps"), expected at least 50 150 250 350"
pass "round gaps (ms): $(tr '\n' ' ' <"$TMP/gaps")(QEMU's schedule: 50 150 250 350)"
