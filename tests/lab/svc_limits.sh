#!/bin/bash
# Limits on what a peer can make netmoved spend (docs/PROTOCOL.md "Limits").
# From host3, a client that opens TCP connections and never starts TLS:
# host1 keeps at most 8 from one address and 64 in all, and closes each
# within the 2 s handshake deadline; meanwhile host2's netmoved, restarted,
# reconnects through the flood and vm1 moves host1 -> host2.  Then host3 as
# an authenticated peer: a burst of requests past the budget is answered
# "busy" (-32000) and the session kept; a flood is cut off; a message that
# never ends is cut off past 64 MiB, and so is one on a session host1
# opened (host3's netmoved replaced by a server with its certificate).
#
#   host3 (python3: stalled handshakes from 198.19.0.3 and .100-.119;
#          authenticated floods) --mgmt--> host1:7300 (netmoved)
#   host2 (netmoved, restarted during the flood) --mgmt--> host1:7300
#   vm1: host1 -> host2 (lab migrate --netmove) during the flood
set -eu
. "$(dirname "$0")/lib.bash"

"$LAB" up --hosts 3 --vms 1
pki=$LAB_STATE/pki
r1=$(status_get '.hosts[0].ovs_rundir') r2=$(status_get '.hosts[1].ovs_rundir')
log1=$r1/netmoved.log
wait_peers host2 host1

cat >"$TMP/client.py" <<'PY'
# A hostile client of netmoved's peer port (modes: stall, flood, big).
import json, select, socket, ssl, sys, time


def hostport(s):
    h, p = s.rsplit(":", 1)
    return h, int(p)


def stall(target, srcs, count, seconds):
    """COUNT TCP connections over SECONDS, round robin over SRCS, silent
    (a TLS handshake that never starts); watches which the server closes.
    'held' is the most open at once among those the server has had 0.5 s
    to accept and judge (the kernel completes a connection before the
    server accepts it); 'max_age' the longest one stayed open."""
    srcs = srcs.split(",")
    socks = {}  # fd -> (sock, opened at)
    spans = []  # (opened, closed)
    opened = 0
    start = time.monotonic()
    poller = select.poll()
    while True:
        now = time.monotonic()
        if opened < count and now >= start + opened * seconds / count:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind((srcs[opened % len(srcs)], 0))
            s.settimeout(2)
            try:
                s.connect(target)
                socks[s.fileno()] = (s, time.monotonic())
                poller.register(s, select.POLLIN)
            except OSError:
                s.close()
            opened += 1
            continue
        if now >= start + seconds + 0.5 and (not socks or now >= start + seconds + 4):
            break
        for fd, ev in poller.poll(10):
            s, t = socks[fd]
            try:
                data = s.recv(4096)
            except OSError:
                data = b""
            if not data:
                spans.append((t, time.monotonic()))
                del socks[fd]
                poller.unregister(fd)
                s.close()
    now = time.monotonic()
    spans += [(t, now) for s, t in socks.values()]
    held = 0
    t = start
    while t < now:
        held = max(held, sum(1 for o, c in spans if o <= t - 0.5 and c > t))
        t += 0.05
    print(json.dumps({"opened": opened, "held": held,
                      "max_age": round(max(c - o for o, c in spans), 2),
                      "open_at_end": len(socks)}))


def tls_connect(target, ca, cert, key):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.load_verify_locations(ca)
    ctx.load_cert_chain(cert, key)
    return ctx.wrap_socket(socket.create_connection(target, timeout=5))


def req(i, method, params):
    return json.dumps({"id": i, "method": method, "params": [params]})


def hello(s):
    s.sendall(req(0, "hello", {"version": 2, "min_version": 1, "host": "host3",
                               "capabilities": []}).encode())
    return read_answers(s, 1, 5)[0]


def read_answers(s, want, seconds):
    """JSON values read until WANT of them or SECONDS; and whether the
    server closed."""
    dec = json.JSONDecoder()
    buf, out, closed = "", [], False
    end = time.monotonic() + seconds
    s.settimeout(0.2)
    while len(out) < want and time.monotonic() < end:
        try:
            data = s.recv(65536)
        except (socket.timeout, ssl.SSLWantReadError):
            continue
        except OSError:
            closed = True
            break
        if not data:
            closed = True
            break
        buf += data.decode()
        while True:
            buf = buf.lstrip()
            try:
                v, n = dec.raw_decode(buf)
            except ValueError:
                break
            out.append(v)
            buf = buf[n:]
    return out, closed


