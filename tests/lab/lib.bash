# Shared helpers for lab scenarios (sourced, not run).  Each scenario gets its
# own lab name, so scenarios never collide, and tears its lab down on exit,
# also when it fails.
# shellcheck shell=bash

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
LAB=$TOP/netns-lab/lab
export NETMOVE=$TOP/build/netmove
# Short and unique: namespace names carry it.
export NETMOVE_LAB=${NETMOVE_LAB:-t$(printf '%x' $(($$ % 4096)))$(printf '%x' $((RANDOM % 256)))}
TMP=$(mktemp -d "/tmp/netmove-$NETMOVE_LAB.XXXXXX")
export LAB_STATE=/run/netmove-lab/$NETMOVE_LAB
_bg_pids=()

cleanup() {
	local rc=$?
	local p
	for p in "${_bg_pids[@]}"; do kill "$p" 2>/dev/null || true; done
	"$LAB" down >/dev/null 2>&1 || true
	[ -n "${KEEP_TMP:-}" ] || rm -rf "$TMP"
	exit $rc
}
trap cleanup EXIT

# In a part (see 'part' below) the messages name it: "FAIL: PART: ...".
fail() { echo "FAIL: ${PART:+$PART: }$*" >&2; exit 1; }
pass() { echo "ok: ${PART:+$PART: }$*"; }
skip() { echo "SKIP: $*"; exit 77; }

# wait_until SECONDS CMD...: polls CMD every 20 ms until it succeeds.
wait_until() {
	local limit=$1 end
	shift
	end=$((${EPOCHREALTIME/./} + limit * 1000000))
	until "$@" >/dev/null 2>&1; do
		[ "${EPOCHREALTIME/./}" -lt $end ] || return 1
		sleep 0.02
	done
}

# part NAME FUNC [ARG...]: one part of a scenario whose parts share a lab
# (bringing a lab up and down costs more than most parts).  FUNC runs in a
# subshell with errexit, its messages name the part, its background helpers
# end with it; a failed part does not stop the next ones, whose set-up must
# not depend on it succeeding.  parts_end fails the scenario if any failed.
_failed_parts=()
part() {
	local name=$1 rc
	shift
	echo "--- part $name"
	set +e
	(
		set -e
		PART=$name
		trap 'for p in "${_bg_pids[@]}"; do kill "$p" 2>/dev/null || true; done' EXIT
		_bg_pids=()
		"$@"
	)
	rc=$?
	set -e
	[ $rc -eq 0 ] || _failed_parts+=("$name")
}
parts_end() {
	[ ${#_failed_parts[@]} -eq 0 ] || fail "failed parts: ${_failed_parts[*]}"
}

# gone PID: the process has ended.  A zombie has: a detached daemon's is
# its init's to reap, which may take seconds (netns-lab/lab's alive).
gone() {
	local st
	read -r st 2>/dev/null <"/proc/$1/stat" || return 0
	st=${st##*) }
	[ "${st%% *}" = Z ]
}

# bg CMD...: runs CMD in the background, killed at exit; last_bg prints its
# pid, to wait for it.
bg() { "$@" & _bg_pids+=($!); }
last_bg() { echo "${_bg_pids[-1]}"; }

# status_get JQ: a value from 'lab status --json'.
status_get() { "$LAB" status --json | jq -r "$1"; }

# capture NODE IFACE FILE [FILTER...]: tcpdump on IFACE in NODE's namespace,
# into FILE; returns once the capture is running.  VLAN-tagged frames need
# "vlan and ..." in a filter: better to filter with tshark when reading.
capture() {
	local node=$1 iface=$2 file=$3
	shift 3
	bg "$LAB" exec "$node" tcpdump -i "$iface" -nn -U --immediate-mode -w "$file" "$@" 2>"$file.log"
	wait_until 5 grep -q 'listening on' "$file.log" || fail "tcpdump did not start: $(cat "$file.log")"
}
# capture_stop: stops every capture (and other background helpers).
capture_stop() {
	local p
	for p in "${_bg_pids[@]}"; do kill -INT "$p" 2>/dev/null || true; done
	for p in "${_bg_pids[@]}"; do wait "$p" 2>/dev/null || true; done
	_bg_pids=()
}

# wait_peers HOST PEER...: waits until HOST's netmoved has authenticated
# sessions to every PEER.
wait_peers() {
	local host=$1 expr=true p
	shift
	for p in "$@"; do expr="$expr and .peers.$p"; done
	wait_until 10 sh -c "NETMOVE_LAB=$NETMOVE_LAB $LAB exec $host $NETMOVE status | jq -e '$expr'" ||
		fail "$host's netmoved did not connect to $*"
}

# pings NODE ADDR COUNT: how many of COUNT pings (10 ms apart) were answered.
pings() {
	"$LAB" exec "$1" ping -n -q -c "$3" -i 0.01 -W 1 "$2" 2>/dev/null |
		sed -n 's/.* \([0-9]*\) received.*/\1/p'
}
