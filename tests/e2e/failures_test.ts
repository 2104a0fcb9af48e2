import assert from "node:assert/strict";
import { E2E, isAlive, startUrocket, withUrocket } from "./_harness.ts";

Deno.test({
  name: "urocket answers 504 when no reply comes within timeout and kills the whole process tree",
  ...E2E,
  async fn() {
    await withUrocket({
      config: `
paths:
  /run:
    post:
      timeout: 1s
      kill-grace: 300ms
      inject: { cmd: "{{fixtures}}/stubborn.sh" }
`,
    }, async (uro) => {
      const answer = await uro.call("/run", { method: "POST" });
      assert.equal(answer.status, 504);
      assert.equal(answer.headers.get("content-type"), "application/problem+json");
      const id = answer.headers.get("x-request-id");
      assert.equal(answer.json().request_id, id);
      const pids = await uro.waitForLog((l) =>
        l.req_id === id && String(l.line).startsWith("pids ")
      );
      const [child, grandchild] = String(pids.line).split(" ").slice(1).map(Number);
      const exit = await uro.waitForLog((l) => l.msg === "process_exit" && l.req_id === id);
      assert.equal(exit.killed, true);
      assert.equal(exit.kill_reason, "timeout");
      assert.equal(exit.signal, "SIGKILL", "SIGTERM was ignored, so SIGKILL followed the grace");
      assert.ok(!isAlive(child), "the direct child is gone");
      assert.ok(!isAlive(grandchild), "the grandchild is gone too");
      const access = await uro.waitForLog((l) => l.msg === "access" && l.req_id === id);
      assert.equal(access.outcome, "timeout");
      assert.equal(access.status, 504);
    });
  },
});

Deno.test({
  name: "urocket answers 502 at once when the process exits without replying (after-exit: fail)",
  ...E2E,
  async fn() {
    await withUrocket({
      config: `
timeout: 120s
paths:
  /run:
    post:
      inject: { cmd: ["{{fixtures}}/exit.sh", "3"] }
  /other:
    post:
      inject: { cmd: ["{{fixtures}}/exit.sh", "0"] }
`,
    }, async (uro) => {
      const started = performance.now();
      const failing = await uro.call("/run", { method: "POST" });
      assert.equal(failing.status, 502);
      assert.ok(performance.now() - started < 60_000, "well before the 120 s timeout");
      const id = failing.headers.get("x-request-id");
      const exit = await uro.waitForLog((l) => l.msg === "process_exit" && l.req_id === id);
      assert.equal(exit.exit_code, 3);
      assert.equal(exit.killed, false);
      const access = await uro.waitForLog((l) => l.msg === "access" && l.req_id === id);
      assert.equal(access.outcome, "no_reply");

      const clean = await uro.call("/other", { method: "POST" });
      assert.equal(clean.status, 502, "exit code 0 without a reply is no reply either");
    });
  },
});

Deno.test({
  name:
    "urocket answers 502 when the process exited and the reply that was arriving then breaks off",
  ...E2E,
  async fn() {
    await withUrocket({
      config: `
timeout: 120s
paths:
  /run:
    post:
      inject: { cmd: "{{fixtures}}/partial.sh", env: ["DENO={{deno}}"] }
`,
    }, async (uro) => {
      // The process exits at once; its replier sends part of a reply, stalls past the exit grace,
      // and breaks off.
      const answer = await uro.call("/run", { method: "POST" });
      assert.equal(answer.status, 502);
      const id = answer.headers.get("x-request-id");
      const access = await uro.waitForLog((l) => l.msg === "access" && l.req_id === id);
      assert.equal(access.outcome, "no_reply");
      await uro.waitForLog((l) => l.msg === "reply_rejected" && l.req_id === id);
    });
  },
});

