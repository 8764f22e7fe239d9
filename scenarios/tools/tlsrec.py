#!/usr/bin/env python3
"""Read a recorded TLS 1.2 handshake (cdni-onpath tcp ... RECORD) and show
what an edge with access to a key server could do with it (the paper's
security point: RSA key transport against signed Diffie-Hellman).

  tlsrec.py [-c IGNORED] cke RECORD OUT
      print the key exchange; for RSA key transport, write the encrypted
      premaster of the ClientKeyExchange to OUT (what the edge would send
      to the key server's decrypt operation) and exit 0; for (EC)DHE, say
      that there is nothing a key server could decrypt and exit 3
  tlsrec.py [-c IGNORED] ske RECORD TBS SIG [EDGE KS [CERT]]
      for a signed (EC)DHE handshake: narrate the draft's Figure 2 messages
      ("@flow" lines, for the scenario report), write what the server signed
      (client random + server random + the ServerKeyExchange's DH
      parameters) to TBS and its signature to SIG: what a keyless edge
      sends to the key server and what comes back; with CERT, also the
      server's certificate from the recorded Certificate message (DER), to
      verify the signature against
  tlsrec.py [-c IGNORED] master RECORD PREMASTER KEYLOG
      derive the master secret from a premaster (the key server's answer)
      and the recorded randoms and handshake (extended master secret when
      negotiated) and compare it with the client's key log: exit 0 when the
      recorded session's keys are recovered
  tlsrec.py [-c IGNORED] kslog AUDIT EDGELOG [EDGE KS]
      Figure 2's messages 3 and 4 as the nodes logged them: each private-key
      operation in the key server's audit log (AUDIT, one JSON object a
      line) beside the keyless edge's "[keyless] ... op 0xNN signed in N us"
      debug line (EDGELOG, cdni-dcdn -v), as "@flow" lines; exit 1 when
      either log has none
"""
import hashlib
import hmac
import json
import re
import sys

KX_RSA = {0x009c, 0x009d, 0x002f, 0x0035, 0x003c, 0x003d}


def records(data):
    """Handshake bytes before the first ChangeCipherSpec."""
    hs, i = b"", 0
    while i + 5 <= len(data):
        ctype, length = data[i], int.from_bytes(data[i + 3:i + 5], "big")
        if ctype == 20:
            break
        if ctype == 22:
            hs += data[i + 5:i + 5 + length]
        i += 5 + length
    return hs


def messages(hs):
    out, i = [], 0
    while i + 4 <= len(hs):
        t, n = hs[i], int.from_bytes(hs[i + 1:i + 4], "big")
        out.append((t, hs[i:i + 4 + n]))
        i += 4 + n
    return out


def load(record):
    c2s = messages(records(open(record + ".c2s", "rb").read()))
    s2c = messages(records(open(record + ".s2c", "rb").read()))
    ch = next(m for t, m in c2s if t == 1)
    sh = next(m for t, m in s2c if t == 2)
    cke = next((m for t, m in c2s if t == 16), None)
    sid_len = sh[4 + 34]
    suite = int.from_bytes(sh[4 + 35 + sid_len:4 + 37 + sid_len], "big")
    ext_at = 4 + 37 + sid_len + 1
    ems, j = False, ext_at + 2
    while j + 4 <= len(sh):
        et, el = int.from_bytes(sh[j:j + 2], "big"), int.from_bytes(sh[j + 2:j + 4], "big")
        ems |= et == 0x0017
        j += 4 + el
    transcript = b"".join([ch] + [m for t, m in s2c] + ([cke] if cke else []))
    return dict(client_random=ch[6:38], server_random=sh[6:38], suite=suite, cke=cke,
                ems=ems, transcript=transcript)


def prf(secret, label, seed, n):
    out, a = b"", label + seed
    while len(out) < n:
        a = hmac.new(secret, a, hashlib.sha256).digest()
        out += hmac.new(secret, a + label + seed, hashlib.sha256).digest()
    return out[:n]


def cmd_cke(record, out):
    r = load(record)
    print("cipher suite 0x%04x; client random %s" % (r["suite"], r["client_random"].hex()))
    if r["suite"] not in KX_RSA:
        print("key exchange: signed (EC)DHE. The ClientKeyExchange carries the client's public "
              "value (%d bytes); the premaster comes from a Diffie-Hellman computation that "
              "needs the client's or the edge's ephemeral private key. The key server only "
              "signed the server's parameters: nothing it holds or does decrypts this session."
              % (len(r["cke"]) - 5 if r["cke"] else 0))
        return 3
    enc = r["cke"][6:]
    open(out, "wb").write(enc)
    print("key exchange: RSA key transport. The ClientKeyExchange holds the premaster "
          "encrypted to the certificate's RSA key (%d bytes), written to %s: whoever gets "
          "it decrypted holds this session's keys" % (len(enc), out))
    return 0


CURVES = {23: "P-256", 24: "P-384", 25: "P-521", 29: "X25519", 30: "X448"}
SIGALGS = {0x0401: "rsa_pkcs1_sha256", 0x0501: "rsa_pkcs1_sha384", 0x0804: "rsa_pss_rsae_sha256",
           0x0403: "ecdsa_secp256r1_sha256"}


def leaf_cert(cert_msg):
    """The first certificate (DER) of a TLS 1.2 Certificate message."""
    n = int.from_bytes(cert_msg[7:10], "big")
    return cert_msg[10:10 + n]


