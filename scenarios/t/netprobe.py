#!/usr/bin/env python3
"""Probes for scenarios/t/topology.t, run inside a scenario's hosts.

  netprobe.py [-c IGNORED] echo ADDR   UDP echo server: prints a readiness line
                                 ("netprobe ready udp=ADDR:PORT") on stderr,
                                 exits 0 on SIGTERM
  netprobe.py rtt ADDR:PORT N    N sequential probes; prints JSON
                                 {"median","min","max","p90","lost"} in ms
  netprobe.py loss ADDR:PORT N   N probes 2 ms apart, replies collected
                                 asynchronously; prints {"sent","received"}
"""
import json
import signal
import socket
import statistics
import sys
import time


def echo(addr):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((addr, 0))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print("netprobe ready udp=%s:%d" % s.getsockname(), file=sys.stderr, flush=True)
    while True:
        data, peer = s.recvfrom(2048)
        s.sendto(data, peer)


def target(spec):
    host, port = spec.rsplit(":", 1)
    return host, int(port)


def rtt(spec, n):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(1.0)
    rtts, lost = [], 0
    for i in range(n):
        msg = b"%d" % i
        t0 = time.monotonic()
        s.sendto(msg, target(spec))
        try:
            while s.recv(2048) != msg:
                pass
            rtts.append((time.monotonic() - t0) * 1000)
        except socket.timeout:
            lost += 1
    rtts.sort()
    print(json.dumps({"median": statistics.median(rtts), "min": rtts[0], "max": rtts[-1],
                      "p90": rtts[int(len(rtts) * 0.9) - 1], "lost": lost}))


def loss(spec, n):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setblocking(False)
    got = set()
    def drain():
        while True:
            try:
                got.add(s.recv(2048))
            except BlockingIOError:
                return
    for i in range(n):
        s.sendto(b"%d" % i, target(spec))
        drain()
        time.sleep(0.002)
    end = time.monotonic() + 1.0
    while time.monotonic() < end:
        drain()
        time.sleep(0.01)
    print(json.dumps({"sent": n, "received": len(got)}))


if __name__ == "__main__":
    args = sys.argv[1:]
    if args[:1] == ["-c"]:  # started as a scenario node: -c CONFIG, then "args"
        args = args[2:]
    if args[0] == "echo":
        echo(args[1])
    elif args[0] == "rtt":
        rtt(args[1], int(args[2]))
    else:
        loss(args[1], int(args[2]))
