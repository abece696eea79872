/* The address grammar of the network options (addr.h). */
#include <arpa/inet.h>
#include <string.h>
#include <sys/socket.h>

#include "addr.h"

int
mtn_port_parse(const char *s, size_t n, int *ret_port)
{
    unsigned long v = 0;
    size_t i;

    if (n == 0 || n > 5)
        return -1;
    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (unsigned long)(s[i] - '0');
    }
    if (v == 0 || v > 65535)
        return -1;
    *ret_port = (int)v;
    return 0;
}

int
mtn_ip_parse(int af, const char *s, size_t n, void *ret_addr)
{
    unsigned char buf[16];
    char tmp[64];

    if (n == 0 || n >= sizeof(tmp))
        return -1;
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    if (inet_pton(af, tmp, buf) != 1)
        return -1;
    if (ret_addr != NULL)
        memcpy(ret_addr, buf, af == AF_INET ? 4 : 16);
    return 0;
}

int
mtn_server_parse(const char *s, size_t n, int *ret_family, void *ret_addr,
                 int *ret_port)
{
    const char *host = s, *port = NULL, *c;
    size_t host_len = n, colons = 0, i;
    int p = 0, af;

    if (n > 0 && s[0] == '[') {
        /* [IPv6] or [IPv6]:PORT */
        c = memchr(s, ']', n);
        if (c == NULL)
            return -1;
        host = s + 1;
        host_len = (size_t)(c - host);
        if (c + 1 < s + n) {
            if (c[1] != ':')
                return -1;
            port = c + 2;
        }
        af = AF_INET6;
    } else {
        /* one ':' is IPv4:PORT; more is a bare IPv6 address */
        for (i = 0; i < n; i++)
            if (s[i] == ':')
                colons++;
        if (colons == 1) {
            c = memchr(s, ':', n);
            host_len = (size_t)(c - s);
            port = c + 1;
        }
        af = colons <= 1 ? AF_INET : AF_INET6;
    }
    if (port != NULL && mtn_port_parse(port, (size_t)(s + n - port), &p) != 0)
        return -1;
    if (mtn_ip_parse(af, host, host_len, ret_addr) != 0)
        return -1;
    *ret_family = af;
    *ret_port = p;
    return 0;
}
