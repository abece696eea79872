/*
 * How mtasts runs mtasts-net, the program of the network commands lookup
 * and check (net_main.c), the way git runs its sub-programs: execv() with
 * the same arguments (argv[0] included, so that the messages read the
 * same) of the first of
 *
 *   $MTASTS_EXEC_PATH/mtasts-net   when that is set and not empty: then
 *                                  the only place tried
 *   DIR/mtasts-net                 DIR: the directory of this program
 *                                  (/proc/self/exe), as in the build tree
 *   DIR/REL/mtasts-net             REL: libexecdir/mtasts from bindir, for
 *                                  an installed tree moved elsewhere
 *   LIBEXEC/mtasts-net             LIBEXEC: where it is installed,
 *                                  prefix/libexecdir/mtasts
 *
 * (REL and LIBEXEC come from meson: exec_config.h). A build without
 * libmtasts-net (MTASTS_EXEC_NET 0) has no mtasts-net and tries nothing.
 * When none runs, lookup and check check their arguments as usual and
 * net_missing() says which were tried.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "exec_config.h"
#include "net_tool.h"
#include "text.h"
#include "tool.h"

#define NET_PROGRAM "mtasts-net"
#define MAX_TRIED   3

/* What net_exec() tried: each path and the errno of its execv(). */
static char *tried[MAX_TRIED];
static int tried_errno[MAX_TRIED];
static size_t ntried;
static int exec_oom;

#if MTASTS_EXEC_NET
/* execv() dir[0..dir_len) "/" [rel "/"] NET_PROGRAM; returns when that
 * fails, after noting the path and why. */
static void
try_exec(const char *dir, size_t dir_len, const char *rel, char **argv)
{
    size_t rel_len = rel != NULL ? strlen(rel) + 1 : 0;
    size_t n = dir_len + rel_len + 1 + sizeof(NET_PROGRAM);
    char *p, *q;

    if (ntried == MAX_TRIED)
        return;
    p = malloc(n);
    if (p == NULL) {
        exec_oom = 1;
        return;
    }
    memcpy(p, dir, dir_len);
    q = p + dir_len;
    if (rel != NULL) {
        *q++ = '/';
        memcpy(q, rel, rel_len - 1);
        q += rel_len - 1;
    }
    *q++ = '/';
    memcpy(q, NET_PROGRAM, sizeof(NET_PROGRAM));
    execv(p, argv);
    tried_errno[ntried] = errno;
    tried[ntried++] = p;
}

/* The directory of the running program, without its trailing '/' (""
 * for the root), from /proc/self/exe; NULL when that cannot be read. */
static char *
self_dir(void)
{
    size_t cap = 256;
    ssize_t n;
    char *buf = NULL, *nb, *slash;

    for (;;) {
        nb = realloc(buf, cap);
        if (nb == NULL) {
            exec_oom = 1;
            free(buf);
            return NULL;
        }
        buf = nb;
        n = readlink("/proc/self/exe", buf, cap);
        if (n < 0) {
            free(buf);
            return NULL;
        }
        if ((size_t)n < cap)
            break;
        if (cap >= 65536) {
            free(buf);
            return NULL;
        }
        cap *= 2;
    }
    buf[n] = '\0';
    slash = strrchr(buf, '/');
    if (slash == NULL) {
        free(buf);
        return NULL;
    }
    *slash = '\0';
    return buf;
}
#endif

void
net_exec(char **argv)
{
#if MTASTS_EXEC_NET
    const char *env = getenv("MTASTS_EXEC_PATH");
    char *dir;
    size_t n;

    if (env != NULL && env[0] != '\0') {
        n = strlen(env);
        while (n > 1 && env[n - 1] == '/')
            n--;
        try_exec(env, n, NULL, argv);
        return;
    }
    dir = self_dir();
    if (dir != NULL) {
        try_exec(dir, strlen(dir), NULL, argv);
        if (MTASTS_EXEC_REL[0] != '\0')
            try_exec(dir, strlen(dir), MTASTS_EXEC_REL, argv);
        free(dir);
    }
    try_exec(MTASTS_EXEC_DIR, strlen(MTASTS_EXEC_DIR), NULL, argv);
#else
    (void)argv;
#endif
}

void
net_exec_free(void)
{
    size_t i;

    for (i = 0; i < ntried; i++)
        free(tried[i]);
    ntried = 0;
}

int
net_missing(const char *command)
{
    size_t i;

    if (exec_oom) {
        fputs("mtasts: out of memory\n", stderr);
        return EXIT_INTERNAL;
    }
    if (!MTASTS_EXEC_NET) {
        fprintf(stderr,
                "mtasts: %s needs libmtasts-net (built without "
                "c-ares/libcurl)\n",
                command);
        return EXIT_INTERNAL;
    }
    fprintf(stderr, "mtasts: %s needs libmtasts-net (%s not installed; tried ",
            command, NET_PROGRAM);
    for (i = 0; i < ntried; i++) {
        if (i > 0)
            fputs(", ", stderr);
        text_puts(stderr, tried[i]);
        if (tried_errno[i] != ENOENT && tried_errno[i] != ENOTDIR)
            fprintf(stderr, ": %s", strerror(tried_errno[i]));
    }
    fputs(")\n", stderr);
    return EXIT_INTERNAL;
}