def cmd_ske(record, tbs_out, sig_out, edge="edge", ks="ks", cert_out=None):
    c2s = messages(records(open(record + ".c2s", "rb").read()))
    s2c = messages(records(open(record + ".s2c", "rb").read()))
    r = load(record)
    ske = next((m for t, m in s2c if t == 12), None)
    cert = next((m for t, m in s2c if t == 11), None)
    if not ske:
        print("no ServerKeyExchange: not a signed (EC)DHE handshake")
        return 1
    body = ske[4:]
    plen = body[3]
    params = body[:4 + plen]
    alg = int.from_bytes(body[4 + plen:6 + plen], "big")
    slen = int.from_bytes(body[6 + plen:8 + plen], "big")
    sig = body[8 + plen:8 + plen + slen]
    ch = next(m for t, m in c2s if t == 1)
    nsuites = int.from_bytes(ch[4 + 35 + ch[4 + 34]:4 + 37 + ch[4 + 34]], "big") // 2
    sid = r["server_random"]
    print("@flow UA -> %s: 1. ClientHello | client random %s…, %d cipher suites" % (
        edge, r["client_random"].hex()[:16], nsuites))
    print("@flow %s --> UA: 2. ServerHello, Certificate | server random %s…, suite 0x%04x, "
          "certificate chain %d bytes" % (edge, sid.hex()[:16], r["suite"], len(cert) - 4 if cert else 0))
    print("@flow %s -> %s: 3. hash of client #, server #, DH params | %s, %d bytes to sign" % (
        edge, ks, SIGALGS.get(alg, "0x%04x" % alg), 64 + len(params)))
    print("@flow %s --> %s: 4. signature | %d bytes" % (ks, edge, len(sig)))
    print("@flow %s --> UA: 5. ServerKeyExchange: server DH parameter, signature | %s public value "
          "%d bytes" % (edge, CURVES.get(int.from_bytes(params[1:3], "big"), "curve"), plen))
    cke = r["cke"]
    print("@flow UA -> %s: 6. ClientKeyExchange: client DH parameter | %d bytes" % (
        edge, len(cke) - 5 if cke else 0))
    open(tbs_out, "wb").write(r["client_random"] + r["server_random"] + params)
    open(sig_out, "wb").write(sig)
    if cert_out and cert:
        open(cert_out, "wb").write(leaf_cert(cert))
        print("the server's certificate (%d bytes, DER) in %s" % (len(leaf_cert(cert)), cert_out))
    print("signature algorithm %s; signed data (%d bytes) in %s, the handshake's signature in %s" % (
        SIGALGS.get(alg, "0x%04x" % alg), 64 + len(params), tbs_out, sig_out))
    return 0


def cmd_master(record, premaster_file, keylog):
    r = load(record)
    pms = open(premaster_file, "rb").read()
    if r["ems"]:
        master = prf(pms, b"extended master secret", hashlib.sha256(r["transcript"]).digest(), 48)
    else:
        master = prf(pms, b"master secret", r["client_random"] + r["server_random"], 48)
    want = None
    for line in open(keylog):
        f = line.split()
        if len(f) == 3 and f[0] == "CLIENT_RANDOM" and f[1] == r["client_random"].hex():
            want = f[2]
    print("premaster from the key server: %d bytes, version %s" % (len(pms), pms[:2].hex()))
    print("master secret derived%s: %s" % (" (extended master secret)" if r["ems"] else "",
                                           master.hex()))
    print("master secret in the client's key log: %s" % want)
    if want == master.hex():
        print("RECOVERED: the recorded session's master secret, from one decrypt call")
        return 0
    print("not recovered")
    return 1


def cmd_kslog(audit, edgelog, edge="edge", ks="ks"):
    ops = [json.loads(l) for l in open(audit) if l.startswith("{")]
    ops = [o for o in ops if o.get("op") not in ("ping", None)]
    signed = [l.rstrip("\n") for l in open(edgelog) if "[keyless]" in l and " signed in " in l]
    for o in ops:
        print("key server audit: " + json.dumps(o, separators=(",", ":")))
    for l in signed:
        print("edge: " + l)
    for i, o in enumerate(ops):
        m = re.search(r"op (0x[0-9a-f]+) signed in (\d+) us", signed[i]) if i < len(signed) else None
        print("@flow %s -> %s: 3. %s request | op %s%s, SKI %s..., edge identity %s" % (
            edge, ks, "decrypt" if "decrypt" in o["op"] else "sign", o["op"],
            " (%s)" % m.group(1) if m else "", o.get("ski", "?")[:16], o.get("client")))
        print("@flow %s --> %s: 4. %s | %s; %d us at the key server%s" % (
            ks, edge, "signature" if "sign" in o["op"] else "answer", o.get("result"), o.get("dur_us", -1),
            ", %.1f ms at the edge (with the round trip)" % (int(m.group(2)) / 1000) if m else ""))
    return 0 if ops and signed else 1


if __name__ == "__main__":
    a = sys.argv[1:]
    if a[:1] == ["-c"]:
        a = a[2:]
    if a[0] == "cke":
        sys.exit(cmd_cke(a[1], a[2]))
    if a[0] == "ske":
        sys.exit(cmd_ske(*a[1:]))
    if a[0] == "kslog":
        sys.exit(cmd_kslog(*a[1:]))
    sys.exit(cmd_master(a[1], a[2], a[3]))
