/* ovsdb.h — a small RFC 7047 OVSDB JSON-RPC client (jansson), and the
 * Open_vSwitch schema operations anet needs (bridge.h builds on it).
 *
 * What: connects to ovsdb-server ("unix:PATH" or "tcp:IP:PORT"), runs
 * "transact" requests and "monitor"-free reads ("select"), answers the
 * server's "echo" requests.  Blocking with a timeout, like ofconn.
 *
 * Errors: 0 or negative errno; -EPROTO when the server returned an error
 * (the error text is kept for ovsdb_client_last_error()).
 * Thread-safety: none.
 */
#ifndef ANET_OVSDB_H
#define ANET_OVSDB_H

#include <jansson.h>

struct ovsdb_client;

struct ovsdb_client *ovsdb_client_open(const char *target, int timeout_ms);
void ovsdb_client_destroy(struct ovsdb_client *);   /* NULL-safe */

/* Runs a "transact" on database "Open_vSwitch" with the array of operations
 * 'ops' (reference stolen).  On success '*result' (may be NULL) receives the
 * result array (caller decrefs).  An operation error makes the whole call
 * fail with -EPROTO. */
int ovsdb_transact(struct ovsdb_client *, json_t *ops, json_t **result);

/* Text of the last server-side error, or "". */
const char *ovsdb_client_last_error(const struct ovsdb_client *);

#endif
