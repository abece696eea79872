/*
 * libmtasts-net: libcurl. The HTTPS policy fetch, the SMTP STARTTLS probe
 * of an MX, and the one table that maps every libcurl and OpenSSL failure
 * to the core's outcomes (mtn_http_map(); mtasts_net(3), FAILURE MAPPING).
 *
 * One curl multi handle per mtasts_net handle, driven the multi_socket
 * way: curl's socket callback goes to mtn_watch(), its timer callback sets
 * a deadline that mtn_http_timeout() reports, and readiness and timer
 * expiry come back through mtn_http_on_socket() / mtn_http_on_timeout(),
 * after which the finished transfers are collected and called back. No
 * callback runs inside mtn_http_fetch() or mtn_http_probe(): a failure
 * known at once goes through mtn_defer().
 *
 * Every connection is fresh and closed after use (no connection or TLS
 * session reuse), so each fetch and probe does, and reports, its own full
 * handshake and certificate check.
 *
 * Threads: libcurl's global initialisation runs once, under a mutex, the
 * first time a handle is made (and again after a failed attempt). A handle
 * is used by one thread at a time; distinct handles may run in parallel,
 * as libcurl allows for distinct multi handles. curl_global_cleanup() is
 * never called (libcurl stays initialised for the life of the process). An
 * application that also calls curl_global_init() itself from another
 * thread at the same time relies on libcurl's own thread-safe init
 * (CURL_VERSION_THREADSAFE, libcurl 7.84 and later).
 *
 * The FAILURE MAPPING (also in mtasts_net(3); tests/net/http/test_http_map.c
 * checks that the two agree code by code):
 *
 *   CURLcode                                fetch transport   TLS outcome
 *   ---------------------------------------------------------------------
 *   CURLE_OK                                OK                OK
 *   COULDNT_RESOLVE_PROXY, COULDNT_RESOLVE_HOST, COULDNT_CONNECT,
 *   INTERFACE_FAILED, QUIC_CONNECT_ERROR, PROXY
 *                                           CONNECT           not tried
 *   OPERATION_TIMEDOUT                      TIMEOUT           not tried
 *   SSL_CONNECT_ERROR (handshake failed, TLS < 1.2, not TLS at all),
 *   SSL_CIPHER, SSL_CERTPROBLEM, SSL_CLIENTCERT, SSL_ENGINE_NOTFOUND,
 *   SSL_ENGINE_SETFAILED, SSL_ENGINE_INITFAILED, SSL_SHUTDOWN_FAILED
 *                                           TLS               FAILED
 *   USE_SSL_FAILED (no STARTTLS, or refused) TLS              NO_STARTTLS
 *   PEER_FAILED_VERIFICATION                CERT              by the
 *                                                             verify result
 *   SSL_ISSUER_ERROR                        CERT              CERT_UNTRUSTED
 *   SSL_CACERT_BADFILE, SSL_CRL_BADFILE, SSL_PINNEDPUBKEYNOTMATCH,
 *   SSL_INVALIDCERTSTATUS                   CERT              FAILED
 *   FILESIZE_EXCEEDED (declared length)     TOO_BIG           not tried
 *   WRITE_ERROR when the body passed max_size while streaming
 *                                           TOO_BIG           not tried
 *   (TOO_BIG for a response with status 200 only; any other status is a
 *   fetch error by itself: OK, the status, no body)
 *   every other code                        ERROR             not tried
 *
 *   The verify result (X509_V_*) of PEER_FAILED_VERIFICATION:
 *   CERT_HAS_EXPIRED, CERT_NOT_YET_VALID                      CERT_EXPIRED
 *   UNABLE_TO_GET_ISSUER_CERT(_LOCALLY), DEPTH_ZERO_SELF_SIGNED_CERT,
 *   SELF_SIGNED_CERT_IN_CHAIN, UNABLE_TO_VERIFY_LEAF_SIGNATURE,
 *   CERT_UNTRUSTED, CERT_REJECTED                             CERT_UNTRUSTED
 *   HOSTNAME_MISMATCH; and X509_V_OK or UNSPECIFIED (1): libcurl checks
 *   the name itself after OpenSSL's chain check passed and leaves the
 *   verify result at its initial 1 when the name does not match
 *                                                             HOST_MISMATCH
 *   any other                                                 FAILED
 *
 *   "not tried" becomes OK when the TLS handshake had completed (a
 *   timeout or a too big body after it). A probe reports FAILED for "not
 *   tried". CURLE_OUT_OF_MEMORY, and a failed allocation of ours, end the
 *   request with status MTASTS_ENOMEM and no result.
 */
#include <limits.h>
#include <stdint.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include "net_int.h"

#define HTTP_USER_AGENT          "libmtasts-net/1.0"
#define HTTP_CONNECT_TIMEOUT_DEF 10000u
#define HTTP_PROBE_TIMEOUT_DEF   30000u
#define HTTP_HELO_DEF            "localhost"
#define HTTP_HOST_MAX            253
#define HTTP_BODY_FIRST          4096u

/* ------------------------------------------------------------------ */
/* the mapping                                                         */
/* ------------------------------------------------------------------ */

static int
map_verify_result(long verify_result)
{
    switch (verify_result) {
    case X509_V_ERR_CERT_HAS_EXPIRED:
    case X509_V_ERR_CERT_NOT_YET_VALID:
        return MTASTS_TLS_CERT_EXPIRED;
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_CERT_UNTRUSTED:
    case X509_V_ERR_CERT_REJECTED:
        return MTASTS_TLS_CERT_UNTRUSTED;
    case X509_V_OK:
    case X509_V_ERR_UNSPECIFIED:
    case X509_V_ERR_HOSTNAME_MISMATCH:
        return MTASTS_TLS_CERT_HOST_MISMATCH;
    default:
        return MTASTS_TLS_FAILED;
    }
}

