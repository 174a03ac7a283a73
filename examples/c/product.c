/*
 * A product written in C asks Tenure: the license's status, whether a user may work, a
 * concurrent seat kept until an admin ends it, a device's license; then what bad input gets.
 *
 *   cc -std=c11 -I include examples/c/product.c -L target/debug -ltenure -lpthread
 *   ./a.out NAMED_PROFILE NAMED_DB CONCURRENT_PROFILE CONCURRENT_DB HANGING_SERVER_URL
 *
 * Two workstations are open at once: one license with named seats, one with concurrent seats
 * and devices. Each check prints a line; the exit code is 0 when every check held.
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tenure.h"

static int failures = 0;

#define CHECK(cond, what)                                                               \
    do {                                                                                \
        if (cond) {                                                                     \
            printf("ok %s\n", what);                                                    \
        } else {                                                                        \
            printf("FAILED %s: %s\n", what, tenure_last_error_message());               \
            failures++;                                                                 \
        }                                                                               \
        fflush(stdout);                                                                 \
    } while (0)

/* What the seat's callback saw, handed to the main thread. */
struct seat_watch {
    pthread_mutex_t lock;
    pthread_cond_t changed;
    int lost;
    char sentence[512];
};

/* Runs on a Tenure heartbeat thread: note the event, act on our own thread. */
static void on_seat_event(void *context, TenureSeatEvent event, const char *sentence) {
    struct seat_watch *watch = context;
    if (event != TENURE_SEAT_EVENT_LOST) {
        return;
    }
    pthread_mutex_lock(&watch->lock);
    watch->lost = 1;
    snprintf(watch->sentence, sizeof watch->sentence, "%s", sentence);
    pthread_cond_signal(&watch->changed);
    pthread_mutex_unlock(&watch->lock);
}

static int wait_until_lost(struct seat_watch *watch, int seconds) {
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += seconds;
    pthread_mutex_lock(&watch->lock);
    while (!watch->lost) {
        if (pthread_cond_timedwait(&watch->changed, &watch->lock, &until) != 0) {
            break;
        }
    }
    int lost = watch->lost;
    pthread_mutex_unlock(&watch->lock);
    return lost;
}

static void named_seats(TenureWorkstation *ws) {
    TenureStatus status;
    CHECK(tenure_status(ws, &status) == TENURE_CODE_OK, "status");
    CHECK(status.state == TENURE_STATE_LICENSED, "licensed");
    CHECK(status.grace_days_left > 0, "grace days left");
    CHECK(status.seat_kind == TENURE_SEAT_KIND_NAMED && status.seats == 10, "10 named seats");
    printf("grace: %d days, offline until %lld\n", status.grace_days_left,
           (long long)status.offline_until);

    char *sentence = NULL;
    CHECK(tenure_status_sentence(ws, &sentence) == TENURE_CODE_OK, "status sentence");
    printf("sentence: %s\n", sentence);
    tenure_string_free(sentence);

    bool enabled = false;
    CHECK(tenure_module_enabled(ws, "inspect", &enabled) == TENURE_CODE_OK && enabled,
          "module inspect enabled");
    CHECK(tenure_module_enabled(ws, "report", &enabled) == TENURE_CODE_OK && !enabled,
          "module report not licensed");

    TenureAnswer answer;
    CHECK(tenure_authorize(ws, "ana", &answer) == TENURE_CODE_OK && answer.granted,
          "ana authorized");
    printf("answer: %s\n", answer.sentence);
    tenure_answer_free(&answer);
    CHECK(tenure_authorize(ws, "zoe", &answer) == TENURE_CODE_OK && !answer.granted &&
              answer.reason == TENURE_REASON_UNKNOWN_USER,
          "zoe refused: unknown user");
    printf("refusal: %s\n", answer.sentence);
    tenure_answer_free(&answer);

    CHECK(tenure_validate(ws, &status) == TENURE_CODE_OK && status.state == TENURE_STATE_LICENSED,
          "validated online");
}

