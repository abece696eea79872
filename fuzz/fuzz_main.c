/*
 * Standalone driver for the fuzz targets when libFuzzer is not used
 * (-Dfuzzing=false): feeds every file named on the command line, or every
 * regular file inside a directory named there, to LLVMFuzzerTestOneInput
 * once. A target aborts on any broken invariant, so reaching the end means
 * every input passed.
 */
#define _POSIX_C_SOURCE 200809L

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static unsigned long ran, failed;

static int
run_file(const char *path)
{
    FILE *f;
    unsigned char *buf = NULL, *nb;
    size_t len = 0, cap = 0, n;

    f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "fuzz_main: cannot open %s\n", path);
        return -1;
    }
    for (;;) {
        if (len == cap) {
            cap = cap != 0 ? cap * 2 : 4096;
            nb = realloc(buf, cap);
            if (nb == NULL) {
                fprintf(stderr, "fuzz_main: out of memory\n");
                free(buf);
                fclose(f);
                return -1;
            }
            buf = nb;
        }
        n = fread(buf + len, 1, cap - len, f);
        len += n;
        if (n == 0)
            break;
    }
    if (ferror(f)) {
        fprintf(stderr, "fuzz_main: cannot read %s\n", path);
        free(buf);
        fclose(f);
        return -1;
    }
    fclose(f);
    /* Give the target an exactly sized copy so ASan sees over-reads. */
    nb = malloc(len != 0 ? len : 1);
    if (nb == NULL) {
        free(buf);
        return -1;
    }
    if (len > 0)
        memcpy(nb, buf, len);
    free(buf);
    (void)LLVMFuzzerTestOneInput(nb, len);
    free(nb);
    ran++;
    return 0;
}

static int
cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
run_dir(const char *dir)
{
    DIR *d;
    struct dirent *e;
    struct stat st;
    char **names = NULL, **nn, *path;
    size_t count = 0, cap = 0, i, plen;
    int rc = 0;

    d = opendir(dir);
    if (d == NULL) {
        fprintf(stderr, "fuzz_main: cannot open directory %s\n", dir);
        return -1;
    }
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        plen = strlen(dir) + strlen(e->d_name) + 2;
        path = malloc(plen);
        if (path == NULL) {
            rc = -1;
            break;
        }
        snprintf(path, plen, "%s/%s", dir, e->d_name);
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
            free(path);
            continue;
        }
        if (count == cap) {
            cap = cap != 0 ? cap * 2 : 64;
            nn = realloc(names, cap * sizeof(*names));
            if (nn == NULL) {
                free(path);
                rc = -1;
                break;
            }
            names = nn;
        }
        names[count++] = path;
    }
    closedir(d);
    if (count > 0)
        qsort(names, count, sizeof(*names), cmp_names);
    for (i = 0; i < count; i++) {
        if (rc == 0 && run_file(names[i]) != 0)
            rc = -1;
        free(names[i]);
    }
    free(names);
    return rc;
}

int
main(int argc, char **argv)
{
    struct stat st;
    int i;

    if (argc < 2) {
        fprintf(stderr, "usage: %s FILE|DIR...\n", argv[0]);
        return 2;
    }
    for (i = 1; i < argc; i++) {
        if (stat(argv[i], &st) != 0) {
            fprintf(stderr, "fuzz_main: cannot stat %s\n", argv[i]);
            failed++;
            continue;
        }
        if (S_ISDIR(st.st_mode) ? run_dir(argv[i]) != 0
                                : run_file(argv[i]) != 0)
            failed++;
    }
    if (ran == 0)
        failed++;
    printf("%lu passed, %lu failed\n", ran, failed);
    return failed != 0 ? 1 : 0;
}
