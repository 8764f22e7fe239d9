/* cdni-dns — the socket side: one epoll loop per worker thread, each with
 * its own SO_REUSEPORT UDP socket (batched with recvmmsg/sendmmsg) and a
 * share of the TCP connections (one listener, EPOLLEXCLUSIVE), all on the
 * same address and port. The answer database is swapped in whole on reload
 * or re-signing; the old one is freed once every worker has moved on.
 * Health checks of the dCDNs run in their own thread. */
#ifndef CDNI_DNS_SERVER_H
#define CDNI_DNS_SERVER_H

#include <stddef.h>

#include "common/accesslog.h"
#include "dns/conf.h"
#include "dns/db.h"

struct dns_server;

/* Bind (UDP first, then TCP on the same port: port 0 works), start the
 * workers on db (taken over) and the health checks of conf's dCDNs. ready
 * gets "udp=IP:PORT tcp=IP:PORT". */
int dns_server_start(const struct dns_conf *conf, struct db *db, struct access_log *al,
		     struct dns_server **out, char *ready, size_t rlen, char *err, size_t errlen);
/* Put db (taken over) in service; returns once the old one is freed. The
 * health checks restart with conf (which must outlive the server or the
 * next swap). */
void dns_server_swap(struct dns_server *s, const struct dns_conf *conf, struct db *db);
/* The db in service (for the main thread only). */
const struct db *dns_server_db(const struct dns_server *s);
/* Stop the workers, close everything, free the db. */
void dns_server_stop(struct dns_server *s);

/* Health checks (health.c): one thread probing the dCDNs of db that have a
 * health address, setting their availability in db's policy. */
struct dns_health;
int dns_health_start(const struct dns_conf *conf, struct db *db, struct dns_health **out);
void dns_health_stop(struct dns_health *h);

#endif