Deno.test({
  name: "urocket waits for a reply from another worker until timeout with after-exit: wait",
  ...E2E,
  async fn() {
    await withUrocket({
      config: `
paths:
  /run:
    post:
      after-exit: wait
      timeout: 20s
      inject: { cmd: ["{{fixtures}}/exit.sh", "0"] }
  /other:
    post:
      after-exit: wait
      timeout: 1s
      inject: { cmd: ["{{fixtures}}/exit.sh", "0"] }
`,
    }, async (uro) => {
      const pending = uro.call("/run", { method: "POST" });
      const exited = await uro.waitForLog((l) => l.msg === "process_exit");
      const id = String(exited.req_id);
      // The process is gone; a worker it handed the id to replies now.
      const replied = await uro.reply(`/uri/${id}`, {
        headers: { "content-type": "text/plain", "urocket-status": "202" },
        body: "from the worker",
      });
      assert.equal(replied.status, 200);
      const answer = await pending;
      assert.equal(answer.status, 202);
      assert.equal(answer.text, "from the worker");
      assert.equal(answer.headers.get("x-request-id"), id);

      const nobody = await uro.call("/other", { method: "POST" });
      assert.equal(nobody.status, 504, "with no reply at all, the timeout answers");
    });
  },
});

Deno.test({
  name: "urocket answers 502 and logs the error when the command cannot be spawned",
  ...E2E,
  async fn() {
    await withUrocket({
      config: `
paths:
  /run:
    post:
      inject: { cmd: "{{dir}}/handler.sh" }
`,
      files: { "handler.sh": { text: "#!/bin/sh\nexit 0\n", mode: 0o755 } },
    }, async (uro) => {
      // Valid at start, broken since: the program lost its execute bit.
      await Deno.chmod(`${uro.dir}/handler.sh`, 0o644);
      const answer = await uro.call("/run", { method: "POST" });
      assert.equal(answer.status, 502);
      const id = answer.headers.get("x-request-id");
      const error = await uro.waitForLog((l) => l.msg === "spawn_failed" && l.req_id === id);
      assert.match(String(error.error), /Permission denied/);
      const access = await uro.waitForLog((l) => l.msg === "access" && l.req_id === id);
      assert.equal(access.outcome, "spawn_failed");
      assert.equal(access.pid, undefined);
    });
  },
});

Deno.test({
  name:
    "urocket answers with the reply at once while the process keeps running, then kills it at timeout",
  ...E2E,
  async fn() {
    await withUrocket({
      config: `
paths:
  /run:
    post:
      timeout: 2s
      kill-grace: 200ms
      inject: { cmd: "{{fixtures}}/linger.sh" }
`,
    }, async (uro) => {
      const answer = await uro.call("/run", { method: "POST" });
      assert.equal(answer.status, 200);
      assert.deepEqual(answer.json(), { replied: true });
      const id = answer.headers.get("x-request-id");
      const access = await uro.waitForLog((l) => l.msg === "access" && l.req_id === id);
      assert.ok(
        !uro.find((l) => l.msg === "process_exit" && l.req_id === id).length,
        "the reply did not wait for the process to end",
      );
      assert.ok(isAlive(Number(access.pid)), "replying did not kill the process");
      const exit = await uro.waitForLog((l) => l.msg === "process_exit" && l.req_id === id);
      assert.equal(exit.killed, true);
      assert.equal(exit.kill_reason, "timeout");
    });
  },
});

Deno.test({
  name: "urocket kills the process group when the client disconnects, and a late reply gets 410",
  ...E2E,
  async fn() {
    await withUrocket({
      config: `
paths:
  /run:
    post:
      inject: { cmd: "{{fixtures}}/hold.sh" }
`,
    }, async (uro) => {
      const controller = new AbortController();
      const request = fetch(`${uro.url}/run`, { method: "POST", signal: controller.signal })
        .catch((error) => error);
      const [{ reqId: id }] = await uro.held();
      controller.abort();
      assert.equal((await request).name, "AbortError");
      const exit = await uro.waitForLog((l) => l.msg === "process_exit" && l.req_id === id);
      assert.equal(exit.killed, true);
      assert.equal(exit.kill_reason, "client_gone");
      const access = await uro.waitForLog((l) => l.msg === "access" && l.req_id === id);
      assert.equal(access.outcome, "client_gone");
      const late = await uro.reply(`/uri/${id}`, { body: "{}" });
      assert.equal(late.status, 410);
    });
  },
});

