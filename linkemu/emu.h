/* cdni-linkemu — emulated point-to-point links between network namespaces.
 *
 * Each link has two ends; each end is a TUN device (IP packets, no
 * Ethernet header, so no ARP) created inside a network namespace: the
 * emulator enters the namespace (setns on its /var/run/netns file, in the
 * emulator's own thread), opens /dev/net/tun there, and returns. A packet
 * the kernel sends into one end is read by the emulator, put through that
 * direction's queue (linkq.h: loss, rate, delay) and written into the other
 * end when due. One thread serves every link: epoll on the TUN descriptors,
 * and one timerfd armed (absolute, CLOCK_MONOTONIC) at the earliest
 * departure. The devices are created down and without addresses: the
 * caller configures them (ip link set up, routes). They vanish with the
 * emulator (not persistent). */
#ifndef CDNI_LINKEMU_EMU_H
#define CDNI_LINKEMU_EMU_H

#include <stddef.h>

#include "common/conf.h"

struct emu_end {
	char *netns; /* path of a network namespace file; NULL: the emulator's own */
	char *dev;   /* device name, 1..15 bytes */
};

struct emu_link {
	char *name;
	struct emu_end a, b;
	long long delay_us;   /* one way, each direction */
	long long rate_kbit;  /* each direction; 0: unlimited */
	long long loss_ppm;   /* each direction */
	long long limit;      /* queue capacity in packets */
	long long seed;       /* loss draws; 0: from the name */
};

struct emu_conf {
	struct conf_list links; /* struct emu_link */
	long long mtu;
};

extern const struct conf_item emu_conf_table[];

/* Extra checks for a loaded config (names, device name lengths). */
int emu_conf_check(const struct emu_conf *c, char *err, size_t errlen);

struct emu;
/* Create every device and start the thread. */
int emu_start(const struct emu_conf *c, struct emu **out, char *err, size_t errlen);
/* Stop the thread, log each direction's counters, close the devices. */
void emu_stop(struct emu *e);

#endif
