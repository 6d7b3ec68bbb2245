/* log.h — levelled, optionally rate-limited logging to stderr.
 *
 * Each .c file names its module once:
 *
 *     LOG_MODULE(ofconn);
 *
 * and then logs with LOG_ERR/LOG_WARN/LOG_INFO/LOG_DBG(fmt, ...).  Anything a
 * remote peer or a packet can trigger must use the _RL variants, which allow a
 * burst of 10 messages and then one per second per call site, counting what
 * they suppressed.  Thread-safety: none needed; anet daemons are single
 * threaded event loops.
 */
#ifndef ANET_LOG_H
#define ANET_LOG_H

#include <stdbool.h>

enum log_level { LOG_LEVEL_ERR, LOG_LEVEL_WARN, LOG_LEVEL_INFO, LOG_LEVEL_DBG };

struct log_rl {
    long long window_start;   /* msec */
    unsigned int in_window;
    unsigned int suppressed;
};

void log_set_level(enum log_level);
/* Parses "err", "warn", "info", "dbg"/"debug"; returns 0 or -EINVAL. */
int log_parse_level(const char *s, enum log_level *);
void log_set_program(const char *name);
bool log_enabled(enum log_level);
void log_msg(enum log_level, const char *module, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
bool log_rl_allow(struct log_rl *);

#define LOG_MODULE(name) static const char log_module__[] = #name

#define LOG_AT__(lvl, ...) \
    do { if (log_enabled(lvl)) log_msg(lvl, log_module__, __VA_ARGS__); } while (0)
#define LOG_ERR(...)  LOG_AT__(LOG_LEVEL_ERR, __VA_ARGS__)
#define LOG_WARN(...) LOG_AT__(LOG_LEVEL_WARN, __VA_ARGS__)
#define LOG_INFO(...) LOG_AT__(LOG_LEVEL_INFO, __VA_ARGS__)
#define LOG_DBG(...)  LOG_AT__(LOG_LEVEL_DBG, __VA_ARGS__)

#define LOG_RL__(lvl, ...)                                              \
    do {                                                                \
        static struct log_rl rl__;                                      \
        if (log_enabled(lvl) && log_rl_allow(&rl__)) {                  \
            log_msg(lvl, log_module__, __VA_ARGS__);                    \
        }                                                               \
    } while (0)
#define LOG_WARN_RL(...) LOG_RL__(LOG_LEVEL_WARN, __VA_ARGS__)
#define LOG_INFO_RL(...) LOG_RL__(LOG_LEVEL_INFO, __VA_ARGS__)

#endif
