#!/usr/bin/env python3
"""A hostile netmove peer for tests/lab/svc_hostile.sh: a configured peer
with a valid certificate that sends what docs/PROTOCOL.md allows on the
wire but netmoved must not act on.  JSON-RPC 1.0 over mutual TLS, a hello
first, as netmove/daemon/peer.c speaks it.  Bounded: every run stops after
--seconds, every loop has a count.

  hostile_peer.py serve  --listen IP:PORT --case-file F TLS... [--seconds S]
      Answers the target's requests; 'export' with the crafted document
      that the case named in F (read at each request) calls for.
  hostile_peer.py client --connect IP:PORT --case NAME TLS... [--seconds S]
      Sends the requests of case NAME; exit 0 if every answer is what a
      correct netmoved gives, 1 otherwise (each answer is printed).

TLS: --cert --key --ca (the lab's PKI).  Addresses: RFC 2544/3849 only."""
import argparse
import copy
import json
import select
import socket
import ssl
import sys
import time

CAPS = ["abort", "confirm", "ct-delta", "export", "locate", "verify"]
MAX_MSGS = 10000            # Per connection.


def tag(vm):
    """The userdata netmove tags a VM's nft objects with (comment)."""
    s = ("netmove:vm=%s" % vm).encode() + b"\0"
    return "00%02x%s" % (len(s), s.hex())


def export_doc(k, host="host3"):
    """VM vmK's export as host 'host' would send it (a lab VM's shape)."""
    vm, port = "vm%d" % k, "qvo-vm%d" % k
    mac = "02:00:00:00:%02x:%02x" % (k >> 8, k & 255)
    ip4, ip6 = "198.18.1.%d" % k, "2001:db8:1::%x" % k
    ip4hex = "c6120101"[:-2] + "%02x" % k
    accept = {"kind": "immediate", "attrs": {"1": "00000000",
                                              "3": "01000000"}}
    return {
        "version": 1, "vm": vm, "host": host, "site": "a", "learned": [],
        "port": {"version": 1, "vm": vm, "ports": [{
            "name": port, "bridge": "br-int", "trunks": [],
            "external_ids": {}, "other_config": {},
            "interfaces": [{
                "name": port, "type": "", "options": {}, "other_config": {},
                "ingress_policing_burst": 0, "ingress_policing_rate": 0,
                "external_ids": {
                    "vm-id": vm, "attached-mac": mac,
                    "iface-id": "5e1f0000-0000-4000-8000-%012x" % k,
                    "iface-status": "active",
                    "ip-addresses": "%s %s" % (ip4, ip6)}}]}]},
        "fw": {"version": 1, "format": "netmove-firewall",
               "byteorder": "little", "vm": vm, "tables": [{
                   "family": "inet", "name": "filter", "flags": 0,
                   "whole": False, "sets": [],
                   "chains": [
                       {"name": "forward", "prio": 0, "policy": 0,
                        "flags": 1, "whole": False, "hook": 2,
                        "type": "filter"},
                       {"name": "vm-" + vm, "whole": True,
                        "userdata": tag(vm)}],
                   "rules": [
                       {"chain": "forward", "userdata": tag(vm), "exprs": [
                           {"kind": "meta", "attrs": {"1": "06000000",
                                                      "2": "01000000"}},
                           {"kind": "cmp", "attrs": {
                               "1": "01000000", "2": "00000000",
                               "3": ("qbr-" + vm).encode().hex().ljust(32, "0")}},
                           {"kind": "immediate", "attrs": {
                               "1": "00000000", "3": "fdffffff",
                               "4": ("vm-" + vm).encode().hex() + "00"}}]},
                       {"chain": "vm-" + vm, "userdata": tag(vm), "exprs": [
                           {"kind": "meta", "attrs": {"1": "0f000000",
                                                      "2": "01000000"}},
                           {"kind": "cmp", "attrs": {"1": "01000000",
                                                     "2": "00000000",
                                                     "3": "02"}},
                           {"kind": "payload", "attrs": {
                               "1": "01000000", "2": "01000000",
                               "3": "0c000000", "4": "04000000"}},
                           {"kind": "cmp", "attrs": {"1": "01000000",
                                                     "2": "00000000",
                                                     "3": ip4hex}},
                           accept]}]}]},
        "ct": {"version": 1, "format": "netmove-conntrack", "delta": False,
               "columns": ["family", "proto", "src", "dst", "sport",
                           "dport", "zone", "icmp_type", "icmp_code",
                           "icmp_id", "status", "timeout", "state",
                           "tcp_flags", "tcp_rflags", "wscale", "rwscale"],
               "entries": [["ipv4", 6, ip4, "198.18.0.1", 40000, 5001, 0,
                            None, None, None, 8, 299, 3, 10, 10, 0, 0]],
               "gone": []},
    }


