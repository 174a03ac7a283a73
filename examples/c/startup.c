/*
 * How long a product waits for Tenure at start: load libtenure (dlopen), open a workstation,
 * read the status, close. Prints the microseconds taken; the benchmark (crates/tenure-ffi/
 * benches/ffi.rs) runs it as a fresh process each time.
 *
 *   cc -std=c11 -I include examples/c/startup.c -ldl -o startup
 *   ./startup path/to/libtenure.so PROFILE PRODUCT_DB
 */
#define _POSIX_C_SOURCE 200809L
#include <dlfcn.h>
#include <stdio.h>
#include <time.h>

#include "tenure.h"

typedef TenureCode (*open_fn)(const char *, const char *, const char *, TenureWorkstation **);
typedef TenureCode (*status_fn)(TenureWorkstation *, TenureStatus *);
typedef TenureCode (*close_fn)(TenureWorkstation *);

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: %s LIBTENURE PROFILE PRODUCT_DB\n", argv[0]);
        return 2;
    }
    struct timespec start, end;
    clock_gettime(CLOCK_MONOTONIC, &start);
    void *lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (lib == NULL) {
        fprintf(stderr, "%s\n", dlerror());
        return 1;
    }
    /* POSIX's way to take a function from dlsym (ISO C has no object-to-function cast). */
    open_fn open;
    status_fn status;
    close_fn close;
    *(void **)&open = dlsym(lib, "tenure_workstation_open");
    *(void **)&status = dlsym(lib, "tenure_status");
    *(void **)&close = dlsym(lib, "tenure_workstation_close");
    TenureWorkstation *ws = NULL;
    TenureStatus st;
    if (open(argv[2], argv[3], NULL, &ws) != TENURE_CODE_OK || status(ws, &st) != TENURE_CODE_OK ||
        st.state != TENURE_STATE_LICENSED) {
        fprintf(stderr, "not licensed\n");
        return 1;
    }
    clock_gettime(CLOCK_MONOTONIC, &end);
    close(ws);
    printf("%ld\n", (long)((end.tv_sec - start.tv_sec) * 1000000L + (end.tv_nsec - start.tv_nsec) / 1000L));
    return 0;
}
