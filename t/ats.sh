# cdni — Apache Traffic Server with its uri_signing plugin as a real RFC 9246
# peer, for system tests (sourced after t/lib.sh):
#   . "$CDNI_TOP/t/ats.sh"
#   ats_need                                   # skip_all unless installed
#   ats_start "map http://cdn.example/ http://$ORIGIN/ @plugin=uri_signing.so @pparam=$T/keys.json"
#   curl -H 'Host: cdn.example' "http://$ATS/path?URISigningPackage=..."
# Traffic Server runs unprivileged from a private runroot under $T/ats (no
# cache, one thread, the uri_signing debug tag on, crash helper off) and is
# stopped with the other daemons (its name in _pid is "ats"). Ready means its
# remap answers: the readiness probe asks for PROBE_PATH (default /) with
# Host PROBE_HOST (default cdn.example) and waits for PROBE_STATUS (a grep
# pattern; default any status).

ATS_PLUGIN=/usr/lib/trafficserver/modules/uri_signing.so

ats_need() {
	command -v traffic_server >/dev/null && [ -f "$ATS_PLUGIN" ] ||
		skip_all "Traffic Server with uri_signing is not installed (make deps)"
}

_ats_free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

_ats_runroot() {
	local a=$1 f
	mkdir -p "$a/etc" "$a/run" "$a/log" "$a/cache" "$a/var" "$a/share"
	cp -r /etc/trafficserver/body_factory /etc/trafficserver/ip_allow.yaml "$a/etc/"
	for f in cache.config hosting.config parent.config plugin.config socks.config splitdns.config \
		ssl_multicert.config storage.config volume.config sni.yaml strategies.yaml logging.yaml; do
		: >"$a/etc/$f"
	done
	cat >"$a/runroot.yaml" <<-EOF
	prefix: $a
	exec_prefix: $a
	bindir: /usr/bin
	sbindir: /usr/bin
	sysconfdir: $a/etc
	datadir: $a/share
	includedir: /usr/include
	libdir: /usr/lib/trafficserver
	libexecdir: /usr/lib/trafficserver/modules
	localstatedir: $a/var
	runtimedir: $a/run
	logdir: $a/log
	cachedir: $a/cache
	EOF
}

_ats_records() { # DIR PORT
	cat >"$1/etc/records.config" <<-EOF
	CONFIG proxy.config.http.server_ports STRING $2
	CONFIG proxy.config.admin.user_id STRING #-1
	CONFIG proxy.config.http.cache.http INT 0
	CONFIG proxy.config.url_remap.remap_required INT 1
	CONFIG proxy.config.log.logging_enabled INT 0
	CONFIG proxy.config.crash_log_helper STRING /bin/true
	CONFIG proxy.config.exec_thread.autoconfig INT 0
	CONFIG proxy.config.exec_thread.limit INT 1
	CONFIG proxy.config.accept_threads INT 0
	CONFIG proxy.config.task_threads INT 1
	CONFIG proxy.config.diags.debug.enabled INT 1
	CONFIG proxy.config.diags.debug.tags STRING uri_signing
	EOF
}

# ats_start REMAP_LINE... : start Traffic Server; sets ATS=127.0.0.1:PORT
ats_start() {
	local a=$T/ats port
	_ats_runroot "$a"
	printf '%s\n' "$@" >"$a/etc/remap.config"
	for _ in 1 2 3; do
		port=$(_ats_free_port)
		_ats_records "$a" "$port"
		TS_RUNROOT="$a/runroot.yaml" traffic_server >"$T/ats.out" 2>"$T/ats.err" &
		_pid[ats]=$!
		if wait_for 20 sh -c "curl -s -o /dev/null -w '%{http_code}' -H 'Host: ${PROBE_HOST:-cdn.example}' \
			http://127.0.0.1:$port${PROBE_PATH:-/} | grep -q '^${PROBE_STATUS:-[1-5]}'"; then
			ATS="127.0.0.1:$port"
			return 0
		fi
		kill_daemon ats
		diag "$(tail -n 5 "$T/ats.err")"
	done
	return 1
}

# ats_no_crash : Traffic Server wrote no crash log (call after stop_daemon ats)
ats_no_crash() { ! ls "$T/ats/log" | grep -q crash; }
