/*
 * mtasts lookup [--json] [--probe] [--postfix VERSION] [--cache FILE]
 *     [--dns-server IP[:PORT]]... [--ca-file FILE]
 *     [--connect-to HOST:PORT:HOST2:PORT2]... [--timeout SECONDS]
 *     DOMAIN [MX...]
 *
 * A live discovery through libmtasts-net: each I/O step, the policy and
 * where it came from, the _smtp._tls record, and for every MX (the
 * arguments, else DNS) deliver or skip with the RFC 8460 result type;
 * then the Postfix and Exim answers. The JSON form is the stable schema
 * of mtasts(1), LOOKUP JSON.
 *
 * Exit: 0 policy applied, 1 no policy, 2 usage, 3 temporary failure,
 * 4 internal (I/O, out of memory, built without libmtasts-net).
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mtasts.h"
#include "net_tool.h"
#include "text.h"
#include "tool.h"

/* "[...]": an address literal, which the lookup itself accepts. */
static int
is_literal(const char *s)
{
    size_t n = strlen(s);

    return n >= 2 && s[0] == '[' && s[n - 1] == ']';
}

#ifdef MTASTS_TOOL_NET

/* One I/O step of the discovery, copied. */
struct lstep {
    int kind; /* an mtasts_net_step_kind value */
    char *name;
    size_t name_len;
    struct nt_txt txt;
    struct nt_fetch fetch;
};

struct lk {
    mtasts_ctx *ctx;
    const struct netopts *o;
    const char *domain; /* normalised, or the address literal */
    int literal;
    mtasts_net *net;
    mtasts_lookup *lookup;
    uint8_t *old_entry, *new_entry;
    size_t old_len, new_len;
    struct lstep *steps;
    size_t nsteps;
    int oom;
    struct nt_tlsrpt tlsrpt;
    int have_tlsrpt;
    struct nt_mxlist mx;
    mtasts_entry *entry; /* the entry in force, for the id */
    char *postfix;
};

static void
step_cb(void *user, const struct mtasts_net_step *step)
{
    struct lk *s = user;
    struct lstep *nv, *st;
    int rc = MTASTS_OK;

    if (s->oom)
        return;
    nv = realloc(s->steps, (s->nsteps + 1) * sizeof(*nv));
    if (nv == NULL) {
        s->oom = 1;
        return;
    }
    s->steps = nv;
    st = &nv[s->nsteps];
    memset(st, 0, sizeof(*st));
    st->kind = step->kind;
    st->name = nt_memdup(step->name ? step->name : "",
                         step->name ? step->name_len : 0);
    st->name_len = step->name ? step->name_len : 0;
    if (st->name == NULL) {
        s->oom = 1;
        return;
    }
    s->nsteps++;
    if (step->kind == MTASTS_NET_STEP_TXT && step->txt != NULL) {
        st->txt.done = 1;
        rc = nt_txt_copy(&st->txt, step->txt);
    } else if (step->kind == MTASTS_NET_STEP_FETCH && step->fetch != NULL) {
        st->fetch.done = 1;
        rc = nt_fetch_copy(&st->fetch, step->fetch);
    }
    if (rc != MTASTS_OK)
        s->oom = 1;
}

static void
lk_free(struct lk *s)
{
    size_t i;

    /* the handle first: it cancels what still runs into our structs */
    mtasts_net_free(s->net);
    for (i = 0; i < s->nsteps; i++) {
        free(s->steps[i].name);
        nt_txt_free(&s->steps[i].txt);
        nt_fetch_free(&s->steps[i].fetch);
    }
    free(s->steps);
    mtasts_lookup_free(s->lookup);
    free(s->old_entry);
    free(s->new_entry);
    if (s->have_tlsrpt)
        nt_tlsrpt_free(&s->tlsrpt);
    nt_mxlist_free(&s->mx);
    mtasts_entry_free(s->entry);
    free(s->postfix);
}

static int
oom(void)
{
    fputs("mtasts: out of memory\n", stderr);
    return EXIT_INTERNAL;
}

