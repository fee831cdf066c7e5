#!/usr/bin/env bash
# The README's systemd install steps, as written, and the systemd units:
#   - systemd-analyze verify of both units and systemd-analyze security
#     --offline of the service (at most 3.0, "OK");
#   - the README block marked for this script, run in a sandbox of its own
#     (mount and network namespaces: /etc, /usr/local/bin, /var/lib and
#     /var/log are overlays that vanish afterwards; only loopback exists),
#     then the owner and mode of everything it made, and that the service
#     user, and no other, can read the key;
#   - the unit's ExecStart, run as the service user with the installed
#     settings file against the simulated Connect server: alone (it listens
#     on :10233 itself) and under systemd-socket-activate on the same port,
#     as with both units enabled (it must take the socket, not bind again).
# Needs root, go, curl, unshare, setpriv and mount (util-linux), ip
# (iproute2), systemd-analyze and systemd-socket-activate (systemd).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }
t0=$SECONDS
step() { printf '== [%3ds] %s\n' "$((SECONDS - t0))" "$*"; }
user=posit_connect_exporter

if [[ ${1:-} != --inside ]]; then
	cd "$root"
	export PATH="$PATH:/usr/local/go/bin:$(go env GOPATH)/bin"
	for tool in go curl unshare setpriv mount ip systemd-analyze systemd-socket-activate; do
		command -v "$tool" >/dev/null || fail "$tool is not installed (Debian: systemd, iproute2, util-linux, curl)"
	done
	[[ $(id -u) == 0 ]] || fail "needs root (it creates a user and root-owned files, in a sandbox)"

	step "systemd-analyze verify and security"
	systemd-analyze verify examples/systemd/posit_connect_exporter.service examples/systemd/posit_connect_exporter.socket
	systemd-analyze security --offline=true --threshold=30 examples/systemd/posit_connect_exporter.service >/tmp/pce-security.txt ||
		{ cat /tmp/pce-security.txt; fail "systemd-analyze security: exposure above 3.0"; }
	tail -1 /tmp/pce-security.txt
	grep -q 'OK' <(tail -1 /tmp/pce-security.txt) || fail "systemd-analyze security does not rate the service OK"

	tmp=$(mktemp -d)
	chmod 0755 "$tmp" # the service user must reach the unpacked release
	trap 'rm -rf "$tmp"' EXIT
	step "build the exporter and the simulated Connect server"
	mkdir -p "$tmp/release/examples"
	go build -o "$tmp/release/posit_connect_exporter" .
	go build -o "$tmp/simserver" ./scripts/simserver
	cp -r examples/systemd "$tmp/release/examples/"
	# The README block after the marker comment.
	awk '/^<!-- scripts\/test.d\/40-install.sh runs this block/{m=1; next} m && /^```sh$/{on=1; next} on && /^```$/{exit} on' README.md >"$tmp/install.sh"
	[[ -s $tmp/install.sh ]] || fail "README.md has no install block after the 40-install.sh marker"
	exec unshare --mount --net --fork --propagation private bash "${BASH_SOURCE[0]}" --inside "$tmp"
fi

