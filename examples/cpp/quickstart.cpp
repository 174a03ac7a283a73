#include <iostream>
#include "tenure.hpp"

int main(int argc, char **argv) {
    if (argc < 3) return 2;
    try {
        tenure::Workstation ws(argv[1], argv[2]);
        std::cout << ws.status_sentence() << " (" << ws.status().grace_days_left << " days of grace left)\n";
        tenure::Answer answer = ws.authorize("ana");
        std::cout << (answer ? "ana may work" : "ana may not work: " + answer.sentence) << "\n";
    } catch (const tenure::Error &e) {
        std::cerr << "Tenure: " << e.what() << "\n";
        return 1;
    }
}
