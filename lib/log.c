/* log.c — see log.h. */
#include "lib/log.h"
#include "lib/util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static enum log_level log_level__ = LOG_LEVEL_INFO;
static const char *log_program__ = "anet";
static const char *const log_names__[] = { "ERR", "WARN", "INFO", "DBG" };

void
log_set_level(enum log_level l)
{
    log_level__ = l;
}

int
log_parse_level(const char *s, enum log_level *l)
{
    static const struct { const char *name; enum log_level level; } map[] = {
        { "err", LOG_LEVEL_ERR }, { "error", LOG_LEVEL_ERR },
        { "warn", LOG_LEVEL_WARN }, { "info", LOG_LEVEL_INFO },
        { "dbg", LOG_LEVEL_DBG }, { "debug", LOG_LEVEL_DBG },
    };
    for (size_t i = 0; i < ARRAY_SIZE(map); i++) {
        if (!strcmp(s, map[i].name)) {
            *l = map[i].level;
            return 0;
        }
    }
    return -EINVAL;
}

void
log_set_program(const char *name)
{
    log_program__ = name;
}

bool
log_enabled(enum log_level l)
{
    return l <= log_level__;
}

void
log_msg(enum log_level l, const char *module, const char *fmt, ...)
{
    struct timespec ts;
    struct tm tm;
    char stamp[32];
    va_list ap;

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
    fprintf(stderr, "%s.%03ldZ %s %s %s: ", stamp, ts.tv_nsec / 1000000,
            log_program__, log_names__[l], module);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

bool
log_rl_allow(struct log_rl *rl)
{
    long long now = time_msec();
    if (now - rl->window_start >= 1000) {
        if (rl->suppressed) {
            fprintf(stderr, "%s: (%u similar messages suppressed)\n",
                    log_program__, rl->suppressed);
        }
        rl->window_start = now;
        rl->in_window = 0;
        rl->suppressed = 0;
    }
    if (rl->in_window < 10) {
        rl->in_window++;
        return true;
    }
    rl->suppressed++;
    return false;
}