def untagged_accept(chain):
    return {"chain": chain, "exprs": [{"kind": "immediate", "attrs": {
        "1": "00000000", "3": "01000000"}}]}


def crafted(case):
    """The export document of server case 'case' (for vm3)."""
    d = export_doc(3)
    t = d["fw"]["tables"][0]
    p = d["port"]["ports"][0]
    i = p["interfaces"][0]
    if case == "fw-immediate-jump":
        # Issue 10 item 1: data fdffffff + 8 bytes read as a chain pointer.
        t["rules"][0]["exprs"][2] = {"kind": "immediate", "attrs": {
            "1": "00000000", "2": "fdffffff000000004141414141414141",
            "3": "fdffffff"}}
    elif case == "fw-untagged":
        # An untagged rule into the host's forward chain, a new base chain
        # in the host's table, a new table with a base chain.
        t["rules"].append(untagged_accept("forward"))
        t["chains"].append({"name": "hostile-in", "prio": 0, "policy": 1,
                            "flags": 1, "whole": True, "hook": 1,
                            "type": "filter"})
        t["rules"].append(untagged_accept("hostile-in"))
        d["fw"]["tables"].append({
            "family": "inet", "name": "hostile", "flags": 0, "whole": True,
            "sets": [], "chains": [{"name": "pre", "prio": -300,
                                    "policy": 1, "flags": 1, "whole": True,
                                    "hook": 0, "type": "filter"}],
            "rules": [untagged_accept("pre")]})
    elif case == "port-other-bridge":
        p["bridge"] = "br-ex"
    elif case == "port-patch":
        i["type"] = "patch"
        i["options"] = {"peer": "patch-hostile"}
    elif case == "port-vxlan":
        i["type"] = "vxlan"
        i["options"] = {"remote_ip": "198.19.0.3", "key": "42"}
    elif case == "port-vlan":
        p["tag"] = 999
        p["trunks"] = [1, 2, 3, 100, 200]
    elif case == "port-neighbour-name":
        # libvirt names taps per host: the name is vm1's port here.
        p["name"] = i["name"] = "qvo-vm1"
    elif case == "port-neighbour-identity":
        # vm1's iface-id, under vm3's own name and label: adopting by it
        # would take vm1's port.
        i["external_ids"]["iface-id"] = "5e1f0000-0000-4000-8000-%012x" % 1
    elif case == "ct-others":
        big = 4294967295
        d["ct"]["entries"] = [
            ["ipv4", 6, "198.18.1.1", "198.18.0.1", 40001, 5001, 0,
             None, None, None, 8, big, 3, 10, 10, 0, 0],
            ["ipv4", 6, "198.18.0.1", "198.18.1.2", 40002, 22, 0,
             None, None, None, 8, big, 3, 10, 10, 0, 0]] + [
            ["ipv4", 17, "198.18.9.%d" % (n % 250 + 1), "198.18.0.1",
             1000 + n, 53, 0, None, None, None, 8, big, None, None, None,
             None, None] for n in range(2000)]
        # The neighbour's entry that svc_hostile.sh put on the target.
        d["ct"]["gone"] = [["ipv4", 6, "198.18.1.1", "198.18.0.1", 40000,
                            5001, 0, None, None, None, 8, 299, 3, 10, 10,
                            0, 0]]
    elif case == "ip-gateway":
        i["external_ids"]["ip-addresses"] = "198.18.0.1 198.18.1.3"
    elif case == "vm-other":
        # Asked for vm3, answers with vm1's identity.
        d = export_doc(1)
    return d


class Conn:
    """One TLS connection: JSON-RPC messages back to back, no framing."""

    def __init__(self, sock, name):
        self.sock, self.name, self.buf, self.n = sock, name, "", 0
        self.dec = json.JSONDecoder()

    def send(self, msg):
        self.sock.sendall(json.dumps(msg).encode())

    def recv_msgs(self):
        data = b""
        for _ in range(64):             # What TLS holds decrypted, too.
            try:
                chunk = self.sock.recv(65536)
            except (ssl.SSLWantReadError, BlockingIOError):
                break
            if not chunk:
                if not data:
                    raise EOFError
                break
            data += chunk
            if not self.sock.pending():
                break
        self.buf += data.decode(errors="replace")
        out = []
        while self.n < MAX_MSGS:
            s = self.buf.lstrip()
            if not s:
                break
            try:
                msg, end = self.dec.raw_decode(s)
            except ValueError:
                break
            self.buf = s[end:]
            self.n += 1
            out.append(msg)
        return out


