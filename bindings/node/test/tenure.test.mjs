// The Node.js package against a real license server on loopback; the Rust harness
// (tests/node_package.rs) starts it and prepares the workstations.
import assert from "node:assert/strict";
import { once } from "node:events";
import { test } from "node:test";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const tenure = require("../index.js");

function env(name) {
  const value = process.env[name];
  if (!value) {
    throw new Error(`${name} is not set: run \`cargo test -p tenure-node --test node_package\` (scripts/test runs it)`);
  }
  return value;
}
const named = () => new tenure.Workstation({ profile: env("TENURE_TEST_NAMED_PROFILE"), productDb: env("TENURE_TEST_NAMED_DB") });
const concurrent = () =>
  new tenure.Workstation({ profile: env("TENURE_TEST_CONCURRENT_PROFILE"), productDb: env("TENURE_TEST_CONCURRENT_DB") });

test("status of a named license", async () => {
  const ws = named();
  const status = await ws.status();
  assert.equal(status.licensed, true);
  assert.equal(status.seatKind, "named");
  assert.equal(status.seats, 10);
  assert.ok(status.graceDaysLeft > 0);
  assert.ok(status.offlineUntil instanceof Date);
  assert.deepEqual(status.modules, ["inspect"]);
  assert.match(status.sentence, /^Valid\./);
  assert.equal(await ws.moduleEnabled("inspect"), true);
  assert.equal(await ws.moduleEnabled("report"), false);
  await ws.close();
});

test("authorize grants, and refuses with the reason and the sentence", async () => {
  const ws = named();
  assert.match(await ws.authorize("ana"), /ana is authorised/);
  await assert.rejects(ws.authorize("zoe"), (e) => {
    assert.ok(e instanceof tenure.Refused);
    assert.equal(e.reason, "unknown_user");
    assert.match(e.message, /zoe/);
    return true;
  });
  assert.equal((await ws.validate()).licensed, true);
  await ws.close();
});

test("a seat is an EventEmitter that hears an admin end it", async () => {
  const ws = concurrent();
  const seat = await ws.takeSeat("ana", { machine: "pc-node" });
  assert.equal(seat.lost, null);
  // The product reports itself idle, then in use: the seat is held either way.
  seat.setIdle(true);
  seat.setIdle(false);
  const lost = once(seat, "lost");
  assert.equal(await ws.endSession(seat.sessionId), true);
  const [sentence] = await lost;
  assert.match(sentence, /ended/);
  assert.notEqual(seat.lost, null);
  await seat.release();
  await seat.release();
  assert.throws(() => seat.setIdle(true), /released already/);
  await ws.close();
});

test("a listener that throws does not end the process", async () => {
  const ws = concurrent();
  const seat = await ws.takeSeat("bea", { machine: "pc-node-2" });
  const warned = once(process, "warning");
  seat.on("lost", () => {
    throw new Error("a product's listener fails");
  });
  await ws.endSession(seat.sessionId);
  const [warning] = await warned;
  assert.match(warning.message, /listener threw/);
  assert.equal((await ws.status()).licensed, true);
  await seat.release();
  await ws.close();
});

test("no seat free is a refusal", async () => {
  const ws = concurrent();
  const first = await ws.takeSeat("u1", { machine: "m1" });
  const second = await ws.takeSeat("u2", { machine: "m2" });
  await assert.rejects(ws.takeSeat("u3", { machine: "m3" }), (e) => e instanceof tenure.Refused && e.reason === "no_seat_free");
  await first.release();
  await second.release();
  await ws.close();
});

test("a waiter gets the seat freed, and gives up at its time limit", async () => {
  const ws = concurrent();
  const first = await ws.takeSeat("w1", { machine: "m1" });
  const second = await ws.takeSeat("w2", { machine: "m2" });
  const places = [];
  const onPlace = (sentence) => places.push(sentence);
  await assert.rejects(
    ws.waitForSeat("w3", { machine: "m3", maxWaitSeconds: 1, onPlace }),
    (e) => e instanceof tenure.Timeout && /left the line/.test(e.message),
  );
  assert.match(places[0], /1st in line/);
  setTimeout(() => first.release(), 1000);
  const seat = await ws.waitForSeat("w3", { machine: "m3", maxWaitSeconds: 30, onPlace });
  assert.equal(seat.lost, null);
  await seat.release();
  await second.release();
  await ws.close();
});

test("devices", async () => {
  const ws = concurrent();
  assert.match(await ws.registerDevice("scanner-node", "scanner"), /scanner-node/);
  await assert.rejects(ws.registerDevice("x", "printer"), tenure.InvalidArgument);
  await ws.close();
});

test("offline request, and a refused answer changes nothing", async () => {
  const ws = named();
  assert.match(await ws.offlineRequest("validate"), /^-----BEGIN TENURE/);
  await assert.rejects(ws.offlineImport(Buffer.from("not a license")), tenure.TenureError);
  assert.equal((await ws.status()).licensed, true);
  await assert.rejects(ws.offlineRequest("dance"), tenure.InvalidArgument);
  await ws.close();
});

test("many calls at once on one workstation", async () => {
  const ws = named();
  const answers = await Promise.all(Array.from({ length: 40 }, () => ws.authorize("ana")));
  assert.equal(answers.length, 40);
  await ws.close();
});

test("a hanging server times out with a sentence", async () => {
  const ws = new tenure.Workstation({
    profile: env("TENURE_TEST_NAMED_PROFILE"),
    productDb: env("TENURE_TEST_NAMED_DB"),
    server: env("TENURE_TEST_HANGING_SERVER"),
    timeoutSeconds: 1.5,
  });
  const started = Date.now();
  await assert.rejects(ws.validate(), (e) => e instanceof tenure.Timeout && /allow more time/.test(e.message));
  assert.ok(Date.now() - started < 10_000);
  assert.equal((await ws.status()).licensed, true);
  await ws.close();
});

test("bad input is an error, not a crash", async () => {
  assert.throws(() => new tenure.Workstation({ productDb: "" }), tenure.InvalidArgument);
  assert.throws(() => new tenure.Workstation({ timeoutSeconds: -1 }), tenure.InvalidArgument);
  const ws = named();
  assert.throws(() => ws.setTimeout(0), (e) => e instanceof tenure.InvalidArgument && /above zero/.test(e.message));
  await assert.rejects(ws.activate("not-a-key"), tenure.InvalidArgument);
  assert.throws(() => ws.native.authorize(42));
  await ws.close();
});
