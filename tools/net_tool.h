/* What mtasts lookup and mtasts check share (net_tool.c); not installed.
 * The option parsing is always built; the rest only with libmtasts-net
 * (MTASTS_TOOL_NET). */
#ifndef MTASTS_TOOL_NET_TOOL_H
#define MTASTS_TOOL_NET_TOOL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "mtasts.h"

#define EXIT_TEMP     3 /* lookup/check: a temporary failure */
#define EXIT_INTERNAL 4 /* lookup/check: I/O error, out of memory */

/* The options of lookup (is_lookup 1) and check (0). */
struct netopts {
    int json, probe;
    const char *ca_file, *cache, *postfix;
    uint32_t postfix_version;
    char *dns_servers; /* the --dns-server values joined with ',' */
    const char **connect_to;
    size_t connect_to_count;
    uint32_t timeout_ms;
    int64_t now;
    int argc;
    char **argv; /* positional arguments */
};

/* Parse argv (after the command word). Returns 0, or the exit status
 * after printing why: 0 for --help (the usage went to stdout), else
 * EXIT_USAGE. netopts_free() after both. */
int netopts_parse(int argc, char **argv, int is_lookup, struct netopts *o,
                  int *ret_exit);
void netopts_free(struct netopts *o);

/* The usage of lookup / check, to f. */
void lookup_usage(FILE *f);
void check_usage(FILE *f);

/* exec.c, in mtasts only: print "mtasts: COMMAND needs libmtasts-net
 * (...)", why (built without it, or mtasts-net was not found: where
 * net_exec() looked), and return EXIT_INTERNAL. */
int net_missing(const char *command);

/* Check a domain argument (A-label domain, one trailing dot allowed);
 * writes its normalised form to a new string. Returns 0, or EXIT_USAGE
 * after printing why. */
int domain_arg(const char *what, const char *arg, char **ret_norm);

/* "null" or a JSON string, to stdout. */
void json_str_or_null(const char *s, size_t n);

/* malloc'd copy of s[0..n) plus a NUL; NULL when out of memory. */
char *nt_memdup(const char *s, size_t n);

#ifdef MTASTS_TOOL_NET
#include "mtasts_net.h"

/* A TXT answer copied out of the callback. */
struct nt_txt {
    int done;   /* the callback ran */
    int status; /* the callback's status (0 or negative) */
    int dns;    /* an mtasts_net_dns_status value */
    size_t rr_count, nstr;
    size_t *rr_nstr;
    char **strs;
    size_t *str_lens;
};
void nt_txt_free(struct nt_txt *t);
/* mtasts_net_txt_cb: user is a struct nt_txt. */
void nt_txt_cb(void *user, int status, const struct mtasts_net_txt *txt);
int nt_txt_copy(struct nt_txt *t, const struct mtasts_net_txt *src);
/* The records: JSON [["s1","s2"],["s3"]], or text "s1" "s2", "s3". */
void nt_txt_print(const struct nt_txt *t, int json);

/* A fetch result copied out of the callback. */
struct nt_fetch {
    int done, status;
    int transport, http_status, tls;
    char *content_type; /* NULL: no Content-Type */
    size_t content_type_len;
    char *body;
    size_t body_len;
    int64_t cert_not_after;
    int curl_code;
    long verify_result;
    char *error, *peer;
    uint32_t elapsed_ms;
    int resolve_status; /* an mtasts_net_dns_status value */
};
void nt_fetch_free(struct nt_fetch *f);
int nt_fetch_copy(struct nt_fetch *f, const struct mtasts_net_fetch *src);
/* mtasts_net_fetch_cb: user is a struct nt_fetch. */
void nt_fetch_cb(void *user, int status, const struct mtasts_net_fetch *fetch);

/* A probe result copied out of the callback. */
struct nt_probe {
    int done, status;
    int tls, connected;
    int64_t cert_not_after;
    int curl_code;
    long verify_result;
    char *tls_version, *error, *peer;
    int resolve_status; /* an mtasts_net_dns_status value */
    uint32_t elapsed_ms;
};
void nt_probe_free(struct nt_probe *p);
/* mtasts_net_probe_cb: user is a struct nt_probe. */
void nt_probe_cb(void *user, int status, const struct mtasts_net_probe *probe);
/* {"connected":...,"tls_version":...,"error":...,"peer":...,
 *  "cert_not_after":...}, or null when not probed. */
void nt_probe_json(const struct nt_probe *p);
/* "YYYY-MM-DD HH:MM:SS UTC" (the number when out of range). */
void nt_date(int64_t t, char *buf, size_t len);
/* " (tls_version, peer, error)" for text output. */
void nt_probe_text(const struct nt_probe *p);
/* 1 when the probe could not even resolve the host's address. */
int nt_probe_unresolved(const struct nt_probe *p);
/* 1 when the fetch could not resolve the policy host's address. */
int nt_fetch_unresolved(const struct nt_fetch *f);

/* MX hosts: the arguments, DNS, or the implicit MX. */
enum nt_mx_source {
    NT_MX_DNS = 0,
    NT_MX_ARGUMENT = 1,
    NT_MX_IMPLICIT = 2
};
struct nt_mx {
    char *host;
    size_t host_len;
    int preference; /* -1: none (an argument) */
    int source;     /* an nt_mx_source value */
    struct nt_probe probe;
    int probed;
};
struct nt_mxlist {
    int queried; /* an MX query was made */
    int done, status, dns;
    int null_mx;        /* RFC 7505 null MX */
    const char *domain; /* for the implicit MX */
    size_t n;
    struct nt_mx *v;
};
void nt_mxlist_free(struct nt_mxlist *l);
/* mtasts_net_mx_cb: user is a struct nt_mxlist (domain set). */
void nt_mx_cb(void *user, int status, const struct mtasts_net_mx *mx);
/* Add an MX host; 0 or MTASTS_ENOMEM. */
int nt_mxlist_add(struct nt_mxlist *l, const char *host, size_t len, int pref,
                  int source);
/* Start a STARTTLS probe of every MX; 0 or a negative status. */
int nt_mxlist_probe(mtasts_net *net, struct nt_mxlist *l);

/* The _smtp._tls record of a domain. */
struct nt_tlsrpt {
    char *name;
    struct nt_txt txt;
    int outcome; /* an mtasts_select_outcome value, -1: no DNS answer */
    mtasts_tlsrpt_record *rec;
    char *record; /* the selected (or invalid) record as published */
    size_t record_len;
    char *error; /* NULL when the record is usable */
};
/* Start the TXT query; 0, or a negative status. */
int nt_tlsrpt_start(mtasts_net *net, const char *domain, struct nt_tlsrpt *t);
/* Select and parse once the query is done; 0 or MTASTS_ENOMEM. */
int nt_tlsrpt_eval(mtasts_ctx *ctx, struct nt_tlsrpt *t);
void nt_tlsrpt_free(struct nt_tlsrpt *t);
/* The "tlsrpt" JSON object or the text lines. */
void nt_tlsrpt_print(const struct nt_tlsrpt *t, int json);

/* The handle of the options; 0, or the exit status after printing why. */
int nt_net_new(const struct netopts *o, mtasts_net **ret_net);

/* The "policy" JSON object, or null (id may be NULL: ""). */
void nt_policy_json(const mtasts_policy *p, const char *id, size_t id_len);

/* Stable names of the schema. */
const char *nt_dns_name(int dns);
const char *nt_transport_name(int transport);
const char *nt_tls_name(int tls);
#endif

#endif
