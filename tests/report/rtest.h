/* Shared helpers of the report suites. */
#ifndef RTEST_H
#define RTEST_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "mtasts.h"
#include "harness.h"

/* RFC 8460 Appendix B, with the wrapped additional-information URL joined
 * into one line (doc/requirements.md, Appendix A); mx-host is a bare string as
 * printed in the RFC (E-4). */
#define APP_B                                                                \
    "{\n"                                                                    \
    "     \"organization-name\": \"Company-X\",\n"                           \
    "     \"date-range\": {\n"                                               \
    "       \"start-datetime\": \"2016-04-01T00:00:00Z\",\n"                 \
    "       \"end-datetime\": \"2016-04-01T23:59:59Z\"\n"                    \
    "     },\n"                                                              \
    "     \"contact-info\": \"sts-reporting@company-x.example\",\n"          \
    "     \"report-id\": \"5065427c-23d3-47ca-b6e0-946ea0e8c4be\",\n"        \
    "     \"policies\": [{\n"                                                \
    "       \"policy\": {\n"                                                 \
    "         \"policy-type\": \"sts\",\n"                                   \
    "         \"policy-string\": [\"version: STSv1\",\"mode: testing\",\n"   \
    "               \"mx: *.mail.company-y.example\",\"max_age: 86400\"],\n" \
    "         \"policy-domain\": \"company-y.example\",\n"                   \
    "         \"mx-host\": \"*.mail.company-y.example\"\n"                   \
    "       },\n"                                                            \
    "       \"summary\": {\n"                                                \
    "         \"total-successful-session-count\": 5326,\n"                   \
    "         \"total-failure-session-count\": 303\n"                        \
    "       },\n"                                                            \
    "       \"failure-details\": [{\n"                                       \
    "         \"result-type\": \"certificate-expired\",\n"                   \
    "         \"sending-mta-ip\": \"2001:db8:abcd:0012::1\",\n"              \
    "         \"receiving-mx-hostname\": \"mx1.mail.company-y.example\",\n"  \
    "         \"failed-session-count\": 100\n"                               \
    "       }, {\n"                                                          \
    "         \"result-type\": \"starttls-not-supported\",\n"                \
    "         \"sending-mta-ip\": \"2001:db8:abcd:0013::1\",\n"              \
    "         \"receiving-mx-hostname\": \"mx2.mail.company-y.example\",\n"  \
    "         \"receiving-ip\": \"203.0.113.56\",\n"                         \
    "         \"failed-session-count\": 200,\n"                              \
    "         \"additional-information\": "                                  \
    "\"https://reports.company-x.example/report_info?id=5065427c-23d3#"      \
    "StarttlsNotSupported\"\n"                                               \
    "       }, {\n"                                                          \
    "         \"result-type\": \"validation-failure\",\n"                    \
    "         \"sending-mta-ip\": \"198.51.100.62\",\n"                      \
    "         \"receiving-ip\": \"203.0.113.58\",\n"                         \
    "         \"receiving-mx-hostname\": "                                   \
    "\"mx-backup.mail.company-y.example\",\n"                                \
    "         \"failed-session-count\": 3,\n"                                \
    "         \"failure-reason-code\": "                                     \
    "\"X509_V_ERR_PROXY_PATH_LENGTH_EXCEEDED\"\n"                            \
    "       }]\n"                                                            \
    "     }]\n"                                                              \
    "   }\n"

/* Building blocks of small reports. */
#define DR                                                         \
    "\"date-range\":{\"start-datetime\":\"2016-04-01T00:00:00Z\"," \
    "\"end-datetime\":\"2016-04-01T23:59:59Z\"}"
#define TOP                                                                  \
    "\"organization-name\":\"Org\"," DR ",\"contact-info\":\"a@b.example\"," \
    "\"report-id\":\"id1\""
#define POLICY                                                           \
    "\"policy\":{\"policy-type\":\"sts\",\"policy-string\":[\"version: " \
    "STSv1\"],\"policy-domain\":\"b.example\",\"mx-host\":[\"mx.b.example\"]}"
#define SUMMARY                                          \
    "\"summary\":{\"total-successful-session-count\":1," \
    "\"total-failure-session-count\":0}"
#define REPORT_WITH(pol) "{" TOP ",\"policies\":[{" pol "}]}"
#define DETAILS(det) \
    REPORT_WITH(POLICY "," SUMMARY ",\"failure-details\":[{" det "}]")
#define DET_MIN \
    "\"result-type\":\"starttls-not-supported\",\"failed-session-count\":1"

#endif
