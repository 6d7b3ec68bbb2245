/* test-util.h — small helpers the unit tests share: running a shell
 * command, capturing its output, hex-encoding bytes for a command line.
 *
 * What: the tests use ip(8), ethtool(8), ovs-vsctl and ovs-ofctl as
 * independent oracles; these helpers format a command line printf-style,
 * run it through /bin/sh and hand back its exit status or its standard
 * output.  A command runs with the test's environment, so the OVS_* paths
 * set by ovs-sandbox.h apply to it.
 *
 * Design: test code only; nothing here is linked into the product.
 * Command lines are limited to 4 KiB, captured output to 1 MiB (the rest
 * is read and dropped by the shell's pipe closing); both are plenty for a
 * test.
 *
 * Thread-safety: none; test_output() returns a static buffer.
 */
#ifndef ANET_TEST_UTIL_H
#define ANET_TEST_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* Runs the command through system(); returns its exit status, or -1 when
 * it could not run or was killed by a signal. */
int test_run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Runs the command and returns its standard output, NUL-terminated, on the
 * heap (the caller frees it); empty when the command cannot start. */
char *test_capture(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

/* Like test_capture(), but into a static buffer that the next call
 * reuses, with trailing blanks and newlines removed. */
const char *test_output(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
const char *test_voutput(const char *fmt, va_list args)
    __attribute__((format(printf, 1, 0)));

/* Moves the process into a new network namespace with "lo" up, so that
 * the links and daemons a test creates can neither collide with nor
 * outlive anything on the host.  Returns 0, or -1 after saying why on
 * stderr (the test must run as root). */
int test_enter_netns(void);

/* Returns the 'n' bytes at 'p' as lowercase hex, on the heap. */
char *test_hex(const uint8_t *p, size_t n);

#endif
