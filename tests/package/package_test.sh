#!/usr/bin/env bash
# The Debian package of the build under test, end to end, as an operator gets it:
#   cpack makes sharegate_<version>_amd64.deb from BUILD_DIR; apt-get installs it; the
#   files are where cmake/Install.cmake puts them, the config is a conffile,
#   systemd-analyze verify accepts the units (sharegate.service and the template
#   sharegate@.service, sharegate-proxy.service), haproxy -c the example haproxy.cfg
#   (where haproxy is installed), the installed sharegate-proxy prints its --help and
#   accepts its example configuration once filled in, postinst made the user sharegate;
#   the installed /usr/bin/sharegate, run
#   as that user with the installed config, answers a mining.subscribe (and /healthz on
#   the admin endpoint, where this build has --admin-listen), and stops cleanly on
#   SIGTERM; apt-get purge then leaves no binary, unit, user or /var/lib/sharegate behind.
# Needs root (exit 77, a ctest skip, otherwise). Whatever happens, the package is purged
# and the private redis-server stopped on exit, so the machine is left as it was; it
# skips where a sharegate package or user already exists rather than touch them.
#
#   package_test.sh BUILD_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
source_dir=$(cd "$(dirname "$0")/../.." && pwd)

skip() {
    echo "SKIP: $*"
    exit 77
}
fail() {
    echo "FAIL: $*" >&2
    exit 1
}

[[ $(id -u) -eq 0 ]] || skip "not root: the package test installs and purges a package (CI runs it as root)"
for tool in cpack dpkg-deb dpkg-shlibdeps apt-get systemd-analyze setpriv redis-server redis-cli curl python3; do
    command -v "$tool" >/dev/null || fail "$tool is missing (bash scripts/install-deps.sh)"
done
package_state() { dpkg-query -W -f='${Status}' sharegate 2>/dev/null || true; }
case $(package_state) in
"" | *not-installed) ;;
*) skip "a sharegate package is installed on this machine ($(package_state)); the test would replace and purge it" ;;
esac
getent passwd sharegate >/dev/null && skip "a user sharegate exists on this machine; purging the package would delete it"
getent group sharegate >/dev/null && skip "a group sharegate exists on this machine; purging the package would delete it"
[[ -e /var/lib/sharegate || -e /etc/sharegate ]] &&
    skip "/var/lib/sharegate or /etc/sharegate exists on this machine; purging the package would delete it"

# free_port, wait_port, start_redis (a private redis-server with the challenge set) and
# bench_cleanup; bench_pool is a valid pool address.
# shellcheck disable=SC1091,SC2154
source "$source_dir/bench/lib/common.sh"
: "${bench_pool:?}"
work=$(mktemp -d)
server_pid=""
cleanup() {
    if [[ -n $server_pid ]]; then
        kill -TERM "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    case $(package_state) in
    "" | *not-installed) ;;
    *) DEBIAN_FRONTEND=noninteractive apt-get purge -y -q sharegate >/dev/null 2>&1 || dpkg --purge sharegate || true ;;
    esac
    bench_cleanup
    rm -rf "$work"
}
trap cleanup EXIT INT TERM

step() { echo "== $*"; }
# show_log FILE: a failing command's output.
show_log() { sed 's/^/    /' "$1" >&2; }

step "cpack -G DEB from $build"
if ! (cd "$work" && cpack -G DEB --config "$build/CPackConfig.cmake" -B "$work/package") >"$work/cpack.log" 2>&1; then
    show_log "$work/cpack.log"
    fail "cpack failed (is the build complete? cmake --build $build)"
fi
version=$(sed -nE 's/^set\(CPACK_PACKAGE_VERSION "([^"]*)"\)$/\1/p' "$build/CPackConfig.cmake")
deb=$work/package/sharegate_${version}_amd64.deb
[[ -f $deb ]] || fail "no $deb; cpack made: $(ls "$work/package")"
dpkg-deb --field "$deb" Package Version Architecture Depends Recommends Suggests | sed 's/^/    /'
depends=$(dpkg-deb --field "$deb" Depends)
for needed in adduser libhiredis libstdc++6; do
    [[ $depends == *"$needed"* ]] || fail "Depends lacks $needed: $depends"
done

step "apt-get install $deb"
if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$deb" >"$work/install.log" 2>&1; then
    show_log "$work/install.log"
    fail "apt-get install failed"
