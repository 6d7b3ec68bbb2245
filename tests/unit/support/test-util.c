/* test-util.c — see test-util.h. */
#include "tests/unit/support/test-util.h"

#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

#define TEST_CMD_MAX 4096
#define TEST_OUTPUT_MAX (1 << 20)

int
test_run(const char *fmt, ...)
{
    char cmd[TEST_CMD_MAX];
    va_list args;
    va_start(args, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, args);
    va_end(args);
    int st = system(cmd);
    return st != -1 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Runs 'cmd' and stores up to 'cap' - 1 bytes of its output in 'out'. */
static size_t
test_read_output__(const char *cmd, char *out, size_t cap)
{
    FILE *p = popen(cmd, "r");
    size_t n = p ? fread(out, 1, cap - 1, p) : 0;
    if (p) {
        pclose(p);
    }
    out[n] = '\0';
    return n;
}

char *
test_capture(const char *fmt, ...)
{
    char cmd[TEST_CMD_MAX];
    va_list args;
    va_start(args, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, args);
    va_end(args);
    char *out = malloc(TEST_OUTPUT_MAX);
    if (out) {
        test_read_output__(cmd, out, TEST_OUTPUT_MAX);
    }
    return out;
}

const char *
test_voutput(const char *fmt, va_list args)
{
    static char out[1 << 16];
    char cmd[TEST_CMD_MAX];
    vsnprintf(cmd, sizeof cmd, fmt, args);
    size_t n = test_read_output__(cmd, out, sizeof out);
    while (n && (out[n - 1] == '\n' || out[n - 1] == ' ')) {
        out[--n] = '\0';
    }
    return out;
}

const char *
test_output(const char *fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    const char *out = test_voutput(fmt, args);
    va_end(args);
    return out;
}

char *
test_hex(const uint8_t *p, size_t n)
{
    char *s = malloc(2 * n + 1);
    if (!s) {
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        snprintf(s + 2 * i, 3, "%02x", p[i]);
    }
    s[2 * n] = '\0';
    return s;
}

int
test_enter_netns(void)
{
    if (unshare(CLONE_NEWNET)) {
        perror("unshare(CLONE_NEWNET) (the test must run as root)");
        return -1;
    }
    test_run("ip link set lo up");
    return 0;
}
