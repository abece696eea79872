/*
 * The address grammar the network options share (libc only): what
 * libmtasts-net's dns_servers takes (net/dns.c) and what mtasts lookup,
 * mtasts-tlsrptd and their option parsers check before they hand it over.
 * Compiled into libmtasts-net and into each program that checks options
 * (not exported from the library).
 */
#ifndef MTN_ADDR_H
#define MTN_ADDR_H

#include <stddef.h>

/* A port: 1 to 5 decimal digits, 1-65535. 0 with *ret_port set, or -1. */
int mtn_port_parse(const char *s, size_t n, int *ret_port);

/* An IP address of family af (AF_INET or AF_INET6) in s[0..n): 0 with
 * its bytes in ret_addr (4 or 16; may be NULL), or -1. */
int mtn_ip_parse(int af, const char *s, size_t n, void *ret_addr);

/* One DNS server: IP, IP:PORT, IPv6, [IPv6] or [IPv6]:PORT. 0 with the
 * family, the address (16 bytes of room; may be NULL) and the port (0
 * when none is given), or -1. */
int mtn_server_parse(const char *s, size_t n, int *ret_family, void *ret_addr,
                     int *ret_port);

/* The same as yes/no, for option checks. */
static inline int
mtn_port_ok(const char *s, size_t n)
{
    int port;

    return mtn_port_parse(s, n, &port) == 0;
}

static inline int
mtn_ip_ok(int af, const char *s, size_t n)
{
    return mtn_ip_parse(af, s, n, NULL) == 0;
}

static inline int
mtn_server_ok(const char *s, size_t n)
{
    int family, port;

    return mtn_server_parse(s, n, &family, NULL, &port) == 0;
}

#endif