def tls_context(args, server):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER if server
                         else ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_cert_chain(args.cert, args.key)
    ctx.load_verify_locations(args.ca)
    ctx.verify_mode = ssl.CERT_REQUIRED
    if not server:
        ctx.check_hostname = False
    return ctx


def hello(host):
    return {"version": 2, "min_version": 1, "host": host,
            "capabilities": CAPS}


def log(*a):
    print(*a, flush=True)


# ---- server ----

def answer(req, case_file):
    """The reply (result, error) to target's request 'req'."""
    m = req.get("method")
    if m == "hello":
        return hello("host3"), None
    if m == "export":
        try:
            case = open(case_file).read().strip()
        except OSError:
            case = "legit"
        if case == "silent":
            return None, None
        log("serve: export for case", case)
        return crafted(case), None
    if m == "locate":
        return {"present": True}, None
    if m == "abort":
        return {}, None
    if m == "ct-delta":
        return {"ct": None}, None
    if m == "verify":
        return {"ports": 0, "fw_objects": 0, "ct_entries": 0, "fdb": []}, None
    if m == "confirm":
        return {"ports": 1, "fw_objects": 0, "ct_entries": 0}, None
    return None, {"code": -32601, "message": "unknown method '%s'" % m}


def serve(args):
    host, port = args.listen.rsplit(":", 1)
    ctx = tls_context(args, True)
    lsock = socket.socket()
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind((host, int(port)))
    lsock.listen(8)
    conns = {}
    end = time.monotonic() + args.seconds
    log("serve: listening on", args.listen)
    while time.monotonic() < end:
        rl = [lsock] + [c.sock for c in conns.values()]
        r, _, _ = select.select(rl, [], [], 0.2)
        for s in r:
            if s is lsock:
                raw, addr = lsock.accept()
                raw.settimeout(5)
                try:
                    ts = ctx.wrap_socket(raw, server_side=True)
                except (ssl.SSLError, OSError) as e:
                    log("serve: handshake failed:", e)
                    raw.close()
                    continue
                ts.setblocking(False)
                conns[ts.fileno()] = Conn(ts, addr)
                log("serve: session from", addr)
                continue
            c = conns[s.fileno()]
            try:
                msgs = c.recv_msgs()
            except (EOFError, OSError):
                del conns[s.fileno()]
                s.close()
                continue
            for msg in msgs:
                if "method" not in msg or msg.get("id") is None:
                    continue
                log("serve: <--", json.dumps(msg)[:200])
                result, error = answer(msg, args.case_file)
                if result is None and error is None:
                    continue
                c.sock.setblocking(True)
                c.send({"id": msg["id"], "result": result, "error": error})
                c.sock.setblocking(False)
    return 0


# ---- client ----

def call(c, method, params, deadline):
    """Sends a request and waits (until 'deadline') for its answer."""
    call.id += 1
    rid = call.id
    c.send({"id": rid, "method": method, "params": params})
    while time.monotonic() < deadline:
        r, _, _ = select.select([c.sock], [], [], 0.2)
        if not r and not c.sock.pending():
            continue
        for msg in c.recv_msgs():
            if msg.get("id") == rid:
                log("client: %s %s -> %s" % (method, json.dumps(params)[:120],
                                             json.dumps(msg)[:300]))
                return msg
    log("client: %s: no answer" % method)
    return None


call.id = 100


def bad_input(msg, field):
    """True if 'msg' is error -32602 whose message names 'field'."""
    e = msg and msg.get("error")
    return isinstance(e, dict) and e.get("code") == -32602 \
        and field in e.get("message", "")


def ok(msg):
    return msg is not None and msg.get("error") is None


