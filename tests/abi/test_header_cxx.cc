// The public header must compile on its own as C++11 with -pedantic -Werror
// (it is included first), and the program must link against the shared
// library, which proves the extern "C" wrapping.
#include <mtasts.h>

#include <cstdio>
#include <cstring>

int
main()
{
    struct mtasts_diag d = MTASTS_DIAG_INIT;
    uint32_t num = 0;
    const char *v = mtasts_version(&num);

    if (v == nullptr || std::strcmp(v, MTASTS_VERSION_STRING) != 0 ||
        num != MTASTS_VERSION_NUM) {
        std::printf("FAIL: mtasts_version() mismatch\n");
        return 1;
    }
    if (d.version != MTASTS_DIAG_VERSION) {
        std::printf("FAIL: MTASTS_DIAG_INIT does not set the version\n");
        return 1;
    }
    std::printf("PASS: C++11 header build, linked library version %s\n", v);
    return 0;
}
