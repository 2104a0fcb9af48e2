import { deepStrictEqual, match, strictEqual } from "node:assert/strict";
import {
  cgroupSpec,
  controllersFor,
  describeSetupFailure,
  parseSetupLine,
} from "../../lib/process/cgroup.ts";
import { parseCpu } from "../../lib/config/mod.ts";

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
