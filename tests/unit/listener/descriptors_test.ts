import { deepStrictEqual, strictEqual } from "node:assert/strict";
import {
  DescriptorReserve,
  RESERVE_SIZE,
  reserveSizeFor,
} from "../../../lib/listener/descriptor_reserve.ts";
import { isDescriptorLimit } from "../../../lib/listener/kept_server.ts";
import { parseNofileLine } from "../../../lib/process/nofile.ts";

Deno.test("reserveSizeFor() holds an eighth of the limit, at most RESERVE_SIZE, at least one", () => {
  strictEqual(reserveSizeFor(undefined), RESERVE_SIZE);
  strictEqual(reserveSizeFor(1_048_576), RESERVE_SIZE);
  strictEqual(reserveSizeFor(128), 16);
  strictEqual(reserveSizeFor(4), 1);
});

Deno.test("DescriptorReserve holds descriptors until released, and refills when there is room", () => {
  const reserve = new DescriptorReserve(3);
  strictEqual(reserve.fill(), true);
  strictEqual(reserve.held, 3);
  reserve.release();
  strictEqual(reserve.held, 0);
  strictEqual(reserve.refillWithRoom(), true);
  strictEqual(reserve.held, 3);
  reserve.release();
});

Deno.test("isDescriptorLimit() recognises EMFILE and ENFILE and nothing else", () => {
  strictEqual(isDescriptorLimit(new Error("Too many open files (os error 24)")), true);
  strictEqual(isDescriptorLimit(new Error("Too many open files in system (os error 23)")), true);
  strictEqual(isDescriptorLimit(new Error("Address already in use (os error 98)")), false);
  strictEqual(isDescriptorLimit("os error 240"), false);
});

Deno.test("parseNofileLine() reads the helper's limits, its refusal, or says it is too old", () => {
  deepStrictEqual(parseNofileLine("nofile 1024 4096"), { soft: 1024, hard: 4096 });
  strictEqual(parseNofileLine("no cannot read it"), "cannot read it");
  strictEqual(
    parseNofileLine(""),
    'the spawn helper does not know --nofile: rebuild it with "deno task build-helper"',
  );
  strictEqual(parseNofileLine("what?"), 'the spawn helper answered "what?"');
});