/* A switch on int, not on CURLcode: a newer libcurl's new codes fall into
 * "every other code" without a -Wswitch-enum warning. */
void
mtn_http_map(int curl_code, long verify_result, int *ret_transport,
             int *ret_tls)
{
    int transport, tls = MTASTS_TLS_NOT_TRIED;

    switch (curl_code) {
    case CURLE_OK:
        transport = MTASTS_FETCH_OK;
        tls = MTASTS_TLS_OK;
        break;
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_INTERFACE_FAILED:
    case CURLE_QUIC_CONNECT_ERROR:
    case CURLE_PROXY:
        transport = MTASTS_FETCH_CONNECT;
        break;
    case CURLE_OPERATION_TIMEDOUT:
        transport = MTASTS_FETCH_TIMEOUT;
        break;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CLIENTCERT:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_SHUTDOWN_FAILED:
        transport = MTASTS_FETCH_TLS;
        tls = MTASTS_TLS_FAILED;
        break;
    case CURLE_USE_SSL_FAILED:
        transport = MTASTS_FETCH_TLS;
        tls = MTASTS_TLS_NO_STARTTLS;
        break;
    case CURLE_PEER_FAILED_VERIFICATION:
        transport = MTASTS_FETCH_CERT;
        tls = map_verify_result(verify_result);
        break;
    case CURLE_SSL_ISSUER_ERROR:
        transport = MTASTS_FETCH_CERT;
        tls = MTASTS_TLS_CERT_UNTRUSTED;
        break;
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
        transport = MTASTS_FETCH_CERT;
        tls = MTASTS_TLS_FAILED;
        break;
    case CURLE_FILESIZE_EXCEEDED:
        transport = MTASTS_FETCH_TOO_BIG;
        break;
    default:
        transport = MTASTS_FETCH_ERROR;
        break;
    }
    if (ret_transport != NULL)
        *ret_transport = transport;
    if (ret_tls != NULL)
        *ret_tls = tls;
}

/* ------------------------------------------------------------------ */
/* certificate dates                                                   */
/* ------------------------------------------------------------------ */

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian). */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
    int64_t era, yoe, doy, doe;

    if (m <= 2)
        y--;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int
leap_year(long y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Reads exactly n digits at s[*i]; -1 when they are not there. */
static long
digits(const char *s, size_t len, size_t *i, size_t n)
{
    long v = 0;
    size_t k;

    if (len - *i < n)
        return -1;
    for (k = 0; k < n; k++) {
        char c = s[*i + k];

        if (c < '0' || c > '9')
            return -1;
        v = v * 10 + (c - '0');
    }
    *i += n;
    return v;
}

static int
expect(const char *s, size_t len, size_t *i, char c)
{
    if (*i >= len || s[*i] != c)
        return 0;
    (*i)++;
    return 1;
}

static void
skip_spaces(const char *s, size_t len, size_t *i)
{
    while (*i < len && s[*i] == ' ')
        (*i)++;
}

/* "HH:MM:SS" with an optional fraction. */
static int
parse_hms(const char *s, size_t len, size_t *i, long *h, long *mi, long *se)
{
    *h = digits(s, len, i, 2);
    if (*h < 0 || !expect(s, len, i, ':'))
        return 0;
    *mi = digits(s, len, i, 2);
    if (*mi < 0 || !expect(s, len, i, ':'))
        return 0;
    *se = digits(s, len, i, 2);
    if (*se < 0)
        return 0;
    if (*i < len && s[*i] == '.') {
        (*i)++;
        if (*i >= len || s[*i] < '0' || s[*i] > '9')
            return 0;
        while (*i < len && s[*i] >= '0' && s[*i] <= '9')
            (*i)++;
    }
    return 1;
}

int64_t
mtn_http_parse_date(const char *s, size_t len)
{
    static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    size_t i = 0;
    long y, mo = 0, d, h, mi, se;
    int64_t t;

    if (s == NULL)
        return 0;
    skip_spaces(s, len, &i);
    if (len - i >= 3 && s[i] >= 'A' && s[i] <= 'Z') {
        /* OpenSSL's ASN1_TIME_print(): "Jan  2 03:04:05 2030 GMT" */
        long k;

        for (k = 0; k < 12; k++)
            if (memcmp(s + i, months + 3 * k, 3) == 0)
                mo = k + 1;
        if (mo == 0)
            return 0;
        i += 3;
        skip_spaces(s, len, &i);
        d = digits(s, len, &i, 2);
        if (d < 0)
            d = digits(s, len, &i, 1);
        if (d < 0 || !expect(s, len, &i, ' '))
            return 0;
        if (!parse_hms(s, len, &i, &h, &mi, &se) || !expect(s, len, &i, ' '))
            return 0;
        y = digits(s, len, &i, 4);
        if (y < 0)
            return 0;
    } else {
        /* ISO 8601 and libcurl's own x509 code: "2030-01-02 03:04:05" */
        y = digits(s, len, &i, 4);
        if (y < 0 || !expect(s, len, &i, '-'))
            return 0;
        mo = digits(s, len, &i, 2);
        if (mo < 0 || !expect(s, len, &i, '-'))
            return 0;
        d = digits(s, len, &i, 2);
        if (d < 0 || (!expect(s, len, &i, ' ') && !expect(s, len, &i, 'T')))
            return 0;
        if (!parse_hms(s, len, &i, &h, &mi, &se))
            return 0;
    }
    /* the zone: "Z", "GMT", "UTC" or nothing (both formats give UTC) */
    skip_spaces(s, len, &i);
    if (i < len && s[i] == 'Z')
        i++;
    else if (len - i >= 3 &&
             (memcmp(s + i, "GMT", 3) == 0 || memcmp(s + i, "UTC", 3) == 0))
        i += 3;
    skip_spaces(s, len, &i);
    if (i != len || mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || se > 60)
        return 0;
    if (d > mdays[mo - 1] + (mo == 2 && leap_year(y) ? 1 : 0))
        return 0;
    t = days_from_civil(y, (int)mo, (int)d) * 86400 + h * 3600 + mi * 60 +
        (se == 60 ? 59 : se);
    return t > 0 ? t : 0;
}

/* ------------------------------------------------------------------ */
/* libcurl's global state and the OpenSSL hooks                        */
/* ------------------------------------------------------------------ */

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static int g_ready;   /* curl_global_init() succeeded */
static int g_openssl; /* libcurl's TLS backend is OpenSSL: hooks usable */
static int g_ctx_idx = -1;

static int
global_init(void)
{
    int rc = 0;

    if (pthread_mutex_lock(&g_lock) != 0)
        return MTASTS_ENOMEM;
    if (!g_ready) {
        CURLcode c = curl_global_init(CURL_GLOBAL_DEFAULT);

        if (c != CURLE_OK) {
            rc = MTASTS_ENOMEM;
        } else {
            const curl_version_info_data *v =
                curl_version_info(CURLVERSION_NOW);

            /* The SSL_CTX hooks read the leaf certificate's notAfter even
             * when verification fails, and the negotiated TLS version; a
             * libcurl on another TLS library gets neither (CERTINFO then
             * gives the date of a verified certificate). */
            if (v != NULL && v->ssl_version != NULL &&
                strncmp(v->ssl_version, "OpenSSL/", 8) == 0) {
                g_ctx_idx = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, NULL);
                g_openssl = g_ctx_idx >= 0;
            }
            g_ready = 1;
        }
    }
    pthread_mutex_unlock(&g_lock);
    return rc;
}

