import assert from "node:assert/strict";
import { skipWhen } from "../_skip.ts";
import { E2E, withUrocket } from "./_harness.ts";

const REPO = new URL("../../", import.meta.url).pathname;
const SNIPPETS = `${REPO}examples/snippets`;

/** The reply snippets of docs/reply-protocol.md, by fence language. */
async function readmeSnippets(): Promise<Record<string, string>> {
  const readme = await Deno.readTextFile(`${REPO}docs/reply-protocol.md`);
  const blocks: Record<string, string> = {};
  for (const match of readme.matchAll(/### From [^\n]+\n\n```(\w+)\n([\s\S]*?)```/g)) {
    blocks[match[1]] = match[2];
  }
  return blocks;
}

Deno.test({
  name: "the docs' reply snippets are the files examples/snippets runs",
  async fn() {
    const blocks = await readmeSnippets();
    const files: [string, string][] = [
      ["sh", "reply.sh"],
      ["php", "reply.php"],
      ["python", "reply.py"],
      ["ts", "reply.ts"],
    ];
    for (const [language, file] of files) {
      const text = await Deno.readTextFile(`${SNIPPETS}/${file}`);
      assert.equal(
        text.replace(/^#!.*\n/, ""),
        blocks[language],
        `${file} differs from docs/reply-protocol.md`,
      );
    }
  },
});

/** Whether `program` runs here with what the snippet needs (PHP: its curl extension). */
async function installed(program: string): Promise<boolean> {
  const args = program === "php"
    ? ["-r", 'exit(function_exists("curl_init") ? 0 : 1);']
    : ["--version"];
  try {
    const { success } = await new Deno.Command(program, { args, stdout: "null", stderr: "null" })
      .output();
    return success;
  } catch {
    return false;
  }
}

for (
  const [language, cmd, expected] of [
    ["sh + curl", '["./reply.sh"]', { status: 201, body: { hello: "from sh" } }],
    ["Python", '["python3", "reply.py"]', { status: 200, body: { hello: "from python" } }],
    ["PHP", '["php", "reply.php"]', { status: 200, body: { hello: "from php" } }],
    [
      "TypeScript on Deno",
      '["{{deno}}", "run", "--allow-net", "--allow-read", "--allow-write", "--allow-env", "reply.ts"]',
      { status: 200, body: { hello: "from deno" } },
    ],
  ] as const
) {
  const program = JSON.parse(cmd)[0];
  const runnable = program.startsWith(".") || program.startsWith("{") || await installed(program);
  Deno.test({
    ...skipWhen(
      runnable ? undefined : `${program} (with what it needs) is not installed`,
      `the docs' ${language} reply snippet answers a request as a handler`,
    ),
    ...E2E,
    async fn() {
      await withUrocket({
        config: `
paths:
  /run:
    post:
      inject:
        wd: ${SNIPPETS}
        cmd: ${cmd}
`,
      }, async (uro) => {
        const answer = await uro.call("/run", { method: "POST" });
        assert.equal(answer.status, expected.status);
        assert.deepEqual(answer.json(), expected.body);
      });
    },
  });
}
