// libtenure for C++17: RAII handles and exceptions over tenure.h.
//
//   tenure::Workstation ws(profile, product_db);           // throws tenure::Error
//   if (!ws.authorize("ana")) { show(answer.sentence); }
//   auto seat = ws.take_seat("ana", [](tenure::SeatEvent e, const std::string &why) { … });
//
// Every failure throws tenure::Error with the library's code and the sentence the app shows.
// Seat callbacks run on a library thread; an exception thrown by one is caught there (it
// cannot cross the C library) and the heartbeats go on.
#ifndef TENURE_HPP
#define TENURE_HPP

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "tenure.h"

namespace tenure {

// A failed call: what kind (`code()`) and the sentence to show (`what()`).
class Error : public std::runtime_error {
public:
    Error(TenureCode code, const std::string &message) : std::runtime_error(message), code_(code) {}
    TenureCode code() const noexcept { return code_; }

private:
    TenureCode code_;
};

namespace detail {
inline void check(TenureCode code) {
    if (code != TENURE_CODE_OK) {
        throw Error(code, tenure_last_error_message());
    }
}

inline std::string take(char *text) {
    std::string copy = text != nullptr ? text : "";
    tenure_string_free(text);
    return copy;
}

inline const char *or_null(const std::optional<std::string> &text) {
    return text ? text->c_str() : nullptr;
}
}  // namespace detail

// A grant, or a refusal with its reason; the sentence is ready to show the user.
struct Answer {
    bool granted = false;
    TenureReason reason = TENURE_REASON_NONE;
    std::string sentence;
    explicit operator bool() const noexcept { return granted; }

    static Answer from(TenureAnswer &raw) {
        Answer answer{raw.granted, raw.reason, raw.sentence != nullptr ? raw.sentence : ""};
        tenure_answer_free(&raw);
        return answer;
    }
};

using SeatEvent = TenureSeatEvent;
using SeatCallback = std::function<void(SeatEvent, const std::string &)>;

// A concurrent seat, kept by heartbeats until released or destroyed.
class Seat {
public:
    Seat(Seat &&other) noexcept
        : handle_(std::exchange(other.handle_, nullptr)), callback_(std::move(other.callback_)) {}
    Seat &operator=(Seat &&) = delete;
    Seat(const Seat &) = delete;
    ~Seat() {
        if (handle_ != nullptr) {
            tenure_seat_release(handle_);
        }
    }

    std::string session_id() const {
        char *id = nullptr;
        detail::check(tenure_seat_session_id(handle_, &id));
        return detail::take(id);
    }

    bool lost() const {
        bool lost = false;
        detail::check(tenure_seat_lost(handle_, &lost));
        return lost;
    }

    // Reports the product idle or in use again (the license's idle release frees a seat
    // idle long enough for the next user).
    void set_idle(bool idle) { detail::check(tenure_seat_set_idle(handle_, idle)); }

    // Gives the seat back now.
    void release() {
        TenureSeat *handle = std::exchange(handle_, nullptr);
        detail::check(tenure_seat_release(handle));
    }

private:
    friend class Workstation;
    Seat(TenureSeat *handle, std::unique_ptr<SeatCallback> callback)
        : handle_(handle), callback_(std::move(callback)) {}

    static void trampoline(void *context, TenureSeatEvent event, const char *sentence) {
        auto *callback = static_cast<SeatCallback *>(context);
        try {
            (*callback)(event, sentence != nullptr ? sentence : "");
        } catch (...) {
            // An exception must not cross the C library; the heartbeats go on.
        }
    }

    TenureSeat *handle_;
    std::unique_ptr<SeatCallback> callback_;
};

// An open workstation: a profile, its license cache and its product database.
class Workstation {
public:
    // `std::nullopt` takes what the `tenure` app would.
    explicit Workstation(std::optional<std::string> profile = std::nullopt,
                         std::optional<std::string> product_db = std::nullopt,
                         std::optional<std::string> server_url = std::nullopt) {
        detail::check(tenure_workstation_open(detail::or_null(profile), detail::or_null(product_db),
                                              detail::or_null(server_url), &handle_));
    }
    Workstation(Workstation &&other) noexcept : handle_(std::exchange(other.handle_, nullptr)) {}
    Workstation &operator=(Workstation &&) = delete;
    Workstation(const Workstation &) = delete;
    ~Workstation() {
        if (handle_ != nullptr) {
            tenure_workstation_close(handle_);
        }
    }

