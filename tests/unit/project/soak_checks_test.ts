import { deepStrictEqual, strictEqual } from "node:assert/strict";
import {
  allowedGrowthMiB,
  evaluate,
  MEMORY_BOUND,
  type SoakMeasurements,
} from "../../../bench/soak_checks.ts";

const CLEAN: SoakMeasurements = {
  requests: 20_000,
  sent: 60_000,
  answeredAsExpected: 60_000,
  mismatches: [],
  aliveProcesses: [],
  fds: { baseline: 26, after: 26, extra: [] },
  shutdown: { inFlight: 0, processes: 0 },
  rssMiB: { baseline: 200, after: 210 },
};

const failing = (m: SoakMeasurements) => evaluate(m).filter((c) => !c.ok).map((c) => c.name);

Deno.test("evaluate() passes every check of a soak that leaked nothing", () => {
  deepStrictEqual(failing(CLEAN), []);
});

Deno.test("evaluate() fails a soak where a request got another status than its kind expects", () => {
  deepStrictEqual(
    failing({ ...CLEAN, answeredAsExpected: 59_999, mismatches: ["warm-up 1-7-exit: status 504"] }),
    ["every request got its expected status"],
  );
});

Deno.test("evaluate() fails a soak that left a spawned process alive", () => {
  deepStrictEqual(failing({ ...CLEAN, aliveProcesses: [4242] }), [
    "no process spawned by urocket is alive",
  ]);
});

Deno.test("evaluate() fails a soak after which urocket holds more descriptors than after the warm-ups", () => {
  const leaked = { baseline: 26, after: 27, extra: ["pipe:[123]"] };
  const checks = evaluate({ ...CLEAN, fds: leaked });
  deepStrictEqual(checks.filter((c) => !c.ok).map((c) => c.name), [
    "open file descriptors back to their level after the second warm-up",
  ]);
  strictEqual(checks[2].detail, "26 → 27; extra: pipe:[123]");
});

Deno.test("evaluate() fails a soak with requests pending at shutdown, or no shutdown line", () => {
  deepStrictEqual(failing({ ...CLEAN, shutdown: { inFlight: 1, processes: 0 } }), [
    "nothing pending",
  ]);
  deepStrictEqual(failing({ ...CLEAN, shutdown: undefined }), ["nothing pending"]);
});

Deno.test("evaluate() fails a soak whose resident memory grew past its bound", () => {
  const bound = allowedGrowthMiB(20_000);
  strictEqual(bound, Math.max(MEMORY_BOUND.floor, 2 * MEMORY_BOUND.perTenThousand));
  deepStrictEqual(failing({ ...CLEAN, rssMiB: { baseline: 200, after: 200 + bound } }), []);
  deepStrictEqual(failing({ ...CLEAN, rssMiB: { baseline: 200, after: 200 + bound + 0.1 } }), [
    "resident memory growth within its bound",
  ]);
});

Deno.test("allowedGrowthMiB() grows with the requests of the measured run, above a floor", () => {
  strictEqual(allowedGrowthMiB(1_000), MEMORY_BOUND.floor);
  strictEqual(allowedGrowthMiB(100_000), 10 * MEMORY_BOUND.perTenThousand);
});

const HOSTILE = {
  sent: 20_000,
  answeredAsExpected: 20_000,
  mismatches: [],
  fdsAfter: 26,
  rssMiBAfter: 205,
  logDropped: 1234,
};

Deno.test("evaluate() checks the hostile phase, when it ran: answers, descriptors, memory", () => {
  const names = (m: SoakMeasurements) => evaluate(m).map((c) => c.name);
  strictEqual(names(CLEAN).some((n) => n.startsWith("the hostile phase")), false);
  deepStrictEqual(failing({ ...CLEAN, hostile: HOSTILE }), []);
  deepStrictEqual(
    failing({ ...CLEAN, hostile: { ...HOSTILE, answeredAsExpected: 19_999 } }),
    ["the hostile phase: every request got its expected status"],
  );
  deepStrictEqual(
    failing({ ...CLEAN, hostile: { ...HOSTILE, fdsAfter: 27 } }),
    ["the hostile phase: open file descriptors back to their level once its clients left"],
  );
  deepStrictEqual(
    failing({ ...CLEAN, hostile: { ...HOSTILE, rssMiBAfter: 200 + 97 } }),
    ["the hostile phase: resident memory within its bound"],
  );
});