Deno.test({
  name:
    "urocket answers 413 for a body over max-body, with or without Content-Length, and spawns nothing",
  ...E2E,
  async fn() {
    await withUrocket({
      config: `
max-body: 1KiB
paths:
  /run:
    post:
      inject: { cmd: "{{fixtures}}/marker.sh", env: ["MARKERS={{dir}}/markers"] }
`,
      files: { "markers/.keep": "" },
    }, async (uro) => {
      const declared = await uro.call("/run", { method: "POST", body: "x".repeat(1025) });
      assert.equal(declared.status, 413);
      assert.equal(declared.headers.get("content-type"), "application/problem+json");
      const chunks = new ReadableStream({
        start(controller) {
          for (let i = 0; i < 4; i++) controller.enqueue(new Uint8Array(512).fill(120));
          controller.close();
        },
      });
      const chunked = await uro.call("/run", { method: "POST", body: chunks });
      assert.equal(chunked.status, 413);
      const fits = await uro.call("/run", { method: "POST", body: "x".repeat(1024) });
      assert.equal(fits.status, 200);
      const markers = [...Deno.readDirSync(`${uro.dir}/markers`)].map((e) => e.name);
      assert.deepEqual(markers.sort(), [".keep", fits.headers.get("x-request-id")].sort());
    });
  },
});

Deno.test({
  name:
    "urocket refuses cmdline payloads that are not UTF-8, hold NUL or reach 128 KiB, spawning nothing",
  ...E2E,
  async fn() {
    await withUrocket({
      config: `
paths:
  /run:
    post:
      inject:
        cmd: "{{fixtures}}/marker.sh"
        env: ["MARKERS={{dir}}/markers"]
        channel: cmdline
        encoding: raw
`,
      files: { "markers/.keep": "" },
    }, async (uro) => {
      const binary = await uro.call("/run", { method: "POST", body: new Uint8Array([0xff, 0xfe]) });
      assert.equal(binary.status, 400);
      assert.match(binary.json().detail, /channel: stdin/);
      const nul = await uro.call("/run", { method: "POST", body: "a\0b" });
      assert.equal(nul.status, 400);
      const big = await uro.call("/run", { method: "POST", body: "x".repeat(131_072) });
      assert.equal(big.status, 413);
      assert.match(big.json().detail, /channel: stdin/);
      const fits = await uro.call("/run", { method: "POST", body: "x".repeat(131_071) });
      assert.equal(fits.status, 200);
      const markers = [...Deno.readDirSync(`${uro.dir}/markers`)].map((e) => e.name);
      assert.equal(markers.length, 2, "only the request that fits spawned a process");
    });
  },
});

Deno.test({
  name: "urocket answers 503 with Retry-After when max-inflight process groups are live",
  ...E2E,
  async fn() {
    await withUrocket({
      config: `
max-inflight: 2
paths:
  /run:
    post:
      inject: { cmd: "{{fixtures}}/hold.sh" }
  /other:
    post:
      max-inflight: 1
      inject: { cmd: "{{fixtures}}/hold.sh" }
`,
    }, async (uro) => {
      const first = uro.call("/other", { method: "POST" });
      await uro.held(1);
      const perOperation = await uro.call("/other", { method: "POST" });
      assert.equal(perOperation.status, 503, "the operation's own cap");
      assert.equal(perOperation.headers.get("retry-after"), "1");
      const second = uro.call("/run", { method: "POST" });
      const held = await uro.held(2);
      const overall = await uro.call("/run", { method: "POST" });
      assert.equal(overall.status, 503, "the instance-wide cap");
      assert.equal(overall.json().status, 503);
      for (const { reqId, pid } of held) {
        assert.equal((await uro.reply(`/uri/${reqId}`, { body: "{}" })).status, 200);
        await uro.release(pid);
      }
      assert.equal((await first).status, 200);
      assert.equal((await second).status, 200);
    });
  },
});