    void set_timeout_ms(std::uint32_t milliseconds) {
        detail::check(tenure_workstation_set_timeout(handle_, milliseconds));
    }

    TenureStatus status() const {
        TenureStatus status{};
        detail::check(tenure_status(handle_, &status));
        return status;
    }

    std::string status_sentence() const {
        char *text = nullptr;
        detail::check(tenure_status_sentence(handle_, &text));
        return detail::take(text);
    }

    TenureStatus validate() {
        TenureStatus status{};
        detail::check(tenure_validate(handle_, &status));
        return status;
    }

    bool module_enabled(const std::string &name) const {
        bool enabled = false;
        detail::check(tenure_module_enabled(handle_, name.c_str(), &enabled));
        return enabled;
    }

    Answer authorize(const std::string &user) {
        TenureAnswer raw{};
        detail::check(tenure_authorize(handle_, user.c_str(), &raw));
        return Answer::from(raw);
    }

    // A seat for `user`, or the refusal; `on_event` hears when the seat is lost.
    std::pair<std::optional<Seat>, Answer> take_seat(const std::string &user,
                                                     SeatCallback on_event = {},
                                                     std::optional<std::string> machine = std::nullopt) {
        auto callback = on_event ? std::make_unique<SeatCallback>(std::move(on_event)) : nullptr;
        TenureSeat *seat = nullptr;
        TenureAnswer raw{};
        detail::check(tenure_seat_take(handle_, user.c_str(), detail::or_null(machine),
                                       callback ? &Seat::trampoline : nullptr, callback.get(), &seat,
                                       &raw));
        return seat_or_answer(seat, raw, std::move(callback));
    }

    // As take_seat, but when no seat is free `user` waits in line for one, at most
    // `max_wait_ms`; `on_event` also hears each place in line (TENURE_SEAT_EVENT_IN_LINE).
    // Time up: throws tenure::Error with TENURE_CODE_TIMEOUT, having left the line.
    std::pair<std::optional<Seat>, Answer> wait_for_seat(const std::string &user, std::uint32_t max_wait_ms,
                                                         SeatCallback on_event = {},
                                                         std::optional<std::string> machine = std::nullopt) {
        auto callback = on_event ? std::make_unique<SeatCallback>(std::move(on_event)) : nullptr;
        TenureSeat *seat = nullptr;
        TenureAnswer raw{};
        detail::check(tenure_seat_wait(handle_, user.c_str(), detail::or_null(machine), max_wait_ms,
                                       callback ? &Seat::trampoline : nullptr, callback.get(), &seat,
                                       &raw));
        return seat_or_answer(seat, raw, std::move(callback));
    }

    Answer register_device(const std::string &id, const std::string &type) {
        TenureAnswer raw{};
        detail::check(tenure_device_register(handle_, id.c_str(), type.c_str(), &raw));
        return Answer::from(raw);
    }

    std::string offline_request(TenureOfflineWish wish, const std::string &argument = "", std::uint32_t days = 0) {
        char *text = nullptr;
        detail::check(tenure_offline_request(handle_, wish, argument.empty() ? nullptr : argument.c_str(),
                                             days, &text));
        return detail::take(text);
    }

    TenureStatus offline_import(const std::vector<std::uint8_t> &file) {
        TenureStatus status{};
        detail::check(tenure_offline_import(handle_, file.data(), file.size(), &status));
        return status;
    }

private:
    static std::pair<std::optional<Seat>, Answer> seat_or_answer(TenureSeat *seat, TenureAnswer &raw,
                                                                 std::unique_ptr<SeatCallback> callback) {
        Answer answer = Answer::from(raw);
        if (seat == nullptr) {
            return {std::nullopt, answer};
        }
        return {Seat(seat, std::move(callback)), answer};
    }

    TenureWorkstation *handle_ = nullptr;
};

}  // namespace tenure

#endif  // TENURE_HPP
