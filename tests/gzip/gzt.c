/* Shared helpers of the gzip suites (see gzt.h). */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gzt.h"
#include "harness.h"

void
bytes_free(struct bytes *b)
{
    free(b->p);
    b->p = NULL;
    b->n = 0;
}

static void *
xrealloc(void *p, size_t n)
{
    p = realloc(p, n != 0 ? n : 1);
    if (p == NULL)
        abort();
    return p;
}

struct bytes
read_file(const char *path)
{
    struct bytes b = {NULL, 0};

    b.p = harness_load(path, &b.n);
    return b;
}

struct bytes
read_src(const char *rel)
{
    struct bytes b = {NULL, 0};

    b.p = harness_load_src(rel, &b.n);
    return b;
}

uint32_t
ref_crc32(const uint8_t *p, size_t n)
{
    uint32_t c = 0xffffffffu;
    size_t i;
    int k;

    for (i = 0; i < n; i++) {
        c ^= p[i];
        for (k = 0; k < 8; k++)
            c = (c & 1) != 0 ? (c >> 1) ^ 0xedb88320u : c >> 1;
    }
    return ~c;
}

static uint32_t
rnd(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

struct bytes
data_random(size_t n, uint32_t seed)
{
    struct bytes b;
    size_t i;

    b.p = xrealloc(NULL, n);
    b.n = n;
    seed |= 1;
    for (i = 0; i < n; i++)
        b.p[i] = (uint8_t)(rnd(&seed) >> 11);
    return b;
}

struct bytes
data_repeat(size_t n, const char *unit)
{
    struct bytes b;
    size_t i, u = strlen(unit);

    b.p = xrealloc(NULL, n);
    b.n = n;
    for (i = 0; i < n; i++)
        b.p[i] = (uint8_t)unit[i % u];
    return b;
}

static const char *const words[] = {
    "the",    "policy", "mail",   "server", "transport", "security",
    "report", "strict", "domain", "host",   "sending",   "receiving",
    "TLS",    "MX",     "of",     "a",      "and",       "to",
    "cache",  "fetch",  "HTTPS",  "record", "is",        "not",
};

struct bytes
data_text(size_t n, uint32_t seed)
{
    struct bytes b;
    const char *w;
    size_t wl;

    b.p = xrealloc(NULL, n);
    b.n = 0;
    seed |= 1;
    while (b.n < n) {
        w = words[rnd(&seed) % (sizeof(words) / sizeof(words[0]))];
        wl = strlen(w);
        if (wl > n - b.n)
            wl = n - b.n;
        memcpy(b.p + b.n, w, wl);
        b.n += wl;
        if (b.n < n)
            b.p[b.n++] = (uint8_t)(rnd(&seed) % 13 == 0 ? '\n' : ' ');
    }
    return b;
}

static void
put(struct bytes *b, size_t *cap, const char *s)
{
    size_t l = strlen(s);

    while (b->n + l > *cap) {
        *cap = *cap != 0 ? *cap * 2 : 4096;
        b->p = xrealloc(b->p, *cap);
    }
    memcpy(b->p + b->n, s, l);
    b->n += l;
}

struct bytes
data_report(size_t n, unsigned details)
{
    static const char *const results[] = {
        "certificate-expired",    "starttls-not-supported",
        "validation-failure",     "certificate-host-mismatch",
        "sts-policy-fetch-error", "sts-webpki-invalid",
    };
    struct bytes b = {NULL, 0};
    size_t cap = 0;
    unsigned i;
    char tmp[1024];

    put(&b, &cap,
        "{\"organization-name\":\"Example Mail Inc.\",\"date-range\":{"
        "\"start-datetime\":\"2024-05-01T00:00:00Z\",\"end-datetime\":"
        "\"2024-05-01T23:59:59Z\"},\"contact-info\":"
        "\"tlsrpt@mail.example.net\",\"report-id\":"
        "\"2024-05-01T00:00:00Z_example.com\",\"policies\":[{\"policy\":{"
        "\"policy-type\":\"sts\",\"policy-string\":[\"version: STSv1\","
        "\"mode: enforce\",\"mx: mx1.example.com\",\"mx: "
        "mx2.example.com\",\"max_age: 604800\"],\"policy-domain\":"
        "\"example.com\",\"mx-host\":[\"mx1.example.com\","
        "\"mx2.example.com\"]},\"summary\":{"
        "\"total-successful-session-count\":52347,"
        "\"total-failure-session-count\":1290},\"failure-details\":[");
    for (i = 0; n == 0 ? i < details : b.n < n; i++) {
        snprintf(tmp, sizeof(tmp),
                 "%s{\"result-type\":\"%s\",\"sending-mta-ip\":"
                 "\"192.0.2.%u\",\"receiving-mx-hostname\":"
                 "\"mx%u.example.com\",\"receiving-ip\":\"198.51.100.%u\","
                 "\"failed-session-count\":%u,\"additional-information\":"
                 "\"https://reports.example.net/tlsrpt/%u\","
                 "\"failure-reason-code\":\"X509_V_ERR_%u\"}",
                 i == 0 ? "" : ",", results[(i * 7u) % 6u], i % 251u,
                 1u + i % 2u, (i * 37u) % 256u, 1u + (i * 7919u) % 1000u,
                 i * 104729u % 99991u, i % 17u);
        put(&b, &cap, tmp);
    }
    put(&b, &cap, "]}]}");
    return b;
}

void
bw_init(struct bitw *w)
{
    memset(w, 0, sizeof(*w));
}

void
bw_byte(struct bitw *w, uint8_t b)
{
    if (w->n == w->cap) {
        w->cap = w->cap != 0 ? w->cap * 2 : 1024;
        w->p = xrealloc(w->p, w->cap);
    }
    w->p[w->n++] = b;
}

void
bw_bits(struct bitw *w, uint32_t v, unsigned n)
{
    unsigned i;

    for (i = 0; i < n; i++) {
        w->bb |= ((v >> i) & 1u) << w->bc;
        if (++w->bc == 8) {
            bw_byte(w, (uint8_t)w->bb);
            w->bb = 0;
            w->bc = 0;
        }
    }
}

void
bw_code(struct bitw *w, uint32_t code, unsigned len)
{
    while (len-- > 0)
        bw_bits(w, (code >> len) & 1u, 1);
}

void
bw_align(struct bitw *w)
{
    if (w->bc > 0)
        bw_bits(w, 0, 8 - w->bc);
}

void
canon_codes(const uint8_t *lens, unsigned n, uint32_t *codes)
{
    uint32_t count[16] = {0}, next[16] = {0}, code = 0;
    unsigned i;

    for (i = 0; i < n; i++)
        count[lens[i]]++;
    count[0] = 0;
    for (i = 1; i < 16; i++) {
        code = (code + count[i - 1]) << 1;
        next[i] = code;
    }
    for (i = 0; i < n; i++)
        codes[i] = lens[i] != 0 ? next[lens[i]]++ : 0;
}

struct bytes
gz_wrap(const uint8_t *def, size_t n, uint32_t crc, uint32_t isize)
{
    static const uint8_t hdr[10] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3};
    struct bytes b;
    int i;

    b.n = 10 + n + 8;
    b.p = xrealloc(NULL, b.n);
    memcpy(b.p, hdr, 10);
    if (n > 0)
        memcpy(b.p + 10, def, n);
    for (i = 0; i < 4; i++) {
        b.p[10 + n + (size_t)i] = (uint8_t)(crc >> (8 * i));
        b.p[14 + n + (size_t)i] = (uint8_t)(isize >> (8 * i));
    }
    return b;
}

int
sys_gzip_available(void)
{
    return system("gzip -V >/dev/null 2>&1") == 0;
}

struct bytes
sys_gzip(const char *args, const uint8_t *in, size_t n)
{
    struct bytes out = {NULL, 0};
    char tmpl[] = "/tmp/gzt.XXXXXX", cmd[512];
    FILE *f;
    int fd;

    fd = mkstemp(tmpl);
    if (fd < 0)
        return out;
    f = fdopen(fd, "wb");
    if (f == NULL || fwrite(in, 1, n, f) != n) {
        if (f != NULL)
            fclose(f);
        unlink(tmpl);
        return out;
    }
    fclose(f);
    snprintf(cmd, sizeof(cmd), "gzip %s < %s", args, tmpl);
    f = popen(cmd, "r");
    if (f != NULL) {
        size_t cap = 0, got;

        for (;;) {
            if (out.n == cap) {
                cap = cap != 0 ? cap * 2 : 65536;
                out.p = xrealloc(out.p, cap);
            }
            got = fread(out.p + out.n, 1, cap - out.n, f);
            if (got == 0)
                break;
            out.n += got;
        }
        if (pclose(f) != 0)
            bytes_free(&out);
    }
    unlink(tmpl);
    return out;
}
