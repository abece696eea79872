/*
 * blocking: MTA-STS policy discovery in the synchronous style of a forking
 * MTA such as Exim, where each delivery process may block on DNS and
 * HTTPS.
 *
 *   usage: blocking CACHEFILE DOMAIN TXT POLICY NOW [MX...]
 *
 *   CACHEFILE  where the domain's cache entry is kept (created, replaced
 *              or deleted as the library says)
 *   DOMAIN     the policy domain (the recipient domain)
 *   TXT        canned answer of the TXT query: a file with one TXT record
 *              per line, or "nxdomain" or "servfail"
 *   POLICY     canned answer of the HTTPS fetch: a file served as
 *              "200 text/plain", or "connect-fail", "cert-fail", "404"
 *   NOW        the current time, seconds since the epoch
 *   MX...      MX host names of DOMAIN, in preference order
 *
 * The example does no network I/O: the two hooks below answer from the
 * files given on the command line, and print what a real MTA would do at
 * that point. Exit status: 0 when a delivery can go ahead (or would be
 * deferred as the policy says), 2 on usage or I/O errors.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mtasts.h>

#define MAX_TXT_RRS 16

struct canned {
    const char *txt;    /* TXT argument */
    const char *policy; /* POLICY argument */
    int fetches;        /* how many fetches the lookup asked for */
};

/* Read a whole file into a malloc'd buffer, at most max bytes (one more is
 * read so that an oversized file is noticed). Returns NULL and sets errno
 * when it cannot be read; ENOENT means "no such file". */
static char *
slurp(const char *path, size_t max, size_t *ret_len)
{
    FILE *f;
    char *buf;
    size_t n;

    f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    buf = malloc(max + 2);
    if (buf == NULL) {
        fclose(f);
        errno = ENOMEM;
        return NULL;
    }
    n = fread(buf, 1, max + 1, f);
    if (ferror(f)) {
        fclose(f);
        free(buf);
        errno = EIO;
        return NULL;
    }
    fclose(f);
    buf[n] = '\0';
    *ret_len = n;
    return buf;
}

/*
 * The TXT hook. A real MTA resolves the TXT RRset of qname here (for
 * example with res_query(3) or c-ares' ares_query), following CNAMEs
 * (STS-TXT-12), and hands the character-strings of each record to the
 * library separately: the library joins them.
 */
static int
txt_hook(void *user, mtasts_lookup *lookup, const char *qname, size_t qname_len)
{
    struct canned *c = user;
    const char *strs[MAX_TXT_RRS];
    size_t lens[MAX_TXT_RRS], nstr[MAX_TXT_RRS], n = 0, len;
    char *buf, *p, *nl;
    int rc;

    printf("TXT query: %.*s\n", (int)qname_len, qname);
    if (strcmp(c->txt, "nxdomain") == 0)
        return mtasts_lookup_put_txt(lookup, MTASTS_DNS_NXDOMAIN, NULL, NULL,
                                     NULL, 0);
    if (strcmp(c->txt, "servfail") == 0)
        return mtasts_lookup_put_txt(lookup, MTASTS_DNS_TEMPFAIL, NULL, NULL,
                                     NULL, 0);
    buf = slurp(c->txt, MTASTS_TXT_MAX_SIZE, &len);
    if (buf == NULL) {
        perror(c->txt);
        return -1; /* mtasts_lookup_drive() then returns ECALLBACK */
    }
    /* One record per line, each one character-string. */
    for (p = buf; *p != '\0' && n < MAX_TXT_RRS; p = nl + 1) {
        nl = strchr(p, '\n');
        if (nl == NULL)
            nl = p + strlen(p);
        strs[n] = p;
        lens[n] = (size_t)(nl - p);
        nstr[n] = 1;
        n++;
        if (*nl == '\0')
            break;
    }
    rc = mtasts_lookup_put_txt(
        lookup, n > 0 ? MTASTS_DNS_OK : MTASTS_DNS_NODATA, n > 0 ? strs : NULL,
        n > 0 ? lens : NULL, n > 0 ? nstr : NULL, n);
    /* The library copied what it needs: the strings may go now. */
    free(buf);
    return rc;
}