/* ------------------------------------------------------------------ */
/* the module                                                          */
/* ------------------------------------------------------------------ */

struct xfer;

struct mtn_http {
    mtasts_net *net;
    CURLM *multi;
    char *ca_file; /* NULL: libcurl's default store */
    char *helo;
    struct curl_slist *connect_to;
    long connect_timeout_ms;
    long probe_timeout_ms;
    int timer_set;
    struct timespec deadline;
    struct xfer *head; /* running transfers */
    size_t pending;
    int oom; /* a transfer failed to get its socket watched */
};

struct xfer {
    struct xfer *prev, *next;
    CURL *easy;
    struct curl_slist *resolve;
    char *url;
    int probe;
    mtasts_net_fetch_cb fetch_cb;
    mtasts_net_probe_cb probe_cb;
    void *user;
    int early_code; /* deferred: the CURLcode of the failed set-up */
    char *body;
    size_t body_len, body_cap, max_size;
    int too_big;   /* the body passed max_size: CURLE_WRITE_ERROR is ours */
    int body_oom;  /* the body buffer could not grow */
    int watch_oom; /* mtn_watch() failed for this transfer's socket */
    int greeted;   /* probe: an SMTP reply was read */
    int handshake; /* OpenSSL: the TLS handshake completed */
    int64_t not_after;
    char tls_version[16];
    char errbuf[CURL_ERROR_SIZE];
    char error[CURL_ERROR_SIZE + 64];
    char peer[64];
};

static void
now_ts(struct timespec *ts)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
}

/* ms from now to ts, rounded up (so that a wait of that long reaches it);
 * 0 when past. */
static long
ms_until(const struct timespec *ts)
{
    struct timespec now;
    int64_t ns;

    now_ts(&now);
    ns = ((int64_t)ts->tv_sec - (int64_t)now.tv_sec) * 1000000000 +
         ((int64_t)ts->tv_nsec - (int64_t)now.tv_nsec);
    if (ns <= 0)
        return 0;
    ns = (ns + 999999) / 1000000;
    return ns > LONG_MAX ? LONG_MAX : (long)ns;
}

/* The transfer of an easy handle (CURLOPT_PRIVATE). */
static struct xfer *
easy_xfer(CURL *easy)
{
    char *p = NULL;

    if (curl_easy_getinfo(easy, CURLINFO_PRIVATE, &p) != CURLE_OK)
        return NULL;
    return (struct xfer *)(void *)p;
}

static int
socket_cb(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
    struct mtn_http *http = userp;
    unsigned w;

    (void)socketp;
    switch (what) {
    case CURL_POLL_IN:
        w = MTASTS_NET_F_POLL_IN;
        break;
    case CURL_POLL_OUT:
        w = MTASTS_NET_F_POLL_OUT;
        break;
    case CURL_POLL_INOUT:
        w = MTASTS_NET_F_POLL_IN | MTASTS_NET_F_POLL_OUT;
        break;
    case CURL_POLL_REMOVE:
        w = MTASTS_NET_F_POLL_REMOVE;
        break;
    default: /* CURL_POLL_NONE: known, but nothing to wait for */
        w = 0;
        break;
    }
    if (mtn_watch(http->net, MTN_OWNER_HTTP, (int)s, w) < 0) {
        /* Returning -1 would fail every transfer of the multi handle:
         * fail only this one, from the next timeout round. */
        struct xfer *x = easy_xfer(easy);

        if (x != NULL)
            x->watch_oom = 1;
        http->oom = 1;
        mtn_timer_changed(http->net);
    }
    return 0;
}