def client(args):
    host, port = args.connect.rsplit(":", 1)
    ctx = tls_context(args, False)
    raw = socket.create_connection((host, int(port)), timeout=5)
    c = Conn(ctx.wrap_socket(raw), host)
    end = time.monotonic() + args.seconds
    if not ok(call(c, "hello", [hello("host3")], end)):
        log("client: hello refused")
        return 1
    good = True
    case = args.case
    if case == "export-running":
        # VMs that run on the target: export (allowed, issue 10 item 10)
        # then abort; locate and verify read only.
        call(c, "export", [{"vm": "vm1", "id": "hostile-1"}], end)
        call(c, "locate", [{"vm": "vm1"}], end)
        call(c, "verify", [{"vm": "vm1", "ips": ["198.18.1.1"],
                            "macs": ["02:00:00:00:00:01"]}], end)
        call(c, "ct-delta", [{"vm": "vm1", "id": "hostile-1"}], end)
        good = ok(call(c, "abort", [{"vm": "vm1", "id": "hostile-1"}], end))
    elif case == "malformed":
        cases = [
            ("export", [{}], "params.vm"),
            ("export", [{"vm": 7, "id": "x"}], "params.vm"),
            ("export", [{"vm": "vm1"}], "params.id"),
            ("export", [{"vm": "vm1", "id": {"a": 1}}], "params.id"),
            ("confirm", [{"vm": "vm 1", "id": "x"}], "params.vm"),
            ("confirm", [{"vm": "vm1", "id": ""}], "params.id"),
            ("abort", [{"vm": "../../etc", "id": "x"}], "params.vm"),
            ("ct-delta", [{"vm": "vm1"}], "params.id"),
            ("locate", [{"vm": "x" * 5000}], "params.vm"),
            ("verify", [{"vm": None}], "params.vm"),
            ("locate", ["vm1"], "params.vm"),
        ]
        for method, params, field in cases:
            m = call(c, method, params, end)
            if not bad_input(m, field):
                log("client: FAIL: %s %s: not -32602 naming %s"
                    % (method, json.dumps(params)[:60], field))
                good = False
        # A reply, a notification, a message of the wrong type: ignored.
        c.send({"id": 5, "result": {"present": True}, "error": None})
        c.send({"id": None, "method": "confirm",
                "params": [{"vm": "vm1", "id": "x"}]})
        good &= ok(call(c, "locate", [{"vm": "vm1"}], end))
    elif case == "spray":
        # Replies for ids 0..63 on this session, again and again, while
        # the target waits for other peers' answers (issue 10 item 2).
        fake = {"present": False, "ports": 9, "fw_objects": 9,
                "ct_entries": 9, "ct": None, "vm": "vm2", "version": 1}
        rounds = 0
        while time.monotonic() < end and rounds < 400:
            for i in range(64):
                c.send({"id": i, "result": fake, "error": None})
            rounds += 1
            time.sleep(0.02)
        log("client: sprayed %d rounds of 64 replies" % rounds)
    elif case == "drain-flood":
        # `drain` is not charged to the request rate for a drain the
        # target takes (issue 11); a flood of ones it refuses (no such
        # migration) is: past the burst (200), "busy".
        frame = "02000000000102000000009908004500"
        busy = refused = 0
        for i in range(300):
            m = call(c, "drain", [{"vm": "vm1", "id": "hostile-drain",
                                   "seq": i, "frames": [frame]}], end)
            e = m and m.get("error")
            if isinstance(e, dict) and "busy" in e.get("message", ""):
                busy += 1
            elif isinstance(e, dict) and e.get("code") == -32602:
                refused += 1
        log("client: drain flood: %d refused, %d busy" % (refused, busy))
        good = refused >= 1 and busy >= 50
    elif case == "confirm-running":
        # Export then confirm vm1, which runs on the target (item 10).
        call(c, "export", [{"vm": "vm1", "id": "hostile-2"}], end)
        call(c, "confirm", [{"vm": "vm1", "id": "hostile-2"}], end)
    elif case == "confirm-uplink":
        # A "VM" named as the uplink (item 6).
        call(c, "export", [{"vm": "up0", "id": "hostile-3"}], end)
        call(c, "confirm", [{"vm": "up0", "id": "hostile-3"}], end)
    else:
        log("client: unknown case", case)
        return 2
    c.sock.close()
    return 0 if good else 1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["serve", "client"])
    ap.add_argument("--listen")
    ap.add_argument("--connect")
    ap.add_argument("--case")
    ap.add_argument("--case-file")
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--ca", required=True)
    ap.add_argument("--seconds", type=float, default=30)
    args = ap.parse_args()
    args.seconds = min(args.seconds, 900)
    return serve(args) if args.mode == "serve" else client(args)


if __name__ == "__main__":
    sys.exit(main())
