#!/usr/bin/env bash
# Generate the test PKI into OUTDIR (default build/pki). Nothing here is
# secret or committed: every run of a fresh clone makes its own.
#
#   ca.pem / ca.key            test root CA ("cdni test root")
#   csp-{rsa,ec}.{pem,key}     the content owner's certificate: csp.test, *.csp.test
#   ucdn-{rsa,ec}.{pem,key}    uCDN: ucdn.test, *.ucdn.test
#   dcdn-{rsa,ec}.{pem,key}    dCDN: dcdn.test, *.dcdn.test
#   dcdn2-{rsa,ec}.{pem,key}   second-level dCDN (cascades): dcdn2.test, *.dcdn2.test
#   origin-ec.{pem,key}        origin.csp.test, localhost, 127.0.0.1, ::1
#   ks-ca.{pem,key}            CA for the key-server link (mutual TLS)
#   ks-server.{pem,key}        key server: keyserver.test, localhost, 127.0.0.1
#   ks-client.{pem,key}        a dCDN edge's client certificate (CN=dcdn-edge)
#   ks-client2.{pem,key}       another client (CN=dcdn2-edge), for policy tests
#   rogue-ca.pem, rogue-*.pem  a CA nobody trusts, with a csp.test cert (negative tests)
# Each leaf also has NAME.chain.pem (leaf then CA).
set -euo pipefail
OUT=${1:-build/pki}
DAYS=825
mkdir -p "$OUT"
cd "$OUT"
umask 077
[ -f .done ] && exit 0

newkey() { # kind file
	case "$1" in
	rsa) openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$2" 2>/dev/null ;;
	ec) openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$2" 2>/dev/null ;;
	esac
}

mkca() { # name cn
	newkey ec "$1.key"
	openssl req -x509 -new -key "$1.key" -sha256 -days 3650 -subj "/O=cdni test/CN=$2" \
		-addext "basicConstraints=critical,CA:TRUE" \
		-addext "keyUsage=critical,keyCertSign,cRLSign" -out "$1.pem"
}

leaf() { # ca name kind cn san usage
	local ca=$1 name=$2 kind=$3 cn=$4 san=$5 eku=$6
	newkey "$kind" "$name.key"
	openssl req -new -key "$name.key" -subj "/O=cdni test/CN=$cn" -out "$name.csr"
	printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=%s\nsubjectAltName=%s\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n' \
		"$eku" "$san" >"$name.ext"
	openssl x509 -req -in "$name.csr" -CA "$ca.pem" -CAkey "$ca.key" -CAcreateserial \
		-days "$DAYS" -sha256 -extfile "$name.ext" -out "$name.pem" 2>/dev/null
	cat "$name.pem" "$ca.pem" >"$name.chain.pem"
	rm -f "$name.csr" "$name.ext"
}

mkca ca "cdni test root"
for kind in rsa ec; do
	leaf ca "csp-$kind" $kind csp.test "DNS:csp.test,DNS:*.csp.test" serverAuth
	leaf ca "ucdn-$kind" $kind ucdn.test "DNS:ucdn.test,DNS:*.ucdn.test" serverAuth
	leaf ca "dcdn-$kind" $kind dcdn.test "DNS:dcdn.test,DNS:*.dcdn.test" serverAuth
	leaf ca "dcdn2-$kind" $kind dcdn2.test "DNS:dcdn2.test,DNS:*.dcdn2.test" serverAuth
done
leaf ca origin-ec ec origin.csp.test "DNS:origin.csp.test,DNS:localhost,IP:127.0.0.1,IP:::1" serverAuth

mkca ks-ca "cdni key-server CA"
leaf ks-ca ks-server ec keyserver.test "DNS:keyserver.test,DNS:localhost,IP:127.0.0.1" serverAuth
leaf ks-ca ks-client ec dcdn-edge "DNS:dcdn-edge" clientAuth
leaf ks-ca ks-client2 ec dcdn2-edge "DNS:dcdn2-edge" clientAuth

mkca rogue-ca "rogue root"
leaf rogue-ca rogue-csp ec csp.test "DNS:csp.test,DNS:*.csp.test" serverAuth

rm -f ./*.srl
chmod 0644 ./*.pem
touch .done
echo "pki: test PKI written to $OUT"