static int
timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
    struct mtn_http *http = userp;

    (void)multi;
    if (timeout_ms < 0) {
        http->timer_set = 0;
    } else {
        now_ts(&http->deadline);
        http->deadline.tv_sec += timeout_ms / 1000;
        http->deadline.tv_nsec += (timeout_ms % 1000) * 1000000;
        if (http->deadline.tv_nsec >= 1000000000) {
            http->deadline.tv_sec++;
            http->deadline.tv_nsec -= 1000000000;
        }
        http->timer_set = 1;
    }
    mtn_timer_changed(http->net);
    return 0;
}

/* A host name or address literal that may go into an smtp:// URL as is
 * (the EHLO name is the URL's path; the MX its host). */
static int
name_ok(const char *s, size_t n)
{
    size_t i;

    if (n == 0 || n > HTTP_HOST_MAX)
        return 0;
    for (i = 0; i < n; i++) {
        char c = s[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_'))
            return 0;
    }
    return 1;
}

int
mtn_http_new(mtasts_net *net, const struct mtasts_net_config *config,
             struct mtn_http **ret_http)
{
    struct mtn_http *http;
    const char *helo = config->helo_name ? config->helo_name : HTTP_HELO_DEF;
    size_t i;
    int rc;

    *ret_http = NULL;
    if (!name_ok(helo, strlen(helo)))
        return MTASTS_EINVAL;
    /* an unreadable CA file is the caller's error, said at once (one
     * that reads but holds no certificate fails each request, as
     * CURLE_SSL_CACERT_BADFILE) */
    if (config->ca_file != NULL && config->ca_file[0] != '\0' &&
        access(config->ca_file, R_OK) != 0)
        return MTASTS_EINVAL;
    rc = global_init();
    if (rc < 0)
        return rc;
    http = calloc(1, sizeof(*http));
    if (http == NULL)
        return MTASTS_ENOMEM;
    http->net = net;
    http->connect_timeout_ms = config->connect_timeout_ms
                                   ? (long)config->connect_timeout_ms
                                   : (long)HTTP_CONNECT_TIMEOUT_DEF;
    http->probe_timeout_ms = config->probe_timeout_ms
                                 ? (long)config->probe_timeout_ms
                                 : (long)HTTP_PROBE_TIMEOUT_DEF;
    http->helo = mtn_strndup(helo, strlen(helo));
    if (http->helo == NULL)
        goto nomem;
    if (config->ca_file != NULL && config->ca_file[0] != '\0') {
        http->ca_file = mtn_strndup(config->ca_file, strlen(config->ca_file));
        if (http->ca_file == NULL)
            goto nomem;
    }
    for (i = 0; i < config->connect_to_count; i++) {
        struct curl_slist *l =
            curl_slist_append(http->connect_to, config->connect_to[i]);

        if (l == NULL)
            goto nomem;
        http->connect_to = l;
    }
    http->multi = curl_multi_init();
    if (http->multi == NULL ||
        curl_multi_setopt(http->multi, CURLMOPT_SOCKETFUNCTION, socket_cb) !=
            CURLM_OK ||
        curl_multi_setopt(http->multi, CURLMOPT_SOCKETDATA, http) != CURLM_OK ||
        curl_multi_setopt(http->multi, CURLMOPT_TIMERFUNCTION, timer_cb) !=
            CURLM_OK ||
        curl_multi_setopt(http->multi, CURLMOPT_TIMERDATA, http) != CURLM_OK)
        goto nomem;
    *ret_http = http;
    return 0;
nomem:
    mtn_http_free(http);
    return MTASTS_ENOMEM;
}

/* ------------------------------------------------------------------ */
/* transfers                                                           */
/* ------------------------------------------------------------------ */

static void
xfer_free(struct xfer *x)
{
    if (x->easy != NULL)
        curl_easy_cleanup(x->easy);
    curl_slist_free_all(x->resolve);
    free(x->url);
    free(x->body);
    free(x);
}

static void
xfer_link(struct mtn_http *http, struct xfer *x)
{
    x->prev = NULL;
    x->next = http->head;
    if (http->head != NULL)
        http->head->prev = x;
    http->head = x;
    http->pending++;
}

static void
xfer_unlink(struct mtn_http *http, struct xfer *x)
{
    if (x->prev != NULL)
        x->prev->next = x->next;
    else
        http->head = x->next;
    if (x->next != NULL)
        x->next->prev = x->prev;
    x->prev = x->next = NULL;
    http->pending--;
}

static size_t
write_cb(char *data, size_t size, size_t nmemb, void *userp)
{
    struct xfer *x = userp;
    size_t n = size * nmemb;

    if (n > x->max_size - x->body_len) {
        x->too_big = 1; /* a short count: CURLE_WRITE_ERROR */
        return 0;
    }
    if (x->body_len + n + 1 > x->body_cap) {
        size_t cap = x->body_cap ? x->body_cap : HTTP_BODY_FIRST;
        char *b;

        while (cap < x->body_len + n + 1)
            cap = cap > SIZE_MAX / 2 ? SIZE_MAX : cap * 2;
        if (cap > x->max_size + 1) /* max_size < SIZE_MAX: see below */
            cap = x->max_size + 1;
        b = realloc(x->body, cap);
        if (b == NULL) {
            x->body_oom = 1;
            return 0;
        }
        x->body = b;
        x->body_cap = cap;
    }
    memcpy(x->body + x->body_len, data, n);
    x->body_len += n;
    x->body[x->body_len] = '\0';
    return n;
}

/* Probe: any SMTP reply line read means the server greeted. Needs
 * CURLOPT_VERBOSE; this function replaces libcurl's printing. */
static int
debug_cb(CURL *easy, curl_infotype type, char *data, size_t size, void *userp)
{
    struct xfer *x = userp;

    (void)easy;
    if (type == CURLINFO_HEADER_IN && size >= 3 && data[0] >= '0' &&
        data[0] <= '9' && data[1] >= '0' && data[1] <= '9' && data[2] >= '0' &&
        data[2] <= '9')
        x->greeted = 1;
    return 0;
}

/* OpenSSL: the transfer of an SSL, through its SSL_CTX. */
static struct xfer *
ssl_xfer(const SSL *ssl)
{
    SSL_CTX *ctx = ssl != NULL ? SSL_get_SSL_CTX(ssl) : NULL;

    return ctx != NULL ? SSL_CTX_get_ex_data(ctx, g_ctx_idx) : NULL;
}

/* Chain verification: note the leaf certificate's notAfter, whatever the
 * verdict; the verdict itself is OpenSSL's, unchanged. */
static int
verify_cb(int preverify_ok, X509_STORE_CTX *sctx)
{
    SSL *ssl =
        X509_STORE_CTX_get_ex_data(sctx, SSL_get_ex_data_X509_STORE_CTX_idx());
    struct xfer *x = ssl_xfer(ssl);
    X509 *leaf = X509_STORE_CTX_get0_cert(sctx);

    if (x != NULL && x->not_after == 0 && leaf != NULL) {
        const ASN1_TIME *t = X509_get0_notAfter(leaf);
        struct tm tm;

        if (t != NULL && ASN1_TIME_to_tm(t, &tm) == 1) {
            int64_t v = days_from_civil((int64_t)tm.tm_year + 1900,
                                        tm.tm_mon + 1, tm.tm_mday) *
                            86400 +
                        tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec;

            x->not_after = v > 0 ? v : 0;
        }
    }
    return preverify_ok;
}

static void
info_cb(const SSL *ssl, int where, int ret)
{
    struct xfer *x;

    (void)ret;
    if (!(where & SSL_CB_HANDSHAKE_DONE))
        return;
    x = ssl_xfer(ssl);
    if (x != NULL) {
        const char *v = SSL_get_version(ssl);

        x->handshake = 1;
        if (v != NULL)
            snprintf(x->tls_version, sizeof(x->tls_version), "%s", v);
    }
}

static CURLcode
ssl_ctx_cb(CURL *easy, void *ssl_ctx, void *userp)
{
    SSL_CTX *ctx = ssl_ctx;

    (void)easy;
    if (SSL_CTX_set_ex_data(ctx, g_ctx_idx, userp) != 1)
        return CURLE_OUT_OF_MEMORY;
    SSL_CTX_set_verify(ctx, SSL_CTX_get_verify_mode(ctx), verify_cb);
    SSL_CTX_set_info_callback(ctx, info_cb);
    return CURLE_OK;
}

/* The options a fetch and a probe share: TLS 1.2 or later with the
 * certificate checked against the URL's host, the CA store, connect-to
 * and the resolved target, no proxy, no signals, no reuse. */
static CURLcode
common_opts(struct mtn_http *http, struct xfer *x, const char *resolve,
            long timeout_ms)
{
    CURL *e = x->easy;
    CURLcode c;

    if (resolve != NULL) {
        x->resolve = curl_slist_append(NULL, resolve);
        if (x->resolve == NULL)
            return CURLE_OUT_OF_MEMORY;
    }
#define SET(opt, val)                            \
    do {                                         \
        if ((c = curl_easy_setopt(e, opt, val))) \
            return c;                            \
    } while (0)
    SET(CURLOPT_PRIVATE, (void *)x);
    SET(CURLOPT_ERRORBUFFER, x->errbuf);
    SET(CURLOPT_URL, x->url);
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_PROXY, "");
    SET(CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
    SET(CURLOPT_SSL_VERIFYPEER, 1L);
    SET(CURLOPT_SSL_VERIFYHOST, 2L);
    SET(CURLOPT_SSL_SESSIONID_CACHE, 0L);
    SET(CURLOPT_FRESH_CONNECT, 1L);
    SET(CURLOPT_CERTINFO, 1L);
    if (http->ca_file != NULL) {
        /* that file only: not the compiled-in CA directory as well */
        SET(CURLOPT_CAINFO, http->ca_file);
        SET(CURLOPT_CAPATH, (char *)NULL);
    }
    if (http->connect_to != NULL)
        SET(CURLOPT_CONNECT_TO, http->connect_to);
    if (x->resolve != NULL)
        SET(CURLOPT_RESOLVE, x->resolve);
    SET(CURLOPT_TIMEOUT_MS, timeout_ms);
    if (g_openssl) {
        SET(CURLOPT_SSL_CTX_FUNCTION, ssl_ctx_cb);
        SET(CURLOPT_SSL_CTX_DATA, (void *)x);
    }
#undef SET
    return CURLE_OK;
}

static void deliver(struct xfer *x, int code);

static void
deferred_cb(void *arg, int cancel)
{
    struct xfer *x = arg;

    if (cancel) {
        if (x->probe)
            x->probe_cb(x->user, MTASTS_NET_ECANCELED, NULL);
        else
            x->fetch_cb(x->user, MTASTS_NET_ECANCELED, NULL);
        xfer_free(x);
        return;
    }
    deliver(x, x->early_code);
}

/* The transfer is set up (c is CURLE_OK): run it; or it could not be (c
 * is the failure): ENOMEM at once, anything else as a result, deferred. */
static int
xfer_start(struct mtn_http *http, struct xfer *x, CURLcode c)
{
    int rc;

    if (c == CURLE_OK) {
        CURLMcode m;

        xfer_link(http, x);
        m = curl_multi_add_handle(http->multi, x->easy);
        if (m == CURLM_OK)
            return 0;
        xfer_unlink(http, x);
        if (m == CURLM_OUT_OF_MEMORY) {
            xfer_free(x);
            return MTASTS_ENOMEM;
        }
        c = CURLE_FAILED_INIT;
    } else if (c == CURLE_OUT_OF_MEMORY) {
        xfer_free(x);
        return MTASTS_ENOMEM;
    }
    x->early_code = (int)c;
    rc = mtn_defer(http->net, deferred_cb, x);
    if (rc < 0)
        xfer_free(x);
    return rc;
}

static struct xfer *
xfer_new(void *user)
{
    struct xfer *x = calloc(1, sizeof(*x));

    if (x == NULL)
        return NULL;
    x->user = user;
    x->easy = curl_easy_init();
    if (x->easy == NULL) {
        free(x);
        return NULL;
    }
    return x;
}

/* url names host, over https. */
static int
url_check(const char *url, const char *host, size_t host_len)
{
    CURLU *u = curl_url();
    CURLUcode uc;
    char *scheme = NULL, *h = NULL;
    int rc;

    if (u == NULL)
        return MTASTS_ENOMEM;
    uc = curl_url_set(u, CURLUPART_URL, url, 0);
    if (uc == CURLUE_OK)
        uc = curl_url_get(u, CURLUPART_SCHEME, &scheme, 0);
    if (uc == CURLUE_OK)
        uc = curl_url_get(u, CURLUPART_HOST, &h, 0);
    if (uc == CURLUE_OUT_OF_MEMORY)
        rc = MTASTS_ENOMEM;
    else if (uc != CURLUE_OK || strcmp(scheme, "https") != 0 ||
             strlen(h) != host_len || strncasecmp(h, host, host_len) != 0)
        rc = MTASTS_EINVAL;
    else
        rc = 0;
    curl_free(scheme);
    curl_free(h);
    curl_url_cleanup(u);
    return rc;
}

int
mtn_http_fetch(struct mtn_http *http, const char *url, size_t url_len,
               const char *host, size_t host_len, const char *resolve,
               uint32_t timeout_ms, size_t max_size, mtasts_net_fetch_cb cb,
               void *user)
{
    struct xfer *x;
    CURLcode c;
    int rc;

    if (url == NULL || host == NULL || cb == NULL ||
        memchr(url, '\0', url_len) != NULL ||
        memchr(host, '\0', host_len) != NULL)
        return MTASTS_EINVAL;
    x = xfer_new(user);
    if (x == NULL)
        return MTASTS_ENOMEM;
    x->fetch_cb = cb;
    /* one byte more than max_size must be representable */
    x->max_size = max_size < SIZE_MAX ? max_size : SIZE_MAX - 1;
    x->url = malloc(url_len + 1);
    if (x->url == NULL) {
        xfer_free(x);
        return MTASTS_ENOMEM;
    }
    memcpy(x->url, url, url_len);
    x->url[url_len] = '\0';
    rc = url_check(x->url, host, host_len);
    if (rc < 0) {
        xfer_free(x);
        return rc;
    }
    c = common_opts(http, x, resolve, (long)timeout_ms);
#define SET(opt, val)                                \
    do {                                             \
        if (c == CURLE_OK)                           \
            c = curl_easy_setopt(x->easy, opt, val); \
    } while (0)
    SET(CURLOPT_PROTOCOLS_STR, "https");
    SET(CURLOPT_REDIR_PROTOCOLS_STR, "https");
    SET(CURLOPT_FORBID_REUSE, 1L);
    SET(CURLOPT_FOLLOWLOCATION, 0L);
    SET(CURLOPT_CONNECTTIMEOUT_MS, http->connect_timeout_ms);
    SET(CURLOPT_USERAGENT, HTTP_USER_AGENT);
    SET(CURLOPT_WRITEFUNCTION, write_cb);
    SET(CURLOPT_WRITEDATA, (void *)x);
    /* curl_off_t is 64 bits wide wherever libcurl builds */
    if ((uintmax_t)x->max_size <= (uintmax_t)INT64_MAX)
        SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)x->max_size);