def flood(target, ca, cert, key, n):
    """As an authenticated peer: a hello, N requests at once, and one more
    after a pause if the session is still open."""
    s = tls_connect(target, ca, cert, key)
    greeted = bool(hello(s))
    closed = False
    try:
        s.sendall("".join(req(i + 1, "no-such-method", {})
                          for i in range(n)).encode())
    except OSError:
        closed = True
    answers, closed2 = read_answers(s, n, 5) if not closed else ([], True)
    closed = closed or closed2
    kinds = {"busy": 0, "unknown": 0, "other": 0, "after_pause": None}
    for a in answers:
        e = a.get("error") or {}
        msg = e.get("message", "") if isinstance(e, dict) else str(e)
        if "busy" in msg and e.get("code") == -32000:
            kinds["busy"] += 1
        elif "unknown method" in msg:
            kinds["unknown"] += 1
        else:
            kinds["other"] += 1
    if not closed:
        time.sleep(1)
        try:
            s.sendall(req(n + 1, "no-such-method", {}).encode())
            later, closed = read_answers(s, 1, 3)
        except OSError:
            later, closed = [], True
        if later:
            kinds["after_pause"] = (later[0].get("error") or {}).get("message")
    print(json.dumps({"hello": greeted, "answers": len(answers),
                      "kinds": kinds, "closed": closed}))


def endless(s, opening, mib, n_answers):
    """Sends 'opening' and then a string that never ends, up to MIB MiB;
    prints how much went out and whether the other side cut it off."""
    sent, closed = 0, False
    chunk = b"x" * (1 << 20)
    s.settimeout(10)
    try:
        s.sendall(opening)
        for _ in range(mib):
            s.sendall(chunk)
            sent += len(chunk)
    except OSError:
        closed = True
    if not closed:
        closed = read_answers(s, n_answers, 3)[1]
    print(json.dumps({"sent_mib": sent >> 20, "closed": closed}))


def big(target, ca, cert, key, mib):
    """As an authenticated peer: one request whose string never ends, up to
    MIB MiB."""
    s = tls_connect(target, ca, cert, key)
    hello(s)
    endless(s, b'{"id": 1, "method": "locate", "params": [{"vm": "', mib, 1)


