import assert from "node:assert/strict";
import { parseCommandLine } from "../../../lib/cli/args.ts";

/** The refusal of `args`, failing when they parse. */
function refusal(...args: string[]): string {
  const parsed = parseCommandLine(args);
  assert.ok("error" in parsed, `${args.join(" ")} parsed: ${JSON.stringify(parsed)}`);
  return parsed.error;
}

Deno.test("parseCommandLine() serves by default and reads --config, -c and --config=", () => {
  for (const args of [["--config", "a.yaml"], ["-c", "a.yaml"], ["--config=a.yaml"]]) {
    assert.deepEqual(parseCommandLine(args), {
      command: "serve",
      values: { config: "a.yaml" },
      positionals: [],
    });
  }
  assert.deepEqual(parseCommandLine(["serve"]), {
    command: "serve",
    values: {},
    positionals: [],
  });
});

Deno.test("parseCommandLine() finds the command after options and their values", () => {
  const parsed = parseCommandLine(["-c", "check", "check"]);
  assert.ok(!("error" in parsed));
  assert.equal(parsed.command, "check");
  assert.equal(parsed.values.config, "check");
});

Deno.test("parseCommandLine() reads reply's options, a repeated --header and one BODY", () => {
  const parsed = parseCommandLine([
    "reply",
    "--status",
    "201",
    "--header",
    "A: 1",
    "--header=B: 2",
    "--content-type",
    "application/json",
    "--stream",
  ]);
  assert.deepEqual(parsed, {
    command: "reply",
    values: {
      status: "201",
      header: ["A: 1", "B: 2"],
      "content-type": "application/json",
      stream: true,
    },
    positionals: [],
  });
  assert.deepEqual(parseCommandLine(["reply", "--", "-1"]), {
    command: "reply",
    values: {},
    positionals: ["-1"],
  });
});

Deno.test("parseCommandLine() suggests the option or command a typo is close to", () => {
  assert.equal(
    refusal("--confg", "urocket-service.yaml"),
    'urocket: unknown option "--confg": did you mean "--config"? (see urocket --help)',
  );
  assert.equal(
    refusal("health", "--admn", "127.0.0.1:9090"),
    'urocket health: unknown option "--admn": did you mean "--admin"? (see urocket --help)',
  );
  assert.equal(
    refusal("chek"),
    'urocket: unknown command "chek": did you mean "check"? (see urocket --help)',
  );
  assert.equal(refusal("frobnicate"), 'urocket: unknown command "frobnicate" (see urocket --help)');
});

Deno.test("parseCommandLine() names the command an option belongs to", () => {
  assert.equal(
    refusal("check", "--status", "200"),
    "urocket check: --status is an option of urocket reply (see urocket --help)",
  );
  assert.equal(
    refusal("schema", "--config", "a.yaml"),
    "urocket schema: --config is an option of urocket serve and urocket check and urocket " +
      "health (see urocket --help)",
  );
});

Deno.test("parseCommandLine() refuses a missing value, a flag's value, a repeat and extras", () => {
  assert.equal(
    refusal("--config"),
    "urocket: --config needs a value, e.g. --config urocket-service.yaml (see urocket --help)",
  );
  assert.equal(
    refusal("check", "-c", "--help"),
    "urocket check: --config needs a value, e.g. --config urocket-service.yaml (see urocket --help)",
  );
  assert.equal(
    refusal("reply", "--stream=yes"),
    "urocket reply: --stream takes no value (see urocket --help)",
  );
  assert.equal(
    refusal("check", "-c", "a", "--config", "b"),
    "urocket check: --config is given twice (see urocket --help)",
  );
  assert.equal(
    refusal("schema", "extra"),
    'urocket schema: unexpected argument "extra" (see urocket --help)',
  );
  assert.equal(
    refusal("reply", "-1"),
    'urocket reply: unknown option "-1"; a BODY that starts with "-" goes after -- ' +
      "(see urocket --help)",
  );
});

Deno.test("parseCommandLine() never answers in Node's parseArgs wording", () => {
  for (const args of [["--confg"], ["-x"], ["reply", "-1"], ["--config"], ["check", "--stream"]]) {
    assert.doesNotMatch(refusal(...args), /positional argument|place it at the end|ERR_/);
  }
});
