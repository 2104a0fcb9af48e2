import assert from "node:assert/strict";
import { UndoStack } from "../../../lib/service/_undo.ts";

Deno.test("UndoStack.unwind() undoes the steps last first, each once, past one that fails", async () => {
  const undone: string[] = [];
  const undo = new UndoStack();
  undo.push(() => void undone.push("helper"));
  undo.push(() => {
    undone.push("socket");
    throw new Error("the socket file is already gone");
  });
  undo.push(async () => {
    await Promise.resolve();
    undone.push("front");
  });
  await undo.unwind();
  assert.deepEqual(undone, ["front", "socket", "helper"]);
  await undo.unwind();
  assert.deepEqual(undone, ["front", "socket", "helper"], "a second unwind undoes nothing again");
});