def serve(listen, client, ca, cert, key, mib):
    """As a peer that netmoved at CLIENT connects to: answers with a value
    that never ends, up to MIB MiB.  Other peers' connections are closed."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    ctx.load_verify_locations(ca)
    ctx.verify_mode = ssl.CERT_REQUIRED
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(listen)
    ls.listen(4)
    ls.settimeout(10)
    while True:
        raw, addr = ls.accept()
        if addr[0] == client:
            break
        raw.close()
    s = ctx.wrap_socket(raw, server_side=True)
    endless(s, b'{"id": "x", "result": "', mib, 1000)


mode, target = sys.argv[1], hostport(sys.argv[2])
if mode == "stall":
    stall(target, sys.argv[3], int(sys.argv[4]), float(sys.argv[5]))
elif mode == "serve":
    serve(target, *sys.argv[3:7], int(sys.argv[7]))
elif mode == "flood":
    flood(target, *sys.argv[3:6], int(sys.argv[6]))
else:
    big(target, *sys.argv[3:6], int(sys.argv[6]))
PY
client() { "$LAB" exec host3 timeout 40 python3 "$TMP/client.py" "$@"; }

# held PID REGEX: the most connections netmoved on host1 held at once
# (accepted: ss names the process; a connection still in the kernel's accept
# queue has none) from a peer address matching REGEX, while PID runs.
held() {
	local max=0 n
	while kill -0 "$1" 2>/dev/null; do
		n=$("$LAB" exec host1 ss -Htnp state established '( sport = :7300 )' |
			awk -v re="^($2):" '/netmoved/ && $4 ~ re { n++ } END { print n + 0 }')
		[ "$n" -le "$max" ] || max=$n
		sleep 0.05
	done
	echo "$max"
}

wait_peers host1 host2 host3

# 1. One address: 30 stalled handshakes at once.
bg client stall 198.19.0.1:7300 198.19.0.3 30 0.3 >"$TMP/one.json"
held_one=$(held "$(last_bg)" '198[.]19[.]0[.]3')
wait "$(last_bg)" || true
jq -e '.opened == 30' "$TMP/one.json" >/dev/null || fail "stall client: $(cat "$TMP/one.json")"
# host3's own netmoved holds an authenticated session from .3 too.
[ "$held_one" -le 8 ] || fail "host1 held $held_one connections from one address (cap 8)"
jq -e '.max_age <= 3.5' "$TMP/one.json" >/dev/null ||
	fail "a stalled handshake outlived the 2 s deadline: $(cat "$TMP/one.json")"
wait_until 5 grep -q "closing connection: over 64 inbound connections (8 from 198.19.0.3)" "$log1" ||
	fail "the per-address cap is not in host1's log"
wait_until 5 grep -q "closing connection: no TLS handshake and authenticated peer within 2000 ms" "$log1" ||
	fail "the handshake deadline is not in host1's log"
pass "one address: $(jq -c . "$TMP/one.json"), at most $held_one held (cap 8, deadline 2 s)"

# 2. Twenty addresses, 50 connections a second for 8 s, while host2's
# netmoved reconnects to host1 and vm1 moves.
for i in $(seq 100 119); do "$LAB" exec host3 ip addr add "198.19.0.$i/24" dev mgmt0; done
srcs=$(seq -s, -f '198.19.0.%g' 100 119)
bg client stall 198.19.0.1:7300 "$srcs" 400 8 >"$TMP/many.json"
flood=$(last_bg)
bg held "$flood" '198[.]19[.]0[.]1[01][0-9]' >"$TMP/held_many"
sampler=$(last_bg)
sleep 1         # The flood at its height (100 handshakes under way without a cap).
"$LAB" netmoved host2 stop
"$LAB" netmoved host2 start
wait_peers host2 host1
"$LAB" migrate vm1 host2 --netmove --json >"$TMP/migrate.json"
jq -e '.hook_rc == 0' "$TMP/migrate.json" >/dev/null || fail "migration during the flood failed: $(cat "$TMP/migrate.json")"
jq -e '.state == "done"' "$LAB_STATE/vm1.resume.json" >/dev/null ||
	fail "resume did not end done: $(cat "$LAB_STATE/vm1.resume.json")"
[ "$(ovs-vsctl --db="unix:$r2/db.sock" get Interface tap-vm1 external_ids:vm-id)" = vm1 ] ||
	fail "no vm1 port on host2"
kill -0 "$flood" 2>/dev/null || fail "the flood was over before the migration ended: $(cat "$TMP/many.json")"
wait "$flood" || true
wait "$sampler" || true
held_many=$(cat "$TMP/held_many")
jq -e '.opened == 400 and .max_age <= 3.5' "$TMP/many.json" >/dev/null ||
	fail "stalled handshakes held too long: $(cat "$TMP/many.json")"
[ "$held_many" -le 64 ] && [ "$held_many" -ge 20 ] ||
	fail "host1 held $held_many stalled handshakes from 20 addresses (cap 64; the flood makes ~100)"
pass "20 addresses: $(jq -c . "$TMP/many.json"), at most $held_many held (cap 64); host2 reconnected and vm1 moved meanwhile"

# 3. host3, authenticated: 300 requests at once, then one after a pause.
ca=$pki/ca.pem cert=$pki/host3-cert.pem key=$pki/host3-key.pem
client flood 198.19.0.1:7300 "$ca" "$cert" "$key" 300 >"$TMP/burst.json"
jq -e '.hello and .answers == 300 and .kinds.busy >= 50 and .kinds.unknown >= 190
       and .kinds.other == 0 and .closed == false' "$TMP/burst.json" >/dev/null ||
	fail "a burst of 300 requests: $(cat "$TMP/burst.json")"
jq -e '.kinds.after_pause | test("unknown method")' "$TMP/burst.json" >/dev/null ||
	fail "not served after a pause: $(cat "$TMP/burst.json")"
pass "300 requests at once: $(jq -c .kinds "$TMP/burst.json"), the session kept"

# A flood: cut off.
client flood 198.19.0.1:7300 "$ca" "$cert" "$key" 3000 >"$TMP/flood.json"
jq -e '.closed == true' "$TMP/flood.json" >/dev/null || fail "a flood of 3000 requests was not cut off: $(cat "$TMP/flood.json")"
wait_until 5 grep -q "closing connection from peer host3: flood" "$log1" ||
	fail "the flood is not in host1's log"
pass "3000 requests at once: $(jq -c .kinds "$TMP/flood.json"), cut off"

# 4. A message that never ends: cut off past 64 MiB.
client big 198.19.0.1:7300 "$ca" "$cert" "$key" 80 >"$TMP/big.json"
jq -e '.closed == true and .sent_mib >= 63' "$TMP/big.json" >/dev/null ||
	fail "an endless message was not cut off at 64 MiB: $(cat "$TMP/big.json")"
wait_until 5 grep -q "closing connection from peer host3: message over 67108864 bytes" "$log1" ||
	fail "the oversized message is not in host1's log"
pass "an endless message: $(jq -c . "$TMP/big.json")"

# 5. The same from a peer host1 connects to: host3's netmoved stopped, a
# server with host3's certificate answers host1's hello endlessly.
"$LAB" netmoved host3 stop
client serve 198.19.0.3:7300 198.19.0.1 "$ca" "$cert" "$key" 80 >"$TMP/serve.json"
jq -e '.closed == true and .sent_mib >= 63' "$TMP/serve.json" >/dev/null ||
	fail "an endless answer was not cut off at 64 MiB: $(cat "$TMP/serve.json")"
wait_until 5 grep -q "reconnecting to peer host3: message over 67108864 bytes" "$log1" ||
	fail "the oversized answer is not in host1's log"
pass "an endless answer on host1's own session: $(jq -c . "$TMP/serve.json")"

# host1 still serves its peers.
wait_peers host2 host1
"$LAB" exec host2 "$NETMOVE" status | jq -e '.peers.host1' >/dev/null || fail "host1 no longer serves host2"
pass "host1's netmoved still serves host2"
