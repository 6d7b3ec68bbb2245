# shellcheck shell=bash
# ovn-lib.sh — what the OVN side-by-side benchmarks share: small timing
# helpers and a private OVN central (NB and SB ovsdb-servers + ovn-northd)
# in one run dir.  Source it, then call ovn_start_central DIR; the caller's
# EXIT trap stops the daemons with ovn_kill_pidfiles (their pid files are
# DIR/{nb,sb,northd}.pid) and removes DIR.  Needs a die MESSAGE function.

# ovn_kill_pidfiles SECONDS PIDFILE...: SIGTERM to the daemons of those pid
# files, SIGKILL to those still alive after SECONDS.
ovn_kill_pidfiles() {
    local secs=$1 f p pids="" alive
    shift
    for f in "$@"; do
        [ -f "$f" ] || continue
        p=$(cat "$f" 2>/dev/null || true)
        [ -n "$p" ] && kill "$p" 2>/dev/null && pids="$pids $p"
    done
    for _ in $(seq $((secs * 10))); do
        alive=0
        for p in $pids; do kill -0 "$p" 2>/dev/null && alive=1; done
        [ $alive = 0 ] && break
        sleep 0.1
    done
    for p in $pids; do kill -KILL "$p" 2>/dev/null || true; done
}

now_ms() { date +%s%3N; }
median() { sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
best() { sort -n | head -n1; }
mem_kb() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status" 2>/dev/null || echo -1; }

# ovn_start_central DIR: a fresh DIR with the NB and SB databases, their
# servers and ovn-northd, every OVN/OVS path inside DIR; sets NB, SB (ctl
# commands) and NORTHD (its appctl) and waits until northd answers.
ovn_start_central() {
    local d=$1 db
    rm -rf "$d"
    mkdir -p "$d"
    export OVN_RUNDIR=$d OVN_LOGDIR=$d OVN_DBDIR=$d OVN_SYSCONFDIR=$d
    export OVS_RUNDIR=$d OVS_LOGDIR=$d OVS_DBDIR=$d OVS_SYSCONFDIR=$d
    ovsdb-tool create "$d/nb.db" /usr/share/ovn/ovn-nb.ovsschema
    ovsdb-tool create "$d/sb.db" /usr/share/ovn/ovn-sb.ovsschema
    for db in nb sb; do
        ovsdb-server "$d/$db.db" --remote="punix:$d/$db.sock" --pidfile="$d/$db.pid" \
            --unixctl="$d/$db.ctl" --log-file="$d/$db.log" --detach </dev/null 2>>"$d/start.log" \
            || die "cannot start the $db ovsdb-server"
    done
    ovn-northd --ovnnb-db="unix:$d/nb.sock" --ovnsb-db="unix:$d/sb.sock" \
        --pidfile="$d/northd.pid" --unixctl="$d/northd.ctl" \
        --log-file="$d/northd.log" --detach </dev/null 2>>"$d/start.log" || die "cannot start ovn-northd"
    NB=(ovn-nbctl --db="unix:$d/nb.sock" --timeout=120)
    SB=(ovn-sbctl --db="unix:$d/sb.sock" --timeout=120)
    NORTHD=(ovn-appctl -t "$d/northd.ctl")
    "${NB[@]}" --wait=sb sync || die "ovn-northd does not answer"
}
