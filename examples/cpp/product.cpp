// A product written in C++ asks Tenure through tenure.hpp: RAII handles, exceptions, a seat
// whose callback is a lambda (one that throws, too: the library catches it).
//
//   c++ -std=c++17 -I include examples/cpp/product.cpp -L target/debug -ltenure -lpthread
//   ./a.out NAMED_PROFILE NAMED_DB CONCURRENT_PROFILE CONCURRENT_DB
#include <chrono>
#include <condition_variable>
#include <iostream>
#include <mutex>
#include <stdexcept>
#include <string>

#include "tenure.hpp"

static int failures = 0;

static void check(bool held, const std::string &what) {
    std::cout << (held ? "ok " : "FAILED ") << what << std::endl;
    failures += held ? 0 : 1;
}

int main(int argc, char **argv) {
    if (argc != 5) {
        std::cerr << "usage: " << argv[0] << " NAMED_PROFILE NAMED_DB CONCURRENT_PROFILE CONCURRENT_DB\n";
        return 2;
    }
    try {
        tenure::Workstation named(argv[1], argv[2]);
        check(named.status().state == TENURE_STATE_LICENSED, "licensed");
        std::cout << "sentence: " << named.status_sentence() << std::endl;
        check(named.module_enabled("inspect"), "module inspect enabled");
        tenure::Answer ana = named.authorize("ana");
        check(bool(ana), "ana authorized: " + ana.sentence);
        tenure::Answer zoe = named.authorize("zoe");
        check(!zoe && zoe.reason == TENURE_REASON_UNKNOWN_USER, "zoe refused: " + zoe.sentence);

        tenure::Workstation concurrent(argv[3], argv[4]);
        std::mutex lock;
        std::condition_variable changed;
        std::string lost;
        auto taken = concurrent.take_seat("ana", [&](tenure::SeatEvent event, const std::string &why) {
            if (event == TENURE_SEAT_EVENT_LOST) {
                std::lock_guard<std::mutex> guard(lock);
                lost = why;
                changed.notify_all();
                // Thrown on a library thread: caught there, never crosses into C.
                throw std::runtime_error("a product's callback may throw");
            }
        });
        check(taken.first.has_value(), "seat taken: " + taken.second.sentence);
        if (!taken.first) {
            return 1;
        }
        tenure::Seat seat = std::move(*taken.first);
        std::cout << "SESSION " << seat.session_id() << std::endl;
        {
            std::unique_lock<std::mutex> guard(lock);
            changed.wait_for(guard, std::chrono::seconds(60), [&] { return !lost.empty(); });
        }
        check(!lost.empty(), "callback told the seat was lost");
        std::cout << "LOST " << lost << std::endl;
        check(seat.lost(), "seat says lost");

        // Seats are free again: waiting in line gives one at once.
        auto waited = concurrent.wait_for_seat("bo", 10000);
        check(waited.first.has_value(), "seat given to a waiter: " + waited.second.sentence);
        waited.first->release();

        tenure::Answer device = concurrent.register_device("scanner-2", "scanner");
        check(bool(device), "device registered: " + device.sentence);
        try {
            concurrent.register_device("scanner-2", "printer");
            check(false, "unknown device type throws");
        } catch (const tenure::Error &e) {
            check(e.code() == TENURE_CODE_INVALID_ARGUMENT, std::string("unknown device type throws: ") + e.what());
        }
        try {
            tenure::Workstation broken(argv[1], "\xff");
            check(false, "invalid UTF-8 throws");
        } catch (const tenure::Error &e) {
            check(e.code() == TENURE_CODE_INVALID_UTF8, std::string("invalid UTF-8 throws: ") + e.what());
        }
    } catch (const tenure::Error &e) {
        std::cout << "FAILED: " << e.what() << std::endl;
        return 1;
    }
    std::cout << (failures == 0 ? "ALL OK" : "SOME FAILED") << std::endl;
    return failures == 0 ? 0 : 1;
}
