/* The callback driver: mtasts_lookup_next() in a loop over a vtable. */
#include "internal.h"

static void
say(const struct mtasts_io *io, void *user, const char *what, const char *arg,
    size_t arg_len)
{
    char line[320];
    struct mt_out o;

    if (io->log == NULL)
        return;
    mt_out_init(&o, line, sizeof(line));
    mt_out_str(&o, what);
    mt_out_put(&o, arg, arg_len);
    (void)mt_out_finish(&o, NULL);
    io->log(user, line, strlen(line));
}

int
mtasts_lookup_drive(mtasts_lookup *lk, const struct mtasts_io *caller_io,
                    void *user)
{
    struct mtasts_io iobuf, *io = &iobuf;
    const char *a, *h;
    size_t al, hl;
    int act, rc;

    if (lk == NULL || caller_io == NULL)
        return MTASTS_EINVAL;
    if (caller_io->version == 0)
        return MTASTS_EINVAL;
    if (caller_io->version > MTASTS_IO_VERSION)
        return MTASTS_EVERSION;
    /* Version 1 is the only layout so far: copy its fields. A later
     * version would copy only what the caller's version has. */
    iobuf.version = caller_io->version;
    iobuf.txt = caller_io->txt;
    iobuf.fetch = caller_io->fetch;
    iobuf.log = caller_io->log;
    if (io->txt == NULL || io->fetch == NULL)
        return MTASTS_EINVAL;
    for (;;) {
        act = mtasts_lookup_next(lk);
        switch (act) {
        case MTASTS_ACT_DONE:
            a = mtasts_why_name(mtasts_lookup_why(lk));
            say(io, user, "done: ", a != NULL ? a : "",
                a != NULL ? strlen(a) : 0);
            return MTASTS_OK;
        case MTASTS_ACT_TXT:
            a = mtasts_lookup_txt_name(lk, &al);
            say(io, user, "resolve TXT ", a, al);
            rc = io->txt(user, lk, a, al);
            break;
        case MTASTS_ACT_FETCH:
            a = mtasts_lookup_fetch_url(lk, &al);
            h = mtasts_lookup_fetch_host(lk, &hl);
            say(io, user, "fetch ", a, al);
            rc = io->fetch(user, lk, a, al, h, hl,
                           mtasts_lookup_fetch_timeout_ms(lk),
                           mtasts_lookup_fetch_max_size(lk));
            break;
        default:
            return act; /* fatal error recorded by the machine */
        }
        if (rc == MTASTS_EAGAIN)
            return MTASTS_EAGAIN;
        if (rc != MTASTS_OK)
            return MTASTS_ECALLBACK;
        /* A hook that returned 0 must have answered: otherwise the loop
         * would ask the same question forever. */
        if (mtasts_lookup_next(lk) == act)
            return MTASTS_ECALLBACK;
    }
}
