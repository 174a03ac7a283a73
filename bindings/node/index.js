// Ask Tenure from Node.js. Every call returns a promise; a failure rejects with an error of
// a class below whose message is the sentence the `tenure` app shows; a refusal (a user, seat
// or device not given) rejects with a Refused whose `reason` is the stable code. A held seat
// is an EventEmitter: "lost" when an admin ended it or its lease ran out, "trouble" and
// "recovered" around passing failures.
"use strict";
const { EventEmitter } = require("node:events");
const path = require("node:path");

function loadAddon() {
  const file = process.env.TENURE_NODE_ADDON || path.join(__dirname, "tenure.node");
  const addon = { exports: {} };
  try {
    process.dlopen(addon, file);
  } catch (e) {
    throw new Error(
      `cannot load Tenure's native addon ${file}: ${e.message}; reinstall the package (npm install builds it with cargo)`,
    );
  }
  return addon.exports;
}
const native = loadAddon();

class TenureError extends Error {
  constructor(message) {
    super(message);
    this.name = this.constructor.name;
  }
}
class InvalidArgument extends TenureError {}
class NotActivated extends TenureError {}
class ServerError extends TenureError {}
class DatabaseError extends TenureError {}
class KeyringError extends TenureError {}
class FileRefused extends TenureError {}
class Timeout extends TenureError {}
class Refused extends TenureError {
  constructor(reason, message) {
    super(message);
    this.reason = reason;
  }
}
const kinds = { TenureError, InvalidArgument, NotActivated, ServerError, DatabaseError, KeyringError, FileRefused, Timeout };

/** The native error "[Kind] sentence" as its class. */
function translate(error) {
  const match = /^\[(\w+)\] ([\s\S]*)$/.exec(error && error.message);
  if (!match) {
    return error;
  }
  const Kind = kinds[match[1]] || TenureError;
  return new Kind(match[2]);
}

async function ask(promise) {
  try {
    return await promise;
  } catch (e) {
    throw translate(e);
  }
}

function granted(answer) {
  if (!answer.granted) {
    throw new Refused(answer.reason, answer.sentence);
  }
  return answer.sentence;
}

function status(raw) {
  return {
    ...raw,
    licensed: raw.code === 0,
    offlineUntil: raw.offlineUntil == null ? null : new Date(raw.offlineUntil),
    expiresAt: raw.expiresAt == null ? null : new Date(raw.expiresAt),
  };
}

class Seat extends EventEmitter {
  constructor() {
    super();
    this.native = null;
    // A held seat keeps the process alive, as an open socket does, so its events can come;
    // `unref()` lets the process end anyway.
    this.alive = setInterval(() => {}, 2 ** 31 - 1);
    this.once("lost", () => clearInterval(this.alive));
  }
  /** Lets the process end while the seat is held (its heartbeats stop with it). */
  unref() {
    this.alive.unref();
    return this;
  }
  get sessionId() {
    return this.native.sessionId();
  }
  /** Why the seat is gone, or null while it is held. */
  get lost() {
    return this.native.lost();
  }
  /**
   * Reports the product idle (true) or in use again (false), from the next heartbeat on;
   * under the license's idle release a seat idle long enough goes to the next user.
   */
  setIdle(idle) {
    this.native.setIdle(Boolean(idle));
  }
  /** Gives the seat back now; a second release does nothing. */
  async release() {
    clearInterval(this.alive);
    await ask(this.native.release());
  }
}

class Workstation {
  /** `profile`, `productDb` and `server` default to what the `tenure` app would use. */
  constructor({ profile = null, productDb = null, server = null, timeoutSeconds = 30 } = {}) {
    try {
      this.native = new native.Workstation(profile, productDb, server, timeoutSeconds);
    } catch (e) {
      throw translate(e);
    }
  }
  setTimeout(seconds) {
    try {
      this.native.setTimeout(seconds);
    } catch (e) {
      throw translate(e);
    }
  }
  async status() {
    return status(await ask(this.native.status()));
  }
  /** Validates online: the offline grace restarts. */
  async validate() {
    return status(await ask(this.native.validate()));
  }
  async activate(key) {
    return status(await ask(this.native.activate(key)));
  }
  async moduleEnabled(name) {
    return ask(this.native.moduleEnabled(name));
  }
  /** May `user` work now (named seats)? The sentence when yes; rejects with Refused when not. */
  async authorize(user) {
    return granted(await ask(this.native.authorize(user)));
  }
  /** Takes a concurrent seat kept by heartbeats; rejects with Refused ("no_seat_free" …). */
  async takeSeat(user, { machine = null } = {}) {
    return this.#seat((listener) => this.native.takeSeat(user, machine, listener));
  }
  /**
   * Takes a concurrent seat, waiting in line for one when none is free: the next seat freed
   * goes to the head of the line. `onPlace(sentence)` hears each place given ("You are 2nd in
   * line for a seat; …"). Rejects with Timeout after `maxWaitSeconds`, having left the line.
   */
  async waitForSeat(user, { machine = null, maxWaitSeconds = 600, onPlace = null } = {}) {
    return this.#seat(
      (listener) => this.native.waitForSeat(user, machine, listener, maxWaitSeconds),
      onPlace,
    );
  }
  async #seat(take, onPlace = null) {
    const seat = new Seat();
    const listener = (event, sentence) => {
      try {
        if (event === "inLine") {
          if (onPlace) onPlace(sentence);
        } else {
          seat.emit(event, sentence);
        }
      } catch (e) {
        // A listener that throws must not end the process from a heartbeat.
        process.emitWarning(`a Tenure seat listener threw: ${e && e.message}`);
      }
    };
    let taken;
    try {
      taken = await ask(take(listener));
      granted(taken.answer);
    } catch (e) {
      clearInterval(seat.alive);
      throw e;
    }
    seat.native = taken.seat;
    return seat;
  }
  /** Ends a session as an admin; false when none was open. */
  async endSession(sessionId) {
    return ask(this.native.endSession(sessionId));
  }
  /** A device takes or keeps a license of its type; rejects with Refused("devices_full"), or
   * Refused("device_churn") when the license's cap on devices taking one in 30 days is used. */
  async registerDevice(deviceId, deviceType) {
    return granted(await ask(this.native.registerDevice(deviceId, deviceType)));
  }
  /** An offline request file's text: "validate", "extend" (days), "activate" (key), "rebind" (reason). */
  async offlineRequest(wish = "validate", { argument = null, days = 0 } = {}) {
    return ask(this.native.offlineRequest(wish, argument, days));
  }
  /** Imports the vendor's signed answer (a Buffer). */
  async offlineImport(buffer) {
    return status(await ask(this.native.offlineImport(buffer)));
  }
  async close() {
    await ask(this.native.close());
  }
}

module.exports = { Workstation, Seat, TenureError, Refused, ...kinds };
