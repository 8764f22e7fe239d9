#!/usr/bin/env bash
# Install the Debian packages cdni needs to build, test, run its demo and
# benchmarks. Idempotent: installs only what is missing, runs apt-get update
# at most once. With --if-missing it stays silent when nothing is missing.
set -euo pipefail

PACKAGES=(
  build-essential pkg-config make perl
  libssl-dev openssl
  libmicrohttpd-dev libjansson-dev libldns-dev ldnsutils
  libcurl4-openssl-dev curl
  gnutls-bin
  nginx-light wrk
  procps iproute2 python3 python3-cryptography
  jq libxml2-utils
  nsd unbound bind9-dnsutils dnsperf
  trafficserver trafficserver-experimental-plugins
  libxml2-dev ffmpeg nodejs chromium
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed'; then
    missing+=("$p")
  fi
done

# npm comes with nodejs from some vendors (NodeSource); Debian ships it apart
command -v npm >/dev/null 2>&1 || missing+=(npm)

if [ ${#missing[@]} -eq 0 ]; then
  [ "${1:-}" = "--if-missing" ] || echo "deps: every package cdni needs is installed"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "deps: missing Debian packages: ${missing[*]}" >&2
  echo "deps: run 'sudo make deps' (or: sudo apt-get install ${missing[*]})" >&2
  exit 1
fi

echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