/*
 * The fetch hook. A real MTA performs an HTTPS GET of url here, with
 * libcurl for instance, and must:
 *   - connect to host, send it as SNI and verify that the certificate
 *     chains to a trusted root and names host (mtasts_lookup_fetch_host(),
 *     checked with mtasts_cert_names_match() or the TLS library's own
 *     host check; CURLOPT_SSL_VERIFYPEER and CURLOPT_SSL_VERIFYHOST);
 *   - refuse TLS below 1.2 (CURLOPT_SSLVERSION, CURL_SSLVERSION_TLSv1_2)
 *     and report such failures as MTASTS_FETCH_TLS or MTASTS_FETCH_CERT;
 *   - not follow redirects (CURLOPT_FOLLOWLOCATION 0): a 3xx status is
 *     passed on and the library treats it as a failure;
 *   - not use HTTP caching or conditional requests;
 *   - stop after timeout_ms (CURLOPT_TIMEOUT_MS; MTASTS_FETCH_TIMEOUT) and
 *     after max_size + 1 body bytes (MTASTS_FETCH_TOO_BIG);
 *   - pass the status code, the Content-Type header and the body.
 */
static int
fetch_hook(void *user, mtasts_lookup *lookup, const char *url, size_t url_len,
           const char *host, size_t host_len, uint32_t timeout_ms,
           size_t max_size)
{
    static const char ct[] = "text/plain; charset=utf-8";
    struct canned *c = user;
    char *body;
    size_t len;
    int rc;

    c->fetches++;
    printf("HTTPS GET: %.*s (SNI and certificate name %.*s, timeout %" PRIu32
           " ms, at most %zu bytes)\n",
           (int)url_len, url, (int)host_len, host, timeout_ms, max_size);
    if (strcmp(c->policy, "connect-fail") == 0)
        return mtasts_lookup_put_fetch(lookup, MTASTS_FETCH_CONNECT, 0, NULL, 0,
                                       NULL, 0);
    if (strcmp(c->policy, "cert-fail") == 0)
        return mtasts_lookup_put_fetch(lookup, MTASTS_FETCH_CERT, 0, NULL, 0,
                                       NULL, 0);
    if (strcmp(c->policy, "404") == 0)
        return mtasts_lookup_put_fetch(lookup, MTASTS_FETCH_OK, 404, ct,
                                       strlen(ct), "not found\n", 10);
    body = slurp(c->policy, max_size, &len);
    if (body == NULL) {
        perror(c->policy);
        return -1;
    }
    if (len > max_size)
        rc = mtasts_lookup_put_fetch(lookup, MTASTS_FETCH_TOO_BIG, 0, NULL, 0,
                                     NULL, 0);
    else
        rc = mtasts_lookup_put_fetch(lookup, MTASTS_FETCH_OK, 200, ct,
                                     strlen(ct), body, len);
    free(body);
    return rc;
}

static void
log_hook(void *user, const char *msg, size_t msg_len)
{
    (void)user;
    printf("log: %.*s\n", (int)msg_len, msg);
}

/* Replace the cache file atomically: write a temporary file, then rename.
 * Several delivery processes may do this at once; the last one wins, which
 * is fine because each writes a complete, valid entry. */
static int
store_entry(const char *path, const mtasts_lookup *lookup)
{
    char tmp[4096];
    uint8_t *bytes;
    size_t need;
    FILE *f;
    int ok;

    if (mtasts_lookup_entry(lookup, NULL, 0, &need) != MTASTS_ERANGE ||
        (bytes = malloc(need + 1)) == NULL)
        return -1;
    (void)mtasts_lookup_entry(lookup, bytes, need + 1, NULL);
    if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp)) {
        free(bytes);
        return -1;
    }
    f = fopen(tmp, "wb");
    ok = f != NULL && fwrite(bytes, 1, need, f) == need;
    if (f != NULL && fclose(f) != 0)
        ok = 0;
    free(bytes);
    if (!ok || rename(tmp, path) != 0) {
        perror(tmp);
        (void)remove(tmp);
        return -1;
    }
    return 0;
}