static void concurrent_seats(TenureWorkstation *ws) {
    struct seat_watch watch = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, ""};
    TenureSeat *seat = NULL;
    TenureAnswer answer;
    CHECK(tenure_seat_take(ws, "ana", "pc-1", on_seat_event, &watch, &seat, &answer) ==
                  TENURE_CODE_OK &&
              answer.granted && seat != NULL,
          "seat taken");
    tenure_answer_free(&answer);
    if (seat == NULL) {
        return;
    }
    char *session = NULL;
    CHECK(tenure_seat_session_id(seat, &session) == TENURE_CODE_OK, "session id");
    /* The user stepped away, then came back: the heartbeats say so to the pool. */
    CHECK(tenure_seat_set_idle(seat, true) == TENURE_CODE_OK, "reported idle");
    CHECK(tenure_seat_set_idle(seat, false) == TENURE_CODE_OK, "reported in use");
    /* The test (an admin) ends this session; the heartbeat hears it. */
    printf("SESSION %s\n", session);
    fflush(stdout);
    tenure_string_free(session);
    CHECK(wait_until_lost(&watch, 60), "callback told the seat was lost");
    printf("LOST %s\n", watch.sentence);
    bool lost = false;
    CHECK(tenure_seat_lost(seat, &lost) == TENURE_CODE_OK && lost, "seat says lost");
    tenure_seat_release(seat);
    CHECK(tenure_seat_release(seat) == TENURE_CODE_INVALID_HANDLE, "released seat refused");
    CHECK(tenure_seat_set_idle(seat, true) == TENURE_CODE_INVALID_HANDLE,
          "released seat refused for idle");

    CHECK(tenure_device_register(ws, "scanner-1", "scanner", &answer) == TENURE_CODE_OK &&
              answer.granted,
          "device registered");
    printf("device: %s\n", answer.sentence);
    tenure_answer_free(&answer);
    CHECK(tenure_device_register(ws, "scanner-1", "printer", &answer) ==
              TENURE_CODE_INVALID_ARGUMENT,
          "unknown device type refused");
    printf("error: %s\n", tenure_last_error_message());
}

/* Places in line, told on the waiting thread. */
struct line_watch {
    int told;
    char last[256];
};

static void on_place(void *context, TenureSeatEvent event, const char *sentence) {
    struct line_watch *watch = context;
    if (event == TENURE_SEAT_EVENT_IN_LINE) {
        watch->told++;
        snprintf(watch->last, sizeof watch->last, "%s", sentence);
    }
}

static void *free_a_seat_soon(void *seat) {
    struct timespec pause = {1, 0};
    nanosleep(&pause, NULL);
    tenure_seat_release(seat);
    return NULL;
}

/* Both seats taken: dan waits in line, gives up at the time limit, then waits again and is given
 * the seat freed meanwhile. */
static void waiting_in_line(TenureWorkstation *ws) {
    TenureSeat *bo = NULL, *cy = NULL, *dan = NULL;
    TenureAnswer answer;
    CHECK(tenure_seat_take(ws, "bo", "pc-2", NULL, NULL, &bo, &answer) == TENURE_CODE_OK && bo != NULL,
          "bo takes a seat");
    tenure_answer_free(&answer);
    CHECK(tenure_seat_take(ws, "cy", "pc-3", NULL, NULL, &cy, &answer) == TENURE_CODE_OK && cy != NULL,
          "cy takes the last seat");
    tenure_answer_free(&answer);
    struct line_watch watch = {0, ""};
    CHECK(tenure_seat_wait(ws, "dan", "pc-4", 1500, on_place, &watch, &dan, &answer) == TENURE_CODE_TIMEOUT &&
              dan == NULL,
          "no seat within the wait: TIMEOUT");
    printf("error: %s\n", tenure_last_error_message());
    CHECK(watch.told > 0 && strstr(watch.last, "1st in line") != NULL, "told its place in line");
    printf("place: %s\n", watch.last);

    pthread_t freer;
    pthread_create(&freer, NULL, free_a_seat_soon, bo);
    CHECK(tenure_seat_wait(ws, "dan", "pc-4", 30000, on_place, &watch, &dan, &answer) == TENURE_CODE_OK &&
              answer.granted && dan != NULL,
          "the seat freed goes to dan, waiting");
    tenure_answer_free(&answer);
    pthread_join(freer, NULL);
    tenure_seat_release(dan);
    tenure_seat_release(cy);
}

/* Many threads ask through one handle at once. */
static void *authorize_many(void *ws) {
    for (int i = 0; i < 25; i++) {
        TenureAnswer answer;
        if (tenure_authorize(ws, "ana", &answer) != TENURE_CODE_OK || !answer.granted) {
            return (void *)1;
        }
        tenure_answer_free(&answer);
    }
    return NULL;
}

static void threads(TenureWorkstation *ws) {
    pthread_t workers[4];
    for (int i = 0; i < 4; i++) {
        pthread_create(&workers[i], NULL, authorize_many, ws);
    }
    int failed = 0;
    for (int i = 0; i < 4; i++) {
        void *result = NULL;
        pthread_join(workers[i], &result);
        failed += result != NULL;
    }
    CHECK(failed == 0, "4 threads authorize through one handle at once");
}

/* Asks until the handle is closed under it: every answer is granted or "not open", never a crash. */
static void *authorize_until_closed(void *ws) {
    for (;;) {
        TenureAnswer answer;
        TenureCode code = tenure_authorize(ws, "ana", &answer);
        if (code == TENURE_CODE_INVALID_HANDLE) {
            return NULL;
        }
        if (code != TENURE_CODE_OK || !answer.granted) {
            return (void *)1;
        }
        tenure_answer_free(&answer);
    }
}

