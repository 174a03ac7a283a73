#include <stdio.h>
#include "tenure.h"

int main(int argc, char **argv) {
    TenureWorkstation *ws = NULL;
    if (argc < 3 || tenure_workstation_open(argv[1], argv[2], NULL, &ws) != TENURE_CODE_OK) {
        fprintf(stderr, "cannot open Tenure: %s\n", tenure_last_error_message());
        return 1;
    }
    TenureStatus status;
    char *sentence = NULL;
    if (tenure_status(ws, &status) == TENURE_CODE_OK && tenure_status_sentence(ws, &sentence) == TENURE_CODE_OK) {
        printf("%s (%d days of grace left)\n", sentence, status.grace_days_left);
        tenure_string_free(sentence);
    }
    TenureAnswer answer;
    if (tenure_authorize(ws, "ana", &answer) == TENURE_CODE_OK) {
        if (answer.granted) {
            printf("ana may work\n");
        } else {
            printf("ana may not work: %s\n", answer.sentence);
        }
        tenure_answer_free(&answer);
    }
    tenure_workstation_close(ws);
    return 0;
}