int
main(int argc, char **argv)
{
    static const char *const outcomes[] = {"not done", "no policy",
                                           "apply policy", "no active policy",
                                           "temporary failure"};
    static const char *const actions[] = {"unchanged", "store", "delete"};
    struct mtasts_io io = {MTASTS_IO_VERSION, txt_hook, fetch_hook, log_hook};
    struct canned canned = {NULL, NULL, 0};
    const mtasts_policy *policy;
    mtasts_lookup *lookup = NULL;
    mtasts_ctx *ctx = NULL;
    const char *rt;
    char *entry, *end;
    size_t entry_len = 0;
    long long now;
    int rc, i, outcome, action, reason, result, deliverable = 0, ret = 2;

    if (argc < 6) {
        fprintf(stderr, "usage: %s CACHEFILE DOMAIN TXT POLICY NOW [MX...]\n",
                argv[0]);
        return 2;
    }
    canned.txt = argv[3];
    canned.policy = argv[4];
    errno = 0;
    now = strtoll(argv[5], &end, 10);
    if (errno != 0 || *end != '\0' || now <= 0) {
        fprintf(stderr, "%s: NOW must be seconds since the epoch\n", argv[0]);
        return 2;
    }
    if (mtasts_ctx_new(NULL, &ctx) != MTASTS_OK) {
        fputs("out of memory\n", stderr);
        return 2;
    }

    /* The entry is opaque bytes for the MTA; a missing file means that
     * nothing is cached. A corrupt file is not fatal: the library ignores
     * it and mtasts_lookup_entry_error() says why. */
    entry = slurp(argv[1], mtasts_policy_max_size() + 512, &entry_len);
    if (entry == NULL && errno != ENOENT) {
        perror(argv[1]);
        goto out;
    }
    rc =
        mtasts_lookup_new(ctx, argv[2], strlen(argv[2]), (const uint8_t *)entry,
                          entry_len, (int64_t)now, 0, &lookup);
    free(entry);
    if (rc != MTASTS_OK) {
        fprintf(stderr, "%s: %s\n", argv[2], mtasts_strerror(rc));
        goto out;
    }
    if (mtasts_lookup_entry_error(lookup) != MTASTS_OK)
        printf("cache entry ignored: %s\n",
               mtasts_strerror(mtasts_lookup_entry_error(lookup)));

    /* Both hooks answer before they return, so one call finishes the
     * lookup; MTASTS_EAGAIN is only returned by hooks that defer. */
    rc = mtasts_lookup_drive(lookup, &io, &canned);
    if (rc != MTASTS_OK) {
        fprintf(stderr, "lookup failed: %s\n", mtasts_strerror(rc));
        goto out;
    }

    outcome = mtasts_lookup_outcome(lookup);
    policy = mtasts_lookup_policy(lookup);
    printf("outcome: %s (%s)\n", outcomes[outcome],
           mtasts_why_name(mtasts_lookup_why(lookup)));
    printf("from cache: %s\n", mtasts_lookup_from_cache(lookup) ? "yes" : "no");
    printf("fetches: %d\n", canned.fetches);
    if (policy != NULL)
        printf("mode: %s, max_age %" PRIu32 "\n",
               mtasts_mode_name(mtasts_policy_mode(policy)),
               mtasts_policy_max_age(policy));
    rt = mtasts_result_type_name(mtasts_lookup_result_type(lookup));
    if (rt != NULL)
        printf("report: %s\n", rt); /* goes into the TLSRPT aggregate */
    if (mtasts_lookup_alert(lookup))
        printf("alert: refreshing a cached policy failed\n");

    /* Write back what the library says; nothing else touches the file. */
    action = mtasts_lookup_entry_action(lookup);
    printf("cache: %s\n", actions[action]);
    if (action == MTASTS_ENTRY_ACTION_STORE &&
        store_entry(argv[1], lookup) != 0)
        goto out;
    if (action == MTASTS_ENTRY_ACTION_DELETE && remove(argv[1]) != 0 &&
        errno != ENOENT) {
        perror(argv[1]);
        goto out;
    }
    if (mtasts_lookup_refresh_at(lookup) != 0)
        printf("refresh at: %lld\n",
               (long long)mtasts_lookup_refresh_at(lookup));

    if (outcome == MTASTS_OUTCOME_TEMPFAIL) {
        printf("verdict: defer the message\n");
        ret = 0;
        goto out;
    }
    /* Before connecting, check each MX name alone (MTASTS_TLS_NOT_TRIED);
     * after STARTTLS the MTA calls mtasts_decide() again with what the TLS
     * layer found. */
    for (i = 6; i < argc; i++) {
        rc = mtasts_decide(policy, argv[i], strlen(argv[i]),
                           MTASTS_TLS_NOT_TRIED, MTASTS_DANE_NOT_USED, 0,
                           &action, &result, &reason);
        if (rc != MTASTS_OK) {
            fprintf(stderr, "%s: %s\n", argv[i], mtasts_strerror(rc));
            goto out;
        }
        rt = mtasts_result_type_name(result);
        printf("mx %s: %s (%s%s%s)\n", argv[i],
               action == MTASTS_DELIVER ? "deliver" : "skip",
               mtasts_decide_reason_name(reason), rt != NULL ? ", report " : "",
               rt != NULL ? rt : "");
        if (action == MTASTS_DELIVER)
            deliverable++;
    }
    if (argc > 6)
        /* Every MX skipped: defer, never bounce at once (STS-ENF-6). */
        printf("verdict: %s\n",
               deliverable > 0 ? "deliver" : "defer the message");
    ret = 0;
out:
    mtasts_lookup_free(lookup);
    mtasts_ctx_free(ctx);
    return ret;
}
