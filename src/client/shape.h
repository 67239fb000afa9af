/* shape: is an orchestrator's answer shaped as docs/API.md says?
 *
 * The client reads its answers leniently (jget.h) so that it never crashes;
 * these checks come first, so that an answer of another shape (a state
 * that is no state, a count that is a string, a list that is an object) is
 * one clear error naming the field, never output made of fallbacks. A
 * field the client needs must be there with its type; a field it can do
 * without may be missing, but not of another type. Fields the client does
 * not read are not looked at.
 *
 * Each returns 0, or -1 with err naming the field by its path, e.g.
 * "per_driver[1].node_id is a number, not a string" or "state is 'BANANA',
 * not one of CREATED, CONFIGURED, RUNNING, COMPLETED, PARTIAL, FAILED,
 * ABORTED". A string from the answer is quoted cut short and with anything
 * unprintable shown as '?'. */
#ifndef DLT_CLIENT_SHAPE_H
#define DLT_CLIENT_SHAPE_H

#include <cjson/cJSON.h>
#include <stddef.h>

/* A test object: GET /api/tests/ID, and the answers to POST /api/tests and
 * POST /api/tests/ID/stop. */
int shape_test(const cJSON *doc, char *err, size_t errlen);
/* GET /api/tests: {"tests": [<test summary>...]}. */
int shape_test_list(const cJSON *doc, char *err, size_t errlen);
/* GET /api/drivers: {"drivers": [...]}. */
int shape_drivers(const cJSON *doc, char *err, size_t errlen);
/* GET /api/tests/ID/timeseries. */
int shape_timeseries(const cJSON *doc, char *err, size_t errlen);
/* POST /startLoadTest: {"message": "...", "test_id": "..."}. */
int shape_started(const cJSON *doc, char *err, size_t errlen);

/* 1 for CREATED, CONFIGURED, RUNNING, COMPLETED, PARTIAL, FAILED, ABORTED. */
int shape_state_known(const char *state);

#endif
