#!/bin/bash
# End-to-end: a bad topology is refused as a whole, with file:line:col for
# every error, and changes nothing on any host.
#   - anetctl apply BAD exits 1 and names lines 13 (unknown key),
#     25 (ip outside the switch's cidr) and 27 (unknown host) — the lines
#     written below, and no other line,
#   - every host's br-int flows (OVS's own dump) are identical before/after,
#   - the generation is unchanged and the ping matrix still holds.
. "$(dirname "$0")/lib.sh"
e2e_init e2e-bad
e2e_up "$E2E_TOPO/two-switches.yaml"

bad=$E2E_TMP/bad-topology.yaml
# Line numbers matter: the assertions below expect errors at 13, 25, 27.
cat >"$bad" <<'EOF'
# bad-topology.yaml — three distinct errors, at known lines.
hosts:
  - name: hv1
    tunnel_ip: 10.200.0.11/24
  - name: hv2
    tunnel_ip: 10.200.0.12/24
  - name: hv3
    tunnel_ip: 10.200.0.13/24

switches:
  - name: web
    cidr: 10.1.0.0/24
    colour: blue
  - name: db
    cidr: 10.2.0.0/24

ports:
  - name: web1
    host: hv1
    switch: web
    ip: 10.1.0.11
  - name: web2
    host: hv2
    switch: web
    ip: 10.9.0.12
  - name: db1
    host: hv7
    switch: db
    ip: 10.2.0.11
EOF
# Where each error was written: the unknown key, the out-of-cidr ip, the
# unknown host (13, 25 and 27 as written above).
want_lines=$(grep -n -e 'colour: blue' -e 'ip: 10.9.0.12' -e 'host: hv7' "$bad" \
             | cut -d: -f1 | sort -n | tr '\n' ' ' | sed 's/ $//')
[ "$want_lines" = "13 25 27" ] || e2e_abort "test bug: errors written at $want_lines"

e2e_say "before: OVS flow dumps of every host"
e2e_dump_all "$E2E_TMP/before"
gen0=$(lab_show_json | jq -r .generation)

e2e_say "anetctl apply $(basename "$bad")"
rc=0
out=$(lab_ctl apply "$bad" 2>&1) || rc=$?
echo "$out" | sed 's/^/    /'
e2e_eq "anetctl apply exit code" 1 "$rc"
base=$(basename "$bad")
got_lines=$(grep -o "$base:[0-9]*:[0-9]*:" <<<"$out" | cut -d: -f2 | sort -nu | tr '\n' ' ' | sed 's/ $//')
e2e_eq "errors reported at exactly the lines written" "$want_lines" "$got_lines"
for l in $want_lines; do
    grep -Eq "(^|/)$base:$l:[0-9]+: [^ ].*" <<<"$out" \
        && e2e_ok "line $l: '$(grep -E "$base:$l:" <<<"$out" | head -n1 | sed "s|.*$base|$base|")'" \
        || e2e_fail "no 'FILE:$l:COL: message' line"
done

sleep 1  # give a wrongly pushed state time to land before looking
e2e_say "after: nothing changed"
e2e_eq "generation unchanged" "$gen0" "$(lab_show_json | jq -r .generation)"
e2e_dump_all "$E2E_TMP/after"
for h in $(e2e_hosts); do
    if diff -u "$E2E_TMP/before/$h" "$E2E_TMP/after/$h" >"$E2E_TMP/diff-$h"; then
        e2e_ok "$h: br-int flows identical ($(wc -l <"$E2E_TMP/after/$h") flows)"
    else
        e2e_fail "$h: br-int flows changed:"
        head -n 20 "$E2E_TMP/diff-$h"
    fi
done
e2e_check "ping matrix still as expected" lab_matrix
