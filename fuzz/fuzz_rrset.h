/*
 * The RRset view of a fuzz input, shared by the two TXT record fuzzers:
 * byte 0x1E ends a resource record, byte 0x1F ends a character-string
 * inside one; both are removed from the strings. Plus the independent
 * oracle for which joined record is a candidate (E-2).
 */
#ifndef FUZZ_RRSET_H
#define FUZZ_RRSET_H

#include <stdlib.h>
#include <string.h>

#define RR_SEP  0x1e
#define STR_SEP 0x1f

/* The RRset view of the input. */
struct rrset {
    const char **strs;
    size_t *lens;
    size_t *nstr;
    size_t nrr;
    size_t total;
};

static void
rrset_split(const char *buf, size_t len, struct rrset *rs)
{
    size_t i, start = 0, seps = 0, cur = 0;

    for (i = 0; i < len; i++)
        if (buf[i] == RR_SEP || buf[i] == STR_SEP)
            seps++;
    rs->strs = calloc(seps + 1, sizeof(*rs->strs));
    rs->lens = calloc(seps + 1, sizeof(*rs->lens));
    rs->nstr = calloc(seps + 1, sizeof(*rs->nstr));
    if (rs->strs == NULL || rs->lens == NULL || rs->nstr == NULL)
        abort();
    rs->nrr = 0;
    rs->total = 0;
    for (i = 0; i <= len; i++) {
        if (i < len && buf[i] != RR_SEP && buf[i] != STR_SEP)
            continue;
        rs->strs[rs->total] = buf + start;
        rs->lens[rs->total] = i - start;
        rs->total++;
        cur++;
        if (i == len || buf[i] == RR_SEP) {
            rs->nstr[rs->nrr++] = cur;
            cur = 0;
        }
        start = i + 1;
    }
}

static void
rrset_free(struct rrset *rs)
{
    free(rs->strs);
    free(rs->lens);
    free(rs->nstr);
}

/* Joined text of record r (libc memory). */
static char *
rrset_join(const struct rrset *rs, size_t r, size_t *ret_len)
{
    size_t i, first = 0, len = 0, pos = 0;
    char *out;

    for (i = 0; i < r; i++)
        first += rs->nstr[i];
    for (i = 0; i < rs->nstr[r]; i++)
        len += rs->lens[first + i];
    out = malloc(len + 1);
    if (out == NULL)
        abort();
    for (i = 0; i < rs->nstr[r]; i++) {
        if (rs->lens[first + i] > 0)
            memcpy(out + pos, rs->strs[first + i], rs->lens[first + i]);
        pos += rs->lens[first + i];
    }
    out[len] = '\0';
    *ret_len = len;
    return out;
}

/* E-2: the version tag ("v=STSv1", "v=TLSRPTv1"), *WSP, ";" starts a
 * candidate. */
static int
rrset_candidate(const char *s, size_t n, const char *tag)
{
    size_t i, t = strlen(tag);

    if (n < t + 1 || memcmp(s, tag, t) != 0)
        return 0;
    for (i = t; i < n && (s[i] == ' ' || s[i] == '\t'); i++)
        ;
    return i < n && s[i] == ';';
}

#endif
