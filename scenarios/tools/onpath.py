#!/usr/bin/env python3
"""An attacker on the first leg, for the draft's section 3.1 scenario.

  onpath.py [-c IGNORED] http ADDR UPSTREAM REWRITE
      an HTTP relay: forwards each request to UPSTREAM (host:port, plain
      HTTP) and rewrites the Location of a 3xx answer to REWRITE + path
      (what anyone on an http leg can do)
  onpath.py [-c IGNORED] tcp ADDR UPSTREAM [RECORD]
      a TCP relay: forwards bytes both ways to UPSTREAM; with TLS inside it
      sees ciphertext only and can change nothing without breaking it. With
      RECORD, each connection's bytes are kept in RECORD.c2s and RECORD.s2c
      (the last connection's): a recorded handshake, for later
  onpath.py [-c IGNORED] tls ADDR UPSTREAM REWRITE CERT KEY
      terminates TLS itself with CERT/KEY (not the site's), then acts as
      the http relay: the UA's certificate check must refuse it

Prints "onpath ready NAME=ADDR:PORT" on stderr once listening, one JSON
access-log line per request or connection on stdout, and exits 0 on SIGTERM.
"""
import json
import signal
import socket
import ssl
import sys
import threading
import time


def log(**kw):
    kw = dict(ts=time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) +
              ".%03dZ" % (int(time.time() * 1000) % 1000), prog="onpath", **kw)
    print(json.dumps(kw), flush=True)


def read_head(conn):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return None, b""
        data += chunk
        if len(data) > 1 << 20:
            return None, b""
    head, rest = data.split(b"\r\n\r\n", 1)
    return head.decode("latin-1"), rest


def relay_http(conn, peer, upstream, rewrite):
    head, rest = read_head(conn)
    if head is None:
        return
    lines = head.split("\r\n")
    method, uri = lines[0].split(" ")[:2]
    lines = [l for l in lines if not l.lower().startswith("connection:")] + ["Connection: close"]
    host, port = upstream.rsplit(":", 1)
    up = socket.create_connection((host, int(port)), timeout=10)
    up.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + rest)
    resp = b""
    while True:
        chunk = up.recv(65536)
        if not chunk:
            break
        resp += chunk
    up.close()
    rhead, body = resp.split(b"\r\n\r\n", 1) if b"\r\n\r\n" in resp else (resp, b"")
    rlines = rhead.decode("latin-1").split("\r\n")
    status = int(rlines[0].split(" ")[1]) if len(rlines[0].split(" ")) > 1 else 0
    note = "relayed"
    for i, l in enumerate(rlines):
        if l.lower().startswith("location:") and rewrite:
            old = l.split(":", 1)[1].strip()
            path = "/" + old.split("://", 1)[-1].split("/", 1)[-1] if "://" in old else old
            rlines[i] = "Location: " + rewrite.rstrip("/") + path
            note = "Location rewritten: %s -> %s" % (old, rewrite.rstrip("/") + path)
    conn.sendall(("\r\n".join(rlines) + "\r\n\r\n").encode("latin-1") + body)
    log(peer="%s:%d" % peer, method=method, uri=uri, status=status,
        upstream="http://%s%s" % (upstream, uri), note=note)


def pump(a, b, rec=None):
    try:
        while True:
            d = a.recv(65536)
            if not d:
                break
            if rec:
                rec.write(d)
            b.sendall(d)
    except OSError:
        pass
    for s in (a, b):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def relay_tcp(conn, peer, upstream, record=None):
    host, port = upstream.rsplit(":", 1)
    up = socket.create_connection((host, int(port)), timeout=10)
    c2s = open(record + ".c2s", "wb") if record else None
    s2c = open(record + ".s2c", "wb") if record else None
    t = threading.Thread(target=pump, args=(up, conn, s2c), daemon=True)
    t.start()
    pump(conn, up, c2s)
    t.join(10)
    for f in (c2s, s2c):
        if f:
            f.close()
    log(peer="%s:%d" % peer, method="TCP", uri="(bytes relayed: TLS, opaque)", status=0,
        note="cannot read or change what TLS protects")


def serve(conn, peer, args):
    try:
        if args[0] == "tcp":
            relay_tcp(conn, peer, args[2], args[3] if len(args) > 3 else None)
        else:
            relay_http(conn, peer, args[2], args[3])
    except (OSError, ValueError, IndexError) as e:
        log(peer="%s:%d" % peer, method="?", uri="?", status=0, note="error: %s" % e)
    finally:
        conn.close()


def main(args):
    if args[:1] == ["-c"]:  # started as a scenario node: -c CONFIG, then "args"
        args = args[2:]
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((args[1], 0))
    srv.listen(64)
    ctx = None
    if args[0] == "tls":
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args[4], args[5])
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    name = {"http": "http", "tcp": "tcp", "tls": "https"}[args[0]]
    print("onpath ready %s=%s:%d" % ((name,) + srv.getsockname()), file=sys.stderr, flush=True)
    while True:
        conn, peer = srv.accept()
        if ctx:
            try:
                conn = ctx.wrap_socket(conn, server_side=True)
            except (ssl.SSLError, OSError) as e:
                log(peer="%s:%d" % peer, method="TLS", uri="(handshake)", status=0,
                    note="the UA refused our certificate: %s" % e)
                conn.close()
                continue
        threading.Thread(target=serve, args=(conn, peer, args), daemon=True).start()


if __name__ == "__main__":
    main(sys.argv[1:])
