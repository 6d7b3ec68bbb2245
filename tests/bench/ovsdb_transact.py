"""ovsdb_transact.py — one OVSDB "transact" over a unix socket (RFC 7047),
for the OVN benchmark scripts: their NB contents go in as one transaction
(ovsdb-client transact takes its JSON as one argument, which Linux caps at
128 KiB).  Exits the process with a message when the transaction fails."""
import json
import socket
import sys


def transact(path, ops):
    s = socket.socket(socket.AF_UNIX)
    s.connect(path)
    s.sendall(json.dumps({"method": "transact", "params": ops,
                          "id": 1}).encode())
    dec, buf = json.JSONDecoder(), ""
    while True:
        chunk = s.recv(1 << 20)
        if not chunk:
            sys.exit("connection closed")
        buf += chunk.decode()
        try:
            msg, _ = dec.raw_decode(buf.lstrip())
        except ValueError:
            continue
        if msg.get("id") != 1:          # e.g. an echo request
            buf = ""
            continue
        errors = [r for r in msg.get("result") or [] if r and "error" in r]
        if msg.get("error") or errors:
            sys.exit("transaction failed: %s"
                     % (msg.get("error") or errors[:3]))
        s.close()
        return msg
