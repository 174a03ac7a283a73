import { createRequire } from "node:module";
const { Workstation, Refused } = createRequire(import.meta.url)("tenure");

const [profile, productDb] = process.argv.slice(2);
const ws = new Workstation({ profile, productDb });
const status = await ws.status();
console.log(status.sentence, `(${status.graceDaysLeft} days of grace left)`);
try {
  await ws.authorize("ana");
  console.log("ana may work");
} catch (e) {
  if (!(e instanceof Refused)) throw e;
  console.log(`ana may not work: ${e.message}`);
}
await ws.close();
