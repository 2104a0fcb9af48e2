import { deepStrictEqual, match, ok, strictEqual } from "node:assert/strict";
import {
  cgroupSpec,
  controllersFor,
  describeSetupFailure,
  parseSetupLine,
} from "../../../lib/process/cgroup.ts";
import { MAX_CPU, MAX_PIDS, parseCpu } from "../../../lib/config/mod.ts";

Deno.test("cgroupSpec() writes memory.max in bytes, cpu.max per 100 ms period and pids.max", () => {
  deepStrictEqual(cgroupSpec("/sys/fs/cgroup", { memoryBytes: 268435456, cpu: 0.5, pids: 64 }), {
    parent: "/sys/fs/cgroup",
    memoryMax: "268435456",
    cpuMax: "50000 100000",
    pidsMax: "64",
  });
  deepStrictEqual(cgroupSpec("/cg", { cpu: 2 }), { parent: "/cg", cpuMax: "200000 100000" });
  // The kernel's smallest quota is 1 ms per period.
  deepStrictEqual(cgroupSpec("/cg", { cpu: 0.001 }), { parent: "/cg", cpuMax: "1000 100000" });
  deepStrictEqual(cgroupSpec("/cg", {}), { parent: "/cg" });
});

Deno.test("cgroupSpec() writes the largest limits the config accepts as values the kernel takes", () => {
  // The kernel refuses a cpu.max quota over 2^44 - 1 µs and a pids.max over PID_MAX_LIMIT (4 Mi).
  const spec = cgroupSpec("/cg", { cpu: parseCpu(MAX_CPU), pids: MAX_PIDS });
  const [quota, period] = spec.cpuMax!.split(" ").map(Number);
  strictEqual(period, 100_000);
  ok(quota <= 2 ** 44 - 1 && quota > 2 ** 44 - 1 - period, spec.cpuMax);
  strictEqual(spec.pidsMax, "4194304");
});

Deno.test("controllersFor() names the controllers a set of limits needs", () => {
  deepStrictEqual(controllersFor({ memoryBytes: 1, cpu: 1, pids: 1 }), ["cpu", "memory", "pids"]);
  deepStrictEqual(controllersFor({ pids: 3 }), ["pids"]);
  deepStrictEqual(controllersFor(undefined), []);
});

Deno.test("parseCpu() takes fractions of a CPU and millicores, and refuses less than 0.01", () => {
  strictEqual(parseCpu(0.5), 0.5);
  strictEqual(parseCpu("1.5"), 1.5);
  strictEqual(parseCpu("250m"), 0.25);
  for (const bad of [0, "5m", "-1", "half", "1 CPU"]) {
    let message = "";
    try {
      parseCpu(bad);
    } catch (error) {
      message = (error as Error).message;
    }
    match(message, /^Invalid CPU limit/, String(bad));
  }
});

Deno.test("parseSetupLine() reads the helper's ok and no lines", () => {
  deepStrictEqual(parseSetupLine("ok cpu,memory,pids /sys/fs/cgroup/kubepods/pod 1"), {
    ok: true,
    controllers: ["cpu", "memory", "pids"],
    dir: "/sys/fs/cgroup/kubepods/pod 1",
  });
  deepStrictEqual(parseSetupLine("ok - /cg"), { ok: true, controllers: [], dir: "/cg" });
  deepStrictEqual(
    parseSetupLine("no delegation cannot create /cg/urocket: Read-only file system"),
    {
      ok: false,
      stage: "delegation",
      message: "cannot create /cg/urocket: Read-only file system",
    },
  );
  const garbage = parseSetupLine("Segmentation fault");
  strictEqual(garbage.ok, false);
  match(describeSetupFailure(garbage as Extract<typeof garbage, { ok: false }>), /rebuild/);
});

Deno.test("describeSetupFailure() says what was found and what to do", () => {
  match(
    describeSetupFailure({
      ok: false,
      stage: "delegation",
      message: "cannot create /sys/fs/cgroup/urocket: Read-only file system",
    }),
    /^cannot create \/sys\/fs\/cgroup\/urocket: Read-only file system; delegate the cgroup .*Kubernetes cgroupfs is read-only in ordinary pods/,
  );
  match(describeSetupFailure({ ok: false, stage: "mount", message: "m" }), /unified cgroup v2/);
  match(describeSetupFailure({ ok: false, stage: "root", message: "r" }), /Delegate=yes/);
});