#undef SET
    return xfer_start(http, x, c);
}

int
mtn_http_probe(struct mtn_http *http, const char *mx, size_t mx_len,
               uint16_t port, const char *resolve, mtasts_net_probe_cb cb,
               void *user)
{
    struct xfer *x;
    CURLcode c;
    size_t n;

    if (mx == NULL || cb == NULL || !name_ok(mx, mx_len))
        return MTASTS_EINVAL;
    x = xfer_new(user);
    if (x == NULL)
        return MTASTS_ENOMEM;
    x->probe = 1;
    x->probe_cb = cb;
    /* smtp://MX:PORT/HELO: libcurl says EHLO with the path */
    n = sizeof("smtp://:65535/") + mx_len + strlen(http->helo);
    x->url = malloc(n);
    if (x->url == NULL) {
        xfer_free(x);
        return MTASTS_ENOMEM;
    }
    snprintf(x->url, n, "smtp://%.*s:%u/%s", (int)mx_len, mx,
             (unsigned)(port ? port : 25), http->helo);
    c = common_opts(http, x, resolve, http->probe_timeout_ms);
#define SET(opt, val)                                \
    do {                                             \
        if (c == CURLE_OK)                           \
            c = curl_easy_setopt(x->easy, opt, val); \
    } while (0)
    SET(CURLOPT_PROTOCOLS_STR, "smtp");
    SET(CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
    /* The greeting, EHLO and STARTTLS are libcurl's connect phase, which
     * its connect timeout also bounds: give it the probe's time. */
    SET(CURLOPT_CONNECTTIMEOUT_MS, http->probe_timeout_ms);
    /* Connect only: greeting, EHLO, STARTTLS, handshake, EHLO again; then
     * the transfer ends without a command (no MAIL is ever sent), and
     * finish() says QUIT and closes. (No CURLOPT_FORBID_REUSE here: it
     * would close the connection when the transfer ends, with libcurl's
     * blocking QUIT; a connect-only connection is never reused anyway.) */
    SET(CURLOPT_CONNECT_ONLY, 1L);
    SET(CURLOPT_VERBOSE, 1L);
    SET(CURLOPT_DEBUGFUNCTION, debug_cb);
    SET(CURLOPT_DEBUGDATA, (void *)x);
#undef SET
    return xfer_start(http, x, c);
}

/* ------------------------------------------------------------------ */
/* results                                                             */
/* ------------------------------------------------------------------ */

/* notAfter from CERTINFO, when the OpenSSL hook did not see it. */
static void
certinfo_date(struct xfer *x)
{
    struct curl_certinfo *ci = NULL;
    const struct curl_slist *l;

    if (x->not_after != 0 ||
        curl_easy_getinfo(x->easy, CURLINFO_CERTINFO, &ci) != CURLE_OK ||
        ci == NULL || ci->num_of_certs < 1)
        return;
    for (l = ci->certinfo[0]; l != NULL; l = l->next)
        if (strncmp(l->data, "Expire date:", 12) == 0) {
            x->not_after =
                mtn_http_parse_date(l->data + 12, strlen(l->data + 12));
            return;
        }
}

static void
peer_text(struct xfer *x)
{
    char *ip = NULL;
    long port = 0;

    x->peer[0] = '\0';
    if (curl_easy_getinfo(x->easy, CURLINFO_PRIMARY_IP, &ip) != CURLE_OK ||
        ip == NULL || ip[0] == '\0')
        return;
    (void)curl_easy_getinfo(x->easy, CURLINFO_PRIMARY_PORT, &port);
    snprintf(x->peer, sizeof(x->peer),
             strchr(ip, ':') != NULL ? "[%s]:%ld" : "%s:%ld", ip, port);
}

static uint32_t
elapsed(struct xfer *x)
{
    curl_off_t us = 0;

    if (curl_easy_getinfo(x->easy, CURLINFO_TOTAL_TIME_T, &us) != CURLE_OK ||
        us < 0)
        return 0;
    us /= 1000;
    return us > (curl_off_t)UINT32_MAX ? UINT32_MAX : (uint32_t)us;
}

static int
handshake_done(struct xfer *x)
{
    curl_off_t t = 0;

    if (x->handshake)
        return 1;
    return curl_easy_getinfo(x->easy, CURLINFO_APPCONNECT_TIME_T, &t) ==
               CURLE_OK &&
           t > 0;
}

static void
error_text(struct xfer *x, int code)
{
    if (code == CURLE_OK)
        x->error[0] = '\0';
    else if (x->too_big && code == CURLE_WRITE_ERROR)
        snprintf(x->error, sizeof(x->error), "body larger than %zu bytes",
                 x->max_size);
    else if (x->errbuf[0] != '\0')
        snprintf(x->error, sizeof(x->error), "%s (curl %d)", x->errbuf, code);
    else
        snprintf(x->error, sizeof(x->error), "%s (curl %d)",
                 curl_easy_strerror((CURLcode)code), code);
}

/* The result of a finished (or failed to start) transfer, then the
 * callback, then the transfer is gone. The transfer is no longer in the
 * multi handle nor in the list. */
static void
deliver(struct xfer *x, int code)
{
    long verify = 0;
    int transport, tls;

    if (code == CURLE_OUT_OF_MEMORY || x->body_oom || x->watch_oom) {
        if (x->probe)
            x->probe_cb(x->user, MTASTS_ENOMEM, NULL);
        else
            x->fetch_cb(x->user, MTASTS_ENOMEM, NULL);
        xfer_free(x);
        return;
    }
    (void)curl_easy_getinfo(x->easy, CURLINFO_SSL_VERIFYRESULT, &verify);
    mtn_http_map(code, verify, &transport, &tls);
    if (x->too_big && code == CURLE_WRITE_ERROR)
        transport = MTASTS_FETCH_TOO_BIG;
    if (tls == MTASTS_TLS_NOT_TRIED && handshake_done(x))
        tls = MTASTS_TLS_OK;
    certinfo_date(x);
    peer_text(x);
    error_text(x, code);
    if (x->probe) {
        struct mtasts_net_probe p;

        memset(&p, 0, sizeof(p));
        p.tls = tls == MTASTS_TLS_NOT_TRIED ? MTASTS_TLS_FAILED : tls;
        p.connected = x->greeted;
        p.cert_not_after = x->not_after;
        p.curl_code = code;
        p.verify_result = verify;
        p.tls_version = x->tls_version;
        p.error = x->error;
        p.peer = x->peer;
        p.elapsed_ms = elapsed(x);
        x->probe_cb(x->user, 0, &p);
    } else {
        struct mtasts_net_fetch f;
        long status = 0;
        char *ct = NULL;

        memset(&f, 0, sizeof(f));
        (void)curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
        (void)curl_easy_getinfo(x->easy, CURLINFO_CONTENT_TYPE, &ct);
        /* A response other than 200 is a fetch error by its status, however
         * long its body (a large 404 page is no invalid policy): the
         * response is returned, without the body, which was not read. */
        if (transport == MTASTS_FETCH_TOO_BIG && status > 0 && status != 200)
            transport = MTASTS_FETCH_OK;
        f.transport = transport;
        f.http_status = status > 0 && status < 1000 ? (int)status : 0;
        f.content_type = ct;
        f.content_type_len = ct != NULL ? strlen(ct) : 0;
        /* the body only of a complete response */
        f.body = code == CURLE_OK && x->body != NULL ? x->body : "";
        f.body_len = code == CURLE_OK ? x->body_len : 0;
        f.tls = tls;
        f.cert_not_after = x->not_after;
        f.curl_code = code;
        f.verify_result = verify;
        f.error = x->error;
        f.peer = x->peer;
        f.elapsed_ms = elapsed(x);
        x->fetch_cb(x->user, 0, &f);
    }
    xfer_free(x);
}

/* A finished transfer of the multi handle. */
static void
finish(struct mtn_http *http, struct xfer *x, int code)
{
    if (x->probe && code == CURLE_OK) {
        /* The connection is ours (connect-only): read what needs it,
         * then say QUIT without waiting for the reply; removing the
         * handle closes the connection. */
        static const char quit[] = "QUIT\r\n";
        size_t sent = 0;

        (void)curl_easy_send(x->easy, quit, sizeof(quit) - 1, &sent);
    }
    xfer_unlink(http, x);
    (void)curl_multi_remove_handle(http->multi, x->easy);
    deliver(x, code);
}

/* Call back every transfer that ended. A callback may start new ones. */
static void
collect(struct mtn_http *http)
{
    CURLMsg *m;
    int left;

    while ((m = curl_multi_info_read(http->multi, &left)) != NULL) {
        struct xfer *x;
        int code;

        if (m->msg != CURLMSG_DONE)
            continue;
        code = (int)m->data.result;
        x = easy_xfer(m->easy_handle);
        if (x != NULL)
            finish(http, x, code);
    }
}

/* Transfers whose socket could not be watched: end them (ENOMEM). */
static void
sweep_oom(struct mtn_http *http)
{
    struct xfer *x, *next;

    if (!http->oom)
        return;
    http->oom = 0;
    for (x = http->head; x != NULL; x = next) {
        next = x->next;
        if (x->watch_oom) {
            xfer_unlink(http, x);
            (void)curl_multi_remove_handle(http->multi, x->easy);
            deliver(x, CURLE_OUT_OF_MEMORY);
            next = http->head; /* callbacks may have changed the list */
        }
    }
}

void
mtn_http_on_socket(struct mtn_http *http, int fd, unsigned events)
{
    int ev = 0, running = 0;

    if (http == NULL)
        return;
    if (events & MTASTS_NET_F_POLL_IN)
        ev |= CURL_CSELECT_IN;
    if (events & MTASTS_NET_F_POLL_OUT)
        ev |= CURL_CSELECT_OUT;
    if (events & MTASTS_NET_F_POLL_ERR)
        ev |= CURL_CSELECT_ERR;
    (void)curl_multi_socket_action(http->multi, (curl_socket_t)fd, ev,
                                   &running);
    collect(http);
    sweep_oom(http);
}

void
mtn_http_on_timeout(struct mtn_http *http)
{
    int running = 0;

    if (http == NULL)
        return;
    sweep_oom(http);
    if (!http->timer_set || ms_until(&http->deadline) > 0)
        return;
    (void)curl_multi_socket_action(http->multi, CURL_SOCKET_TIMEOUT, 0,
                                   &running);
    collect(http);
    sweep_oom(http);
}

long
mtn_http_timeout(struct mtn_http *http)
{
    if (http == NULL)
        return -1;
    if (http->oom)
        return 0;
    if (!http->timer_set)
        return -1;
    return ms_until(&http->deadline);
}

size_t
mtn_http_pending(const struct mtn_http *http)
{
    return http == NULL ? 0 : http->pending;
}

void
mtn_http_free(struct mtn_http *http)
{
    struct xfer *x;

    if (http == NULL)
        return;
    while ((x = http->head) != NULL) {
        xfer_unlink(http, x);
        (void)curl_multi_remove_handle(http->multi, x->easy);
        if (x->probe)
            x->probe_cb(x->user, MTASTS_NET_ECANCELED, NULL);
        else
            x->fetch_cb(x->user, MTASTS_NET_ECANCELED, NULL);
        xfer_free(x);
    }
    if (http->multi != NULL)
        curl_multi_cleanup(http->multi);
    curl_slist_free_all(http->connect_to);
    free(http->ca_file);
    free(http->helo);
    free(http);
}