fi

step "installed files"
dpkg -L sharegate >"$work/files"
expected=(/usr/bin/sharegate /usr/bin/sharegate-ctl /usr/bin/sharegate-proxy /usr/bin/sharegate-bench
    /usr/bin/sharegate-loadgen /usr/bin/sharegate-mine /etc/sharegate/sharegate.conf
    /usr/lib/systemd/system/sharegate.service /usr/lib/systemd/system/sharegate@.service
    /usr/lib/systemd/system/sharegate-proxy.service /usr/share/doc/sharegate/README.md
    /usr/share/doc/sharegate/docs/operations.md /usr/share/doc/sharegate/examples/haproxy.cfg
    /usr/share/doc/sharegate/examples/sharegate-instance.conf.example
    /usr/share/doc/sharegate/examples/sharegate-proxy.conf.example)
for page in sharegate sharegate-proxy; do
    if [[ -f $build/man/$page.1.gz ]]; then expected+=("/usr/share/man/man1/$page.1.gz"); fi
done
for file in "${expected[@]}"; do
    grep -qxF "$file" "$work/files" || fail "the package lacks $file"
    [[ -e $file ]] || fail "$file is not on disk after the install"
done
dpkg-query -W -f='${Conffiles}\n' sharegate | grep -q '^ /etc/sharegate/sharegate.conf ' ||
    fail "/etc/sharegate/sharegate.conf is not a conffile"
cmp -s /etc/sharegate/sharegate.conf "$source_dir/deploy/sharegate.conf" ||
    fail "the installed config differs from deploy/sharegate.conf"

step "systemd-analyze verify /lib/systemd/system/sharegate.service sharegate@.service sharegate-proxy.service"
# verify runs `man` on the unit's Documentation=man:NAME(1); a build without help2man
# ships no man page, a machine without man-db cannot look it up, and then only that
# check is left out.
man_check() {  # man_check PAGE: the option that leaves the man check out, where it must be
    if ! grep -qxF "/usr/share/man/man1/$1.1.gz" "$work/files" || ! command -v man >/dev/null; then
        echo --man=no
    fi
}
# The template unit too (systemd-analyze verifies it as an instance of its own).
for unit in sharegate.service sharegate@.service sharegate-proxy.service; do
    page=${unit%.service}
    page=${page%@}
    # shellcheck disable=SC2046
    if ! systemd-analyze verify $(man_check "$page") "/lib/systemd/system/$unit" >"$work/verify.log" 2>&1 ||
        [[ -s $work/verify.log ]]; then
        show_log "$work/verify.log"
        fail "systemd-analyze verify reports on $unit"
    fi
done

step "the installed sharegate-proxy: --help, and its example configuration once filled in"
proxy_help=$(/usr/bin/sharegate-proxy --help 2>&1) || fail "sharegate-proxy --help failed: $proxy_help"
[[ $proxy_help == *--pool* && $proxy_help == *--account* ]] ||
    fail "sharegate-proxy --help does not name --pool and --account: $proxy_help"
echo "    $(head -n 1 <<<"$proxy_help")"
# --help exits 0 only after every value of the file passed its option's check.
sed -E -e "s|^pool = .*|pool = 127.0.0.1:9192|" -e "s|^account = .*|account = $bench_pool|" \
    /usr/share/doc/sharegate/examples/sharegate-proxy.conf.example >"$work/proxy.conf"
if ! out=$(/usr/bin/sharegate-proxy --config "$work/proxy.conf" --help 2>&1 >/dev/null); then
    fail "sharegate-proxy refuses its example configuration, filled in: $out"
fi
# The control: the example as shipped (placeholders) is refused, so the check above checks.
if /usr/bin/sharegate-proxy --config /usr/share/doc/sharegate/examples/sharegate-proxy.conf.example --help \
    >/dev/null 2>&1; then
    fail "sharegate-proxy accepts the example's placeholders: --config is not checked, and this step proves nothing"
fi

# The example HAProxy configuration is one HAProxy accepts, where HAProxy is installed.
if command -v haproxy >/dev/null; then
    step "haproxy -c -f /usr/share/doc/sharegate/examples/haproxy.cfg"
    haproxy -c -f /usr/share/doc/sharegate/examples/haproxy.cfg >"$work/haproxy.log" 2>&1 ||
        { show_log "$work/haproxy.log"; fail "haproxy -c rejects the example haproxy.cfg"; }