static void close_while_in_use(const char *profile, const char *db) {
    TenureWorkstation *ws = NULL;
    CHECK(tenure_workstation_open(profile, db, NULL, &ws) == TENURE_CODE_OK, "open a third handle");
    pthread_t workers[2];
    for (int i = 0; i < 2; i++) {
        pthread_create(&workers[i], NULL, authorize_until_closed, ws);
    }
    struct timespec pause = {0, 200 * 1000 * 1000};
    nanosleep(&pause, NULL);
    CHECK(tenure_workstation_close(ws) == TENURE_CODE_OK, "closed while two threads use it");
    int failed = 0;
    for (int i = 0; i < 2; i++) {
        void *result = NULL;
        pthread_join(workers[i], &result);
        failed += result != NULL;
    }
    CHECK(failed == 0, "their calls after the close are refused, not crashed");
}

/* A server that accepts and never answers: the call ends at the time limit, with a sentence. */
static void hanging_server(const char *profile, const char *db, const char *url) {
    TenureWorkstation *ws = NULL;
    CHECK(tenure_workstation_open(profile, db, url, &ws) == TENURE_CODE_OK, "open with a hanging server");
    CHECK(tenure_workstation_set_timeout(ws, 1500) == TENURE_CODE_OK, "time limit set");
    struct timespec start, end;
    clock_gettime(CLOCK_MONOTONIC, &start);
    TenureStatus status;
    CHECK(tenure_validate(ws, &status) == TENURE_CODE_TIMEOUT, "validation against a hanging server times out");
    clock_gettime(CLOCK_MONOTONIC, &end);
    printf("error: %s\n", tenure_last_error_message());
    CHECK(end.tv_sec - start.tv_sec < 10, "and does not hang");
    CHECK(tenure_status(ws, &status) == TENURE_CODE_OK && status.state == TENURE_STATE_LICENSED,
          "the cached license still works");
    tenure_workstation_close(ws);
}

/* No database given: TENURE_DB (set by the test to a folder, not a database) is used ahead of
 * the profile's own, as by the app; and a time limit of 0 is refused. */
static void environment(const char *profile) {
    TenureWorkstation *ws = NULL;
    CHECK(tenure_workstation_open(profile, NULL, NULL, &ws) == TENURE_CODE_OK, "open with TENURE_DB");
    TenureStatus status;
    CHECK(tenure_status(ws, &status) == TENURE_CODE_OK && status.state == TENURE_STATE_DATABASE_UNUSABLE,
          "TENURE_DB is the database used");
    CHECK(tenure_workstation_set_timeout(ws, 0) == TENURE_CODE_INVALID_ARGUMENT, "a time limit of 0 refused");
    printf("error: %s\n", tenure_last_error_message());
    tenure_workstation_close(ws);
}

static void bad_input(TenureWorkstation *closed) {
    TenureStatus status;
    TenureAnswer answer;
    CHECK(tenure_status(NULL, &status) == TENURE_CODE_NULL_ARGUMENT, "NULL handle refused");
    CHECK(strlen(tenure_last_error_message()) > 0, "NULL handle explained");
    CHECK(tenure_status(closed, &status) == TENURE_CODE_INVALID_HANDLE, "closed handle refused");
    printf("error: %s\n", tenure_last_error_message());
    CHECK(tenure_authorize(closed, NULL, &answer) == TENURE_CODE_NULL_ARGUMENT, "NULL user refused");
    CHECK(tenure_status(closed, NULL) == TENURE_CODE_NULL_ARGUMENT, "NULL out refused");
    TenureWorkstation *ws = NULL;
    CHECK(tenure_workstation_open(NULL, "\xff\xfe", NULL, &ws) == TENURE_CODE_INVALID_UTF8 && ws == NULL,
          "invalid UTF-8 refused");
    printf("error: %s\n", tenure_last_error_message());
}

int main(int argc, char **argv) {
    if (argc != 6) {
        fprintf(stderr, "usage: %s NAMED_PROFILE NAMED_DB CONCURRENT_PROFILE CONCURRENT_DB HANGING_SERVER_URL\n",
                argv[0]);
        return 2;
    }
    CHECK(tenure_abi_version() == TENURE_ABI_VERSION, "ABI version");
    TenureWorkstation *named = NULL, *concurrent = NULL;
    CHECK(tenure_workstation_open(argv[1], argv[2], NULL, &named) == TENURE_CODE_OK, "open named");
    CHECK(tenure_workstation_open(argv[3], argv[4], NULL, &concurrent) == TENURE_CODE_OK,
          "open concurrent");
    if (named == NULL || concurrent == NULL) {
        return 1;
    }
    named_seats(named);
    threads(named);
    concurrent_seats(concurrent);
    waiting_in_line(concurrent);
    CHECK(tenure_workstation_close(named) == TENURE_CODE_OK, "close named");
    CHECK(tenure_workstation_close(concurrent) == TENURE_CODE_OK, "close concurrent");
    bad_input(named);
    environment(argv[1]);
    hanging_server(argv[1], argv[2], argv[5]);
    close_while_in_use(argv[1], argv[2]);
    printf("%s\n", failures == 0 ? "ALL OK" : "SOME FAILED");
    return failures == 0 ? 0 : 1;
}
