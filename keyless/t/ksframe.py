#!/usr/bin/env python3
"""Test-only peer for key-server tests: speaks raw gokeyless v1.0 frames over
mutual TLS, so tests can send frames our own client library never would.

usage: ksframe.py --server HOST:PORT --ca CA [--cert C --key K] [--tls 1.2|1.3]
                  [--name NAME] COMMAND...
commands (run in order):
  frame:ID:OP[:k=v,...]  build and send a request; keys: ski=HEX digest=HEX
                         payload=HEX sni=TEXT tag=TT:HEX (extra item, repeatable
                         via tag2=, tag3=), nopad, major=N, lenfix=N (add N to
                         the header length)
  raw:HEX                send bytes as they are
  recv                   read one frame and print it
  recv:N                 read N frames and print them, in arrival order
  halfclose              shut the TCP write side (no close_notify)
  eof                    expect the server to close; prints "eof" or "open"
  sleep:SECONDS
Frames print as:  id=ID op=OP len=N payload=HEX   (errors add err=CODE)
Exit status 0, or 1 (with a message on stderr) when the TLS handshake fails
("handshake-failed") or the connection ends early ("closed: REASON"); with TLS
1.3 a refused client certificate shows up as "closed" at the first read."""
import socket, ssl, struct, sys, time

def item(tag, data):
    return struct.pack('>BH', tag, len(data)) + data

def build(id_, op, opts):
    body = item(0x11, bytes([op]))
    for k, v in opts:
        if k == 'ski': body += item(0x04, bytes.fromhex(v))
        elif k == 'digest': body += item(0x01, bytes.fromhex(v))
        elif k == 'payload': body += item(0x12, bytes.fromhex(v))
        elif k == 'sni': body += item(0x02, v.encode())
        elif k.startswith('tag'):
            t, data = v.split('/', 1)
            body += item(int(t, 16), bytes.fromhex(data))
    flags = dict(opts)
    if 'nopad' not in flags and 8 + len(body) < 1024:
        left = max(0, 1024 - (len(body) + 8 + 3))
        body += item(0x20, bytes(left))
    major = int(flags.get('major', '1'))
    length = len(body) + int(flags.get('lenfix', '0'))
    return struct.pack('>BBHI', major, 0, length & 0xffff, id_) + body

def parse_opts(s):
    out = []
    for kv in s.split(',') if s else []:
        k, _, v = kv.partition('=')
        out.append((k, v))
    return out

def read_exact(conn, n):
    data = b''
    while len(data) < n:
        chunk = conn.recv(n - len(data))
        if not chunk:
            raise EOFError
        data += chunk
    return data

def recv_frame(conn):
    hdr = read_exact(conn, 8)
    _, _, length, id_ = struct.unpack('>BBHI', hdr)
    body = read_exact(conn, length)
    op, payload, i = None, b'', 0
    while i + 3 <= len(body):
        tag, ln = struct.unpack('>BH', body[i:i + 3])
        val = body[i + 3:i + 3 + ln]
        if tag == 0x11: op = val[0]
        elif tag == 0x12: payload = val
        i += 3 + ln
    line = 'id=%d op=%02x len=%d payload=%s' % (id_, op if op is not None else 0, 8 + length, payload.hex())
    if op == 0xff and len(payload) == 1:
        line += ' err=%02x' % payload[0]
    print(line, flush=True)

def main(argv):
    args, cmds, i = {}, [], 0
    while i < len(argv):
        if argv[i].startswith('--'):
            args[argv[i][2:]] = argv[i + 1]; i += 2
        else:
            cmds.append(argv[i]); i += 1
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(args['ca'])
    if 'cert' in args:
        ctx.load_cert_chain(args['cert'], args['key'])
    if args.get('tls') == '1.2':
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    host, port = args['server'].rsplit(':', 1)
    raw = socket.create_connection((host, int(port)), timeout=10)
    try:
        conn = ctx.wrap_socket(raw, server_hostname=args.get('name', 'keyserver.test'))
    except (ssl.SSLError, OSError) as e:
        print('handshake-failed: %s' % e, file=sys.stderr)
        return 1
    print('tls=%s' % conn.version(), flush=True)
    try:
        for c in cmds:
            kind, _, rest = c.partition(':')
            if kind == 'frame':
                parts = rest.split(':', 2)
                conn.sendall(build(int(parts[0]), int(parts[1], 16), parse_opts(parts[2] if len(parts) > 2 else '')))
            elif kind == 'raw':
                conn.sendall(bytes.fromhex(rest))
            elif kind == 'recv':
                for _ in range(int(rest or '1')):
                    recv_frame(conn)
            elif kind == 'halfclose':
                conn.shutdown(socket.SHUT_WR)  # TCP FIN, no close_notify
            elif kind == 'eof':
                # whatever comes (an alert, close_notify), the server must close
                conn.settimeout(8)
                try:
                    while conn.recv(4096):
                        pass
                    print('eof', flush=True)
                except (socket.timeout, TimeoutError):
                    print('open', flush=True)
                except (ssl.SSLError, OSError):
                    print('eof', flush=True)
            elif kind == 'sleep':
                time.sleep(float(rest))
    except (EOFError, ssl.SSLError, ConnectionError) as e:
        print('closed: %s' % (e or 'end of stream'), file=sys.stderr)
        return 1
    return 0

if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