# Inside the sandbox.
tmp=$2
cd "$tmp"
ip link set lo up
mkdir "$tmp/ovl"
mount -t tmpfs tmpfs "$tmp/ovl"
for dir in /etc /usr/local/bin /var/lib /var/log; do
	name=${dir//\//_}
	mkdir -p "$tmp/ovl/$name.up" "$tmp/ovl/$name.work"
	mount -t overlay overlay -o "lowerdir=$dir,upperdir=$tmp/ovl/$name.up,workdir=$tmp/ovl/$name.work" "$dir"
done
! getent passwd "$user" >/dev/null || fail "user $user exists before the install steps"

step "run the README's install block"
sed 's/^/    /' install.sh
key="pce-test-key-$RANDOM$RANDOM"
(cd release && printf '%s\n' "$key" | bash -euo pipefail "$tmp/install.sh")

step "check owners, modes and the key"
# want PATH OWNER:GROUP MODE
want() {
	local got
	got=$(stat -c '%U:%G %a' "$1") || fail "$1 was not created"
	[[ $got == "$2 $3" ]] || fail "$1 is $got, want $2 $3"
	echo "ok $1 $got"
}
want /usr/local/bin/posit_connect_exporter root:root 755
want /etc/posit_connect_exporter root:$user 750
want /etc/posit_connect_exporter/api-key root:$user 640
want /etc/default/posit_connect_exporter root:root 600
want /etc/systemd/system/posit_connect_exporter.service root:root 644
want /etc/systemd/system/posit_connect_exporter.socket root:root 644
IFS=: read -r _ _ uid gid _ home shell < <(getent passwd "$user")
[[ $uid -lt 1000 && $shell == /usr/sbin/nologin && $home == /nonexistent && ! -e $home ]] ||
	fail "user $user: uid $uid, home $home, shell $shell; want a system user without a home or login shell"
[[ $(getent group "$gid" | cut -d: -f1) == "$user" ]] || fail "user $user's group is not $user"
as_user() { setpriv --reuid="$user" --regid="$user" --init-groups --no-new-privs "$@"; }
[[ $(as_user cat /etc/posit_connect_exporter/api-key) == "$key" ]] || fail "the service user cannot read the key, or it differs"
if setpriv --reuid=nobody --regid=nogroup --clear-groups cat /etc/posit_connect_exporter/api-key >/dev/null 2>&1; then
	fail "another user (nobody) can read the key"
fi
echo "ok the key is readable by $user only"
systemd-analyze verify /etc/systemd/system/posit_connect_exporter.service /etc/systemd/system/posit_connect_exporter.socket

step "start the simulated Connect server with the installed key"
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait' EXIT
# simserver uses a key of its own; put it where the README put the user's.
"$tmp/simserver" -users 200 -content 20 -shiny-sessions 2000 -visits 2000 -audit 200 -key-file "$tmp/simkey" >"$tmp/sim.out" 2>&1 &
pids+=($!)
for ((i = 0; i < 300; i++)); do
	grep -q '^http' "$tmp/sim.out" && break
	sleep 0.1
done
sim_url=$(awk '/^http/{print $1; exit}' "$tmp/sim.out")
[[ -n $sim_url ]] || { cat "$tmp/sim.out"; fail "the simulated Connect server did not start"; }
install -o root -g "$user" -m 0640 "$tmp/simkey" /etc/posit_connect_exporter/api-key
# What the README asks the reader to edit.
sed -i "s|^CONNECT_SERVER=.*|CONNECT_SERVER=$sim_url|" /etc/default/posit_connect_exporter

# systemd's part: StateDirectory=, UMask=, EnvironmentFile= and ExecStart=
# (continuation lines joined, $$ unescaped).
install -d -o "$user" -g "$user" -m 0700 /var/lib/posit_connect_exporter
exec_start=$(sed -e ':a' -e '/\\$/N; s/\\\n//; ta' /etc/systemd/system/posit_connect_exporter.service |
	sed -n 's/^ExecStart=//p' | sed 's/\$\$/$/g')
echo "ExecStart: $exec_start"
eval "exec_argv=($exec_start)"
service_env=()
while IFS= read -r line; do
	service_env+=("$line")
done < <(env -i bash -c 'set -a; . /etc/default/posit_connect_exporter; env' | grep -E '^(CONNECT_SERVER|ARGS)=')
[[ ${#service_env[@]} == 2 ]] || fail "the settings file does not set CONNECT_SERVER and ARGS"
run_service() { # ExecStart as the service user, in the environment systemd gives it; extra leading args wrap it
	# exec, so that $! of `run_service &` is the exporter's process.
	exec "$@" setpriv --reuid="$user" --regid="$user" --init-groups --no-new-privs \
		bash -c 'exec env -i PATH=/usr/bin:/bin ${LISTEN_FDS:+"LISTEN_FDS=$LISTEN_FDS" "LISTEN_PID=$LISTEN_PID" "LISTEN_FDNAMES=${LISTEN_FDNAMES-}"} "$@"' - \
		"${service_env[@]}" bash -c 'umask 077; exec "$@"' - "${exec_argv[@]}"
}
# exporter_pid PID: the exporter's process: PID (systemd-socket-activate
# execs the service in its own process) or a child of it.
exporter_pid() { pgrep -P "$1" -x posit_connect_e || echo "$1"; }
uid_of() { awk '/^Uid:/{print $2}' "/proc/$1/status"; }
up() { curl -sf --max-time 20 http://127.0.0.1:10233/metrics | grep -qx 'posit_connect_up 1'; }
wait_up() {
	for ((i = 0; i < 100; i++)); do
		up && return 0
		sleep 0.2
	done
	return 1
}
stop_last() { kill "${pids[-1]}" 2>/dev/null || true; wait "${pids[-1]}" 2>/dev/null || true; unset 'pids[-1]'; }

step "the service alone: it listens on :10233 and reads Connect with the key file"
run_service >"$tmp/alone.log" 2>&1 &
pids+=($!)
wait_up || { cat "$tmp/alone.log"; fail "the service alone never reported posit_connect_up 1"; }
pid=$(exporter_pid "${pids[-1]}")
tr '\0' ' ' </proc/"$pid"/cmdline | grep -q -- '--web.systemd-socket' && fail "the service alone ran with --web.systemd-socket"
[[ $(uid_of "$pid") == "$uid" ]] || fail "the exporter runs as uid $(uid_of "$pid"), not $user"
echo "ok posit_connect_up 1, as $user"
for ((i = 0; i < 100; i++)); do
	[[ -s /var/lib/posit_connect_exporter/state.json ]] && break
	sleep 0.2
done
want /var/lib/posit_connect_exporter/state.json "$user:$user" 600
stop_last

step "socket activation on :10233, as with both units enabled"
run_service systemd-socket-activate -l 127.0.0.1:10233 >"$tmp/socket.log" 2>&1 &
pids+=($!)
wait_up || { cat "$tmp/socket.log"; fail "under socket activation the service never reported posit_connect_up 1"; }
pid=$(exporter_pid "${pids[-1]}")
[[ $(cat /proc/"$pid"/comm) == posit_connect_e* ]] || fail "systemd-socket-activate started no exporter"
tr '\0' ' ' </proc/"$pid"/cmdline | grep -q -- '--web.systemd-socket' ||
	fail "under socket activation the exporter runs without --web.systemd-socket"
grep -qi 'address already in use' "$tmp/socket.log" && fail "socket activation: address already in use"
echo "ok posit_connect_up 1 through the socket systemd-socket-activate holds"
stop_last

step "control: without --web.systemd-socket the same start fails with 'address already in use'"
# What the units did before: proves the check above can fail.
saved=("${exec_argv[@]}")
exec_argv=(/usr/local/bin/posit_connect_exporter --connect.api-key-file=/etc/posit_connect_exporter/api-key)
run_service systemd-socket-activate -l 127.0.0.1:10233 >"$tmp/control.log" 2>&1 &
pids+=($!)
# Connect (which starts it) until it has failed; the first tries may come
# before systemd-socket-activate listens.
for ((i = 0; i < 50; i++)); do
	grep -qi 'address already in use' "$tmp/control.log" 2>/dev/null && break
	curl -s --max-time 2 http://127.0.0.1:10233/metrics >/dev/null || true
	sleep 0.2
done
grep -qi 'address already in use' "$tmp/control.log" || { cat "$tmp/control.log"; fail "control: the exporter without --web.systemd-socket did not fail to bind"; }
echo "ok control failed as expected"
stop_last
exec_argv=("${saved[@]}")
step "install checks passed"