/* The cache file: a missing file is no entry. */
static int
cache_read(struct lk *s)
{
    const char *path = s->o->cache;
    FILE *f;
    char *buf;

    if (path == NULL)
        return 0;
    f = fopen(path, "rb");
    if (f == NULL) {
        if (errno == ENOENT)
            return 0;
        fputs("mtasts: --cache ", stderr);
        text_puts(stderr, path);
        fprintf(stderr, ": %s\n", strerror(errno));
        return EXIT_INTERNAL;
    }
    fclose(f);
    buf = read_file(
        path, mtasts_ctx_get_limit(s->ctx, MTASTS_LIMIT_POLICY_SIZE) + 544,
        &s->old_len);
    if (buf == NULL)
        return EXIT_INTERNAL;
    s->old_entry = (uint8_t *)buf;
    return 0;
}

/* Write the entry to path atomically: a temporary file in the same
 * directory, then rename(). */
static int
cache_write(const char *path, const uint8_t *buf, size_t len)
{
    size_t n = strlen(path), off = 0;
    char *tmp = malloc(n + 8);
    ssize_t w;
    int fd, ok = 0;

    if (tmp == NULL)
        return oom();
    memcpy(tmp, path, n);
    /* mkstemp(3)'s template: the six X are replaced by a unique suffix
     * (8 bytes: the dot, six X, the NUL) */
    memcpy(tmp + n, ".XXXXXX", 8);
    fd = mkstemp(tmp);
    if (fd < 0)
        goto fail;
    while (off < len) {
        w = write(fd, buf + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    ok = off == len && fsync(fd) == 0;
    if (close(fd) != 0)
        ok = 0;
    if (ok && rename(tmp, path) == 0) {
        free(tmp);
        return 0;
    }
    ok = errno;
    (void)unlink(tmp);
    errno = ok;
fail:
    fputs("mtasts: --cache ", stderr);
    text_puts(stderr, path);
    fprintf(stderr, ": cannot store the entry: %s\n", strerror(errno));
    free(tmp);
    return EXIT_INTERNAL;
}

/* The entry action on the cache file. */
static int
cache_apply(struct lk *s)
{
    const char *path = s->o->cache;

    if (path == NULL)
        return 0;
    switch (mtasts_lookup_entry_action(s->lookup)) {
    case MTASTS_ENTRY_ACTION_STORE:
        return cache_write(path, s->new_entry, s->new_len);
    case MTASTS_ENTRY_ACTION_DELETE:
        if (unlink(path) == 0 || errno == ENOENT)
            return 0;
        fputs("mtasts: --cache ", stderr);
        text_puts(stderr, path);
        fprintf(stderr, ": cannot delete the entry: %s\n", strerror(errno));
        return EXIT_INTERNAL;
    default:
        return 0;
    }
}

/* The new entry's bytes, and the entry in force (for the policy id). */
static int
entries(struct lk *s)
{
    size_t need = 0;
    int rc;

    if (mtasts_lookup_entry_action(s->lookup) == MTASTS_ENTRY_ACTION_STORE) {
        rc = mtasts_lookup_entry(s->lookup, NULL, 0, &need);
        if (rc != MTASTS_ERANGE && rc != MTASTS_OK)
            return rc == MTASTS_NONE ? MTASTS_OK : rc;
        s->new_entry = malloc(need + 1);
        if (s->new_entry == NULL)
            return MTASTS_ENOMEM;
        rc = mtasts_lookup_entry(s->lookup, s->new_entry, need + 1, NULL);
        if (rc != MTASTS_OK)
            return rc;
        s->new_len = need;
        rc = mtasts_entry_decode(s->ctx, s->new_entry, need, &s->entry, NULL);
    } else if (s->old_entry != NULL &&
               mtasts_lookup_entry_error(s->lookup) == MTASTS_OK) {
        rc = mtasts_entry_decode(s->ctx, s->old_entry, s->old_len, &s->entry,
                                 NULL);
    } else {
        return MTASTS_OK;
    }
    return rc == MTASTS_ENOMEM ? rc : MTASTS_OK;
}

static int
postfix_answer(struct lk *s)
{
    const mtasts_policy *pol = mtasts_lookup_policy(s->lookup);
    unsigned flags = 0;
    size_t need = 0, n = strlen(s->domain);
    int rc;

    if (mtasts_lookup_outcome(s->lookup) == MTASTS_OUTCOME_TEMPFAIL) {
        flags = MTASTS_POSTFIX_F_TEMP;
        pol = NULL;
    }
    rc = mtasts_postfix_answer_format(pol, s->domain, n, s->o->postfix_version,
                                      flags, NULL, 0, &need);
    if (rc == MTASTS_ESYNTAX || rc == MTASTS_ENONASCII ||
        rc == MTASTS_ETOOBIG) {
        /* not a domain (an address literal): no policy applies */
        s->postfix = nt_memdup("NOTFOUND ", 9);
        return s->postfix != NULL ? MTASTS_OK : MTASTS_ENOMEM;
    }
    if (rc != MTASTS_ERANGE && rc != MTASTS_OK)
        return rc;
    s->postfix = malloc(need + 1);
    if (s->postfix == NULL)
        return MTASTS_ENOMEM;
    return mtasts_postfix_answer_format(pol, s->domain, n,
                                        s->o->postfix_version, flags,
                                        s->postfix, need + 1, NULL);
}

static const char *
outcome_name(int outcome)
{
    switch (outcome) {
    case MTASTS_OUTCOME_APPLY:
        return "apply";
    case MTASTS_OUTCOME_NO_ACTIVE_POLICY:
        return "no_active_policy";
    case MTASTS_OUTCOME_TEMPFAIL:
        return "tempfail";
    default:
        return "no_policy";
    }
}

static const char *
source_name(const mtasts_lookup *lk)
{
    if (mtasts_lookup_policy(lk) == NULL)
        return "none";
    return mtasts_lookup_from_cache(lk) ? "cache" : "fetch";
}

static const char *
action_name(int action)
{
    switch (action) {
    case MTASTS_ENTRY_ACTION_STORE:
        return "store";
    case MTASTS_ENTRY_ACTION_DELETE:
        return "delete";
    default:
        return "unchanged";
    }
}

static const char *
mx_source_name(int source)
{
    return source == NT_MX_ARGUMENT   ? "argument"
           : source == NT_MX_IMPLICIT ? "implicit"
                                      : "dns";
}

/* The Exim readsocket line. */
static void
exim_line(const mtasts_lookup *lk, int json)
{
    const mtasts_policy *pol = mtasts_lookup_policy(lk);
    const char *s;
    size_t i, l;

    if (mtasts_lookup_outcome(lk) == MTASTS_OUTCOME_TEMPFAIL) {
        fputs(json ? "\"tempfail\"" : "tempfail", stdout);
        return;
    }
    if (mtasts_lookup_outcome(lk) != MTASTS_OUTCOME_APPLY || pol == NULL) {
        fputs(json ? "\"none\"" : "none", stdout);
        return;
    }
    /* the patterns are checked host names: no quoting is needed inside */
    if (json)
        putchar('"');
    fputs(mtasts_mode_name(mtasts_policy_mode(pol)), stdout);
    for (i = 0; i < mtasts_policy_mx_count(pol); i++) {
        s = mtasts_policy_mx(pol, i, &l);
        putchar(' ');
        text_put(stdout, s, l);
    }
    if (json)
        putchar('"');
}

static void
print_steps(const struct lk *s, int json)
{
    const struct lstep *st;
    const struct nt_fetch *f;
    size_t i;

    for (i = 0; i < s->nsteps; i++) {
        st = &s->steps[i];
        f = &st->fetch;
        if (json && i > 0)
            putchar(',');
        if (st->kind == MTASTS_NET_STEP_TXT) {
            if (json) {
                fputs("{\"kind\":\"txt\",\"name\":", stdout);
                json_str(st->name, st->name_len);
                printf(",\"dns\":\"%s\",\"records\":",
                       nt_dns_name(st->txt.dns));
                nt_txt_print(&st->txt, 1);
                putchar('}');
            } else {
                fputs("txt ", stdout);
                text_put(stdout, st->name, st->name_len);
                printf(": %s", nt_dns_name(st->txt.dns));
                nt_txt_print(&st->txt, 0);
                putchar('\n');
            }
            continue;
        }
        if (json) {
            fputs("{\"kind\":\"fetch\",\"url\":", stdout);
            json_str(st->name, st->name_len);
            printf(",\"transport\":\"%s\",\"http_status\":%d,"
                   "\"content_type\":",
                   nt_transport_name(f->transport), f->http_status);
            json_str_or_null(f->content_type, f->content_type_len);
            printf(",\"body_size\":%zu,\"tls\":\"%s\",\"error\":", f->body_len,
                   nt_tls_name(f->tls));
            json_cstr(f->error ? f->error : "");
            fputs(",\"peer\":", stdout);
            json_cstr(f->peer ? f->peer : "");
            printf(",\"elapsed_ms\":%lu}", (unsigned long)f->elapsed_ms);
            continue;
        }
        fputs("fetch ", stdout);
        text_put(stdout, st->name, st->name_len);
        printf(": %s %d ", nt_transport_name(f->transport), f->http_status);
        if (f->content_type != NULL)
            text_put(stdout, f->content_type, f->content_type_len);
        else
            putchar('-');
        printf(" %zu bytes %lu ms", f->body_len, (unsigned long)f->elapsed_ms);
        if (f->tls != MTASTS_TLS_OK && f->tls != MTASTS_TLS_NOT_TRIED)
            printf(" tls=%s", nt_tls_name(f->tls));
        if (f->peer != NULL && f->peer[0] != '\0') {
            fputs(" peer=", stdout);
            text_puts(stdout, f->peer);
        }
        if (f->error != NULL && f->error[0] != '\0') {
            fputs(": ", stdout);
            text_puts(stdout, f->error);
        }
        putchar('\n');
    }
}

static void
print_mx(const struct lk *s, int json)
{
    const mtasts_policy *pol = mtasts_lookup_policy(s->lookup);
    const struct nt_mx *m;
    const char *rtn;
    size_t i;
    int tls, action, rt, reason;

    if (!json && s->mx.queried && s->mx.dns != MTASTS_NET_DNS_OK)
        printf("mx dns: %s%s\n", nt_dns_name(s->mx.dns),
               s->mx.n > 0 ? " (the domain itself is the MX)" : "");
    if (!json && s->mx.null_mx)
        puts("mx: null MX (the domain accepts no mail)");
    for (i = 0; i < s->mx.n; i++) {
        m = &s->mx.v[i];
        tls = m->probed ? m->probe.tls : MTASTS_TLS_NOT_TRIED;
        (void)mtasts_decide(pol, m->host, m->host_len, tls,
                            MTASTS_DANE_NOT_USED, 0, &action, &rt, &reason);
        rtn = mtasts_result_type_name(rt);
        if (json) {
            if (i > 0)
                putchar(',');
            fputs("{\"host\":", stdout);
            json_str(m->host, m->host_len);
            if (m->preference >= 0)
                printf(",\"preference\":%d", m->preference);
            else
                fputs(",\"preference\":null", stdout);
            printf(",\"source\":\"%s\",\"action\":\"%s\",\"reason\":\"%s\","
                   "\"result_type\":",
                   mx_source_name(m->source),
                   action == MTASTS_DELIVER ? "deliver" : "skip",
                   mtasts_decide_reason_name(reason));
            if (rtn != NULL)
                printf("\"%s\"", rtn);
            else
                fputs("null", stdout);
            printf(",\"tls\":\"%s\",\"probe\":", nt_tls_name(tls));
            nt_probe_json(m->probed ? &m->probe : NULL);
            putchar('}');
            continue;
        }
        fputs("mx ", stdout);
        text_put(stdout, m->host, m->host_len);
        if (m->preference < 0)
            fputs(" (argument)", stdout);
        else
            printf(" (%d%s)", m->preference,
                   m->source == NT_MX_IMPLICIT ? ", implicit" : "");
        printf(": %s %s", action == MTASTS_DELIVER ? "deliver" : "skip",
               mtasts_decide_reason_name(reason));
        if (rtn != NULL)
            printf(" [%s]", rtn);
        if (m->probed) {
            printf(" tls=%s", nt_tls_name(tls));
            nt_probe_text(&m->probe);
        }
        putchar('\n');
    }
}

static void
print_policy_text(const struct lk *s)
{
    const mtasts_policy *pol = mtasts_lookup_policy(s->lookup);
    const char *id = "";
    size_t l = 0;

    if (pol == NULL)
        return;
    if (s->entry != NULL)
        id = mtasts_entry_id(s->entry, &l);
    text_field(stdout, "id", id, l);
    printf("source: %s\n", source_name(s->lookup));
    print_policy_fields(pol, 0);
    text_warnings(mtasts_policy_warnings(pol));
}

static void
print_json(const struct lk *s)
{
    const mtasts_lookup *lk = s->lookup;
    const char *rtn = mtasts_result_type_name(mtasts_lookup_result_type(lk));
    const char *id = NULL, *why;
    size_t l = 0;
    int ee = mtasts_lookup_entry_error(lk);

    fputs("{\"domain\":", stdout);
    json_cstr(s->domain);
    fputs(",\"steps\":[", stdout);
    print_steps(s, 1);
    printf("],\"outcome\":\"%s\",\"why\":",
           outcome_name(mtasts_lookup_outcome(lk)));
    why = mtasts_why_name(mtasts_lookup_why(lk));
    json_str_or_null(why, why ? strlen(why) : 0);
    printf(",\"source\":\"%s\",\"result_type\":", source_name(lk));
    if (rtn != NULL)
        printf("\"%s\"", rtn);
    else
        fputs("null", stdout);
    printf(",\"alert\":%s,\"policy\":",
           mtasts_lookup_alert(lk) ? "true" : "false");
    if (s->entry != NULL)
        id = mtasts_entry_id(s->entry, &l);
    nt_policy_json(mtasts_lookup_policy(lk), id, l);
    fputs(",\"cache\":{\"file\":", stdout);
    json_str_or_null(s->o->cache, s->o->cache ? strlen(s->o->cache) : 0);
    printf(",\"action\":\"%s\",\"entry_error\":",
           action_name(mtasts_lookup_entry_action(lk)));
    if (ee != MTASTS_OK)
        printf("\"%s\"", mtasts_status_name(ee));
    else
        fputs("null", stdout);
    fputs("},\"tlsrpt\":", stdout);
    if (s->have_tlsrpt)
        nt_tlsrpt_print(&s->tlsrpt, 1);
    else
        fputs("null", stdout);
    fputs(",\"mx_dns\":", stdout);
    if (s->mx.queried)
        printf("\"%s\"", nt_dns_name(s->mx.dns));
    else
        fputs("null", stdout);
    fputs(",\"mx\":[", stdout);
    print_mx(s, 1);
    fputs("],\"postfix\":", stdout);
    json_str_or_null(s->postfix, s->postfix ? strlen(s->postfix) : 0);
    fputs(",\"exim\":", stdout);
    exim_line(lk, 1);
    fputs("}\n", stdout);
}

static void
print_text(const struct lk *s)
{
    const mtasts_lookup *lk = s->lookup;
    const char *rtn = mtasts_result_type_name(mtasts_lookup_result_type(lk));
    const char *why;
    int ee = mtasts_lookup_entry_error(lk);

    print_steps(s, 0);
    print_policy_text(s);
    why = mtasts_why_name(mtasts_lookup_why(lk));
    printf("outcome: %s why=%s\n", outcome_name(mtasts_lookup_outcome(lk)),
           why ? why : "-");
    if (rtn != NULL)
        printf("result_type: %s\n", rtn);
    if (mtasts_lookup_alert(lk))
        puts("alert: a fetch failed while a policy is cached");
    if (ee != MTASTS_OK)
        printf("cache: the stored entry was ignored (%s)\n",
               mtasts_status_name(ee));
    if (s->o->cache != NULL) {
        fputs("cache ", stdout);
        text_puts(stdout, s->o->cache);
        printf(": %s\n", action_name(mtasts_lookup_entry_action(lk)));
    }
    if (s->have_tlsrpt)
        nt_tlsrpt_print(&s->tlsrpt, 0);
    print_mx(s, 0);
    if (s->postfix != NULL) {
        fputs("postfix: ", stdout);
        text_puts(stdout, s->postfix);
        putchar('\n');
    }
    fputs("exim: ", stdout);
    exim_line(lk, 0);
    putchar('\n');
}

/* The MX arguments, or the MX query (started). */
static int
mx_setup(struct lk *s)
{
    const struct netopts *o = s->o;
    int i, rc;

    for (i = 1; i < o->argc; i++) {
        rc = nt_mxlist_add(&s->mx, o->argv[i], strlen(o->argv[i]), -1,
                           NT_MX_ARGUMENT);
        if (rc != MTASTS_OK)
            return rc;
    }
    if (o->argc > 1 || s->literal)
        return MTASTS_OK;
    s->mx.queried = 1;
    s->mx.domain = s->domain;
    return mtasts_net_mx_start(s->net, s->domain, strlen(s->domain), nt_mx_cb,
                               &s->mx);
}

static int
exit_status(const mtasts_lookup *lk)
{
    switch (mtasts_lookup_outcome(lk)) {
    case MTASTS_OUTCOME_APPLY:
        return 0;
    case MTASTS_OUTCOME_TEMPFAIL:
        return EXIT_TEMP;
    case MTASTS_OUTCOME_NO_POLICY:
        return mtasts_lookup_why(lk) == MTASTS_WHY_TXT_TEMPFAIL ? EXIT_TEMP : 1;
    default:
        return 1;
    }
}

static int
run(struct lk *s)
{
    const struct netopts *o = s->o;
    int64_t now = o->now >= 0 ? o->now : (int64_t)time(NULL);
    int rc, ex;
    size_t i;

    if (mtasts_ctx_set_option(s->ctx, MTASTS_OPT_FETCH_TIMEOUT_MS,
                              o->timeout_ms) != MTASTS_OK)
        return oom();
    ex = cache_read(s);
    if (ex != 0)
        return ex;
    rc = mtasts_lookup_new(s->ctx, s->domain, strlen(s->domain), s->old_entry,
                           s->old_len, now, 0, &s->lookup);
    if (rc == MTASTS_ENOMEM)
        return oom();
    if (rc != MTASTS_OK) {
        fputs("mtasts: lookup ", stderr);
        text_puts(stderr, s->domain);
        fprintf(stderr, ": %s\n", mtasts_strerror(rc));
        return EXIT_USAGE;
    }
    ex = nt_net_new(o, &s->net);
    if (ex != 0)
        return ex;
    /* the TLSRPT and MX queries run alongside the discovery */
    if (!s->literal) {
        s->have_tlsrpt = 1;
        rc = nt_tlsrpt_start(s->net, s->domain, &s->tlsrpt);
        if (rc != MTASTS_OK)
            goto fail;
    }
    rc = mx_setup(s);
    if (rc != MTASTS_OK)
        goto fail;
    rc = mtasts_net_lookup(s->net, s->lookup, step_cb, s);
    if (rc == MTASTS_OK)
        rc = mtasts_net_wait(s->net, 0);
    if (rc == MTASTS_OK && s->mx.status != MTASTS_OK)
        rc = s->mx.status;
    if (rc == MTASTS_OK && s->oom)
        rc = MTASTS_ENOMEM;
    if (rc == MTASTS_OK && o->probe) {
        rc = nt_mxlist_probe(s->net, &s->mx);
        if (rc == MTASTS_OK)
            rc = mtasts_net_wait(s->net, 0);
        for (i = 0; rc == MTASTS_OK && i < s->mx.n; i++)
            rc = s->mx.v[i].probe.status;
    }
    if (rc == MTASTS_OK && s->have_tlsrpt)
        rc = nt_tlsrpt_eval(s->ctx, &s->tlsrpt);
    if (rc == MTASTS_OK)
        rc = entries(s);
    if (rc == MTASTS_OK && o->postfix != NULL)
        rc = postfix_answer(s);
    if (rc != MTASTS_OK)
        goto fail;
    ex = cache_apply(s);
    if (o->json)
        print_json(s);
    else
        print_text(s);
    return ex != 0 ? ex : exit_status(s->lookup);
fail:
    if (rc == MTASTS_ENOMEM)
        return oom();
    fputs("mtasts: lookup ", stderr);
    text_puts(stderr, s->domain);
    fprintf(stderr, ": %s\n", mtasts_net_strerror(rc));
    return EXIT_INTERNAL;
}
#endif

int
cmd_lookup(mtasts_ctx *ctx, int argc, char **argv)
{
    struct netopts o;
    char *domain = NULL;
    int ex, i;

    if (netopts_parse(argc, argv, 1, &o, &ex) != 0) {
        netopts_free(&o);
        return ex;
    }
    if (is_literal(o.argv[0])) {
        domain = nt_memdup(o.argv[0], strlen(o.argv[0]));
        ex = domain != NULL ? 0 : EXIT_INTERNAL;
    } else {
        ex = domain_arg("domain", o.argv[0], &domain);
    }
    for (i = 1; ex == 0 && i < o.argc; i++) {
        if (mtasts_hostname_check(o.argv[i], strlen(o.argv[i]),
                                  MTASTS_HOST_F_TRAILING_DOT,
                                  NULL) != MTASTS_OK) {
            fputs("mtasts: MX ", stderr);
            text_puts(stderr, o.argv[i]);
            fputs(": not a host name in A-label form\n", stderr);
            ex = EXIT_USAGE;
        }
    }
    if (ex == 0) {
#ifdef MTASTS_TOOL_NET
        struct lk s;

        memset(&s, 0, sizeof(s));
        s.ctx = ctx;
        s.o = &o;
        s.domain = domain;
        s.literal = is_literal(domain);
        ex = run(&s);
        lk_free(&s);
#else
        (void)ctx;
        ex = net_missing("lookup");
#endif
    }
    free(domain);
    netopts_free(&o);
    return ex;
}