Deno.test({
  name:
    "max-inflight holds for requests that arrive together, while the first spawns are under way",
  ...E2E,
  async fn() {
    const uro = await startUrocket({
      config: `
max-inflight: 3
paths:
  /run:
    post:
      inject: { cmd: "{{fixtures}}/hold.sh" }
  /other:
    post:
      max-inflight: 1
      inject: { cmd: "{{fixtures}}/hold.sh" }
`,
    });
    const ready = () => uro.find((l) => String(l.line).startsWith("ready ")).length;
    try {
      // Each burst is sent before any of its spawns is answered; what is held is replied to.
      const burst = async (path: string, count: number, cap: number) => {
        const before = ready();
        const answers = Array.from({ length: count }, () => uro.call(path, { method: "POST" }));
        const held = (await uro.held(before + cap)).slice(before);
        for (const { reqId, pid } of held) {
          assert.equal((await uro.reply(`/uri/${reqId}`, { body: "{}" })).status, 200);
          await uro.release(pid);
        }
        const statuses = (await Promise.all(answers)).map((answer) => answer.status);
        assert.deepEqual(
          [statuses.filter((s) => s === 200).length, statuses.filter((s) => s === 503).length],
          [cap, count - cap],
          `${path}: ${statuses}`,
        );
        // No more was spawned than the cap allows.
        assert.equal(ready(), before + cap);
      };
      await burst("/run", 20, 3);
      await burst("/other", 10, 1);
    } finally {
      await uro.stop();
    }
  },
});

Deno.test({
  name: "urocket answers 502 when the reply is over max-reply, and the replier gets 413",
  ...E2E,
  async fn() {
    await withUrocket({
      config: `
max-reply: 100
paths:
  /run:
    post:
      inject: { cmd: "{{fixtures}}/hold.sh" }
`,
    }, async (uro) => {
      const held = await uro.hold("/run", { method: "POST" });
      const replied = await held.reply({ body: "x".repeat(101) });
      assert.equal(replied.status, 413);
      const answer = await held.answer;
      assert.equal(answer.status, 502);
      assert.equal(answer.headers.get("content-type"), "application/problem+json");
      const again = await held.reply({ body: "{}" });
      assert.equal(again.status, 410, "the id was consumed");
      await held.release();
    });
  },
});

Deno.test({
  name:
    "urocket answers at once when a grandchild keeps the output pipes open, and kills it at timeout",
  ...E2E,
  async fn() {
    await withUrocket({
      config: `
paths:
  /run:
    post:
      timeout: 2s
      logstdout: true
      inject: { cmd: "{{fixtures}}/orphan.sh" }
`,
    }, async (uro) => {
      const answer = await uro.call("/run", { method: "POST" });
      assert.equal(answer.status, 200);
      const id = answer.headers.get("x-request-id");
      const line = await uro.waitForLog((l) =>
        l.req_id === id && String(l.line).startsWith("grandchild ")
      );
      const grandchild = Number(String(line.line).split(" ")[1]);
      const exit = await uro.waitForLog((l) => l.msg === "process_exit" && l.req_id === id);
      assert.equal(exit.exit_code, 0, "the direct child exited on its own");
      assert.equal(exit.kill_reason, "timeout", "the group was killed for the grandchild");
      assert.ok(!isAlive(grandchild));
    });
  },
});

Deno.test({
  name:
    "urocket answers 431, not 500, when headers would push the environment past the kernel's limit",
  ...E2E,
  async fn() {
    // 19 configured variables of 104,000 bytes leave less room than one 60 KB header.
    const big = Array.from({ length: 19 }, (_, i) => `"BIG${i}=${"v".repeat(104_000)}"`).join(", ");
    await withUrocket({
      config: `
paths:
  /run:
    post:
      inject:
        cmd: "{{fixtures}}/reply.sh"
        pass-headers: [X-Large]
        env: [${big}]
`,
    }, async (uro) => {
      const small = await uro.call("/run", { method: "POST", headers: { "x-large": "small" } });
      assert.equal(small.status, 200);
      const large = await uro.call("/run", {
        method: "POST",
        headers: { "x-large": "h".repeat(60_000) },
      });
      assert.equal(large.status, 431);
      assert.equal(large.headers.get("content-type"), "application/problem+json");
      assert.ok(!uro.find((l) => l.msg === "access" && l.status === 500).length);
    });
  },
});