fi

step "the system user"
IFS=: read -r _ _ uid _ _ home shell < <(getent passwd sharegate) || fail "postinst made no user sharegate"
[[ $uid -lt 1000 && $home == /var/lib/sharegate && $shell == */nologin ]] ||
    fail "user sharegate is not a system user with home /var/lib/sharegate and no login (uid $uid, $home, $shell)"
[[ $(stat -c %U:%G /var/lib/sharegate) == sharegate:sharegate ]] || fail "/var/lib/sharegate is not owned by sharegate"

step "the installed sharegate, as user sharegate, with the installed config"
start_redis
port=$(free_port)
getwork=$(free_port)
admin_args=()
admin=""
# The admin endpoint (/healthz) is checked where the binary has it.
if /usr/bin/sharegate --help | grep -q -- '--admin-listen'; then
    admin=$(free_port)
    admin_args=(--admin-listen "127.0.0.1:$admin")
fi
# The environment systemd would give it, not the test's (HOME, TMPDIR under the build tree).
env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/var/lib/sharegate \
    setpriv --reuid=sharegate --regid=sharegate --init-groups -- \
    /usr/bin/sharegate --config /etc/sharegate/sharegate.conf --pool-address "$bench_pool" \
    --redis "127.0.0.1:$redis_port" --bind 127.0.0.1 --port "$port" --getwork-port "$getwork" "${admin_args[@]}" \
    --spool-dir /var/lib/sharegate/spool >"$work/sharegate.log" 2>&1 &
server_pid=$!
# Up once it listens; a generous deadline, as --verifier auto self-tests each backend.
for _ in $(seq 600); do
    (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    kill -0 "$server_pid" 2>/dev/null || { show_log "$work/sharegate.log"; fail "sharegate exited at start"; }
    sleep 0.1
done
exec 3<>"/dev/tcp/127.0.0.1/$port" || fail "sharegate does not listen on $port"
printf '%s\n' "{\"id\":1,\"method\":\"mining.subscribe\",\"params\":[\"$bench_pool\"]}" >&3
reply=""
read -r -t 30 reply <&3 || true
exec 3>&-
[[ $reply == *'"result"'* ]] || { show_log "$work/sharegate.log"; fail "mining.subscribe got \"$reply\""; }
echo "    mining.subscribe: $reply"
if [[ -n $admin ]]; then
    healthy=""
    for _ in $(seq 300); do
        if healthy=$(curl -sf "http://127.0.0.1:$admin/healthz"); then break; fi
        healthy=""
        sleep 0.1
    done
    [[ -n $healthy ]] || { show_log "$work/sharegate.log"; fail "GET /healthz on 127.0.0.1:$admin did not succeed"; }
    echo "    /healthz: $healthy"
else
    echo "    (no --admin-listen in this build: /healthz not checked)"
fi
[[ -d /var/lib/sharegate/spool && $(stat -c %U /var/lib/sharegate/spool) == sharegate ]] ||
    fail "sharegate made no spool directory of its own under /var/lib/sharegate"

step "SIGTERM"
kill -TERM "$server_pid"
status=0
wait "$server_pid" || status=$?
server_pid=""
[[ $status -eq 0 ]] || { show_log "$work/sharegate.log"; fail "sharegate exited $status after SIGTERM"; }

step "apt-get purge sharegate"
if ! DEBIAN_FRONTEND=noninteractive apt-get purge -y -q sharegate >"$work/purge.log" 2>&1; then
    show_log "$work/purge.log"
    fail "apt-get purge failed"
fi
for gone in /usr/bin/sharegate /usr/bin/sharegate-proxy /usr/lib/systemd/system/sharegate.service \
    /usr/lib/systemd/system/sharegate@.service /usr/lib/systemd/system/sharegate-proxy.service \
    /usr/share/doc/sharegate/examples /etc/sharegate /var/lib/sharegate; do
    [[ ! -e $gone ]] || fail "$gone is still there after the purge"
done
getent passwd sharegate >/dev/null && fail "user sharegate is still there after the purge"
getent group sharegate >/dev/null && fail "group sharegate is still there after the purge"
echo "package test: sharegate_${version}_amd64.deb installs, serves, stops and purges cleanly"
