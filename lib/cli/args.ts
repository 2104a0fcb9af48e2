/**
 * urocket's command line, parsed with urocket's own wording: a mistyped
 * command or option gets "did you mean", an option of another command says
 * whose it is, and every refusal ends with where to look. (Node's
 * `parseArgs` says "To specify a positional argument starting with a '-' …"
 * and suggests nothing.)
 *
 * @module
 */

import { closest } from "../common/mod.ts";

/** The commands; the first argument that is not an option names one, else `serve`. */
export const COMMANDS = ["serve", "check", "reply", "health", "schema"] as const;
/** One of {@link COMMANDS}. */
export type Command = typeof COMMANDS[number];

/** One option of a command. */
interface OptionSpec {
  /** Takes a value (`--config FILE`), or is a flag (`--stream`). */
  value?: { placeholder: string; example: string };
  short?: string;
  /** May be given more than once (the values are collected). */
  multiple?: boolean;
}

const CONFIG: Record<string, OptionSpec> = {
  config: { short: "c", value: { placeholder: "FILE", example: "urocket-service.yaml" } },
};

/** Each command's options, beside `--help` and `--version`. */
const OPTIONS: Record<Command, Record<string, OptionSpec>> = {
  serve: CONFIG,
  check: { ...CONFIG, verbose: { short: "v" } },
  reply: {
    status: { value: { placeholder: "N", example: "201" } },
    header: { value: { placeholder: "'Name: value'", example: "'X-Id: 7'" }, multiple: true },
    "content-type": { value: { placeholder: "T", example: "application/json" } },
    stream: {},
  },
  health: { ...CONFIG, admin: { value: { placeholder: "ADDR", example: "127.0.0.1:9090" } } },
  schema: {},
};

const COMMON: Record<string, OptionSpec> = { help: { short: "h" }, version: { short: "V" } };

/** How many positional arguments each command takes (reply: its BODY). */
const POSITIONALS: Record<Command, number> = {
  serve: 0,
  check: 0,
  reply: 1,
  health: 0,
  schema: 0,
};

/** A parsed command line. */
export interface ParsedArgs {
  command: Command;
  /** Option values by long name: a string, a list (`multiple`), or true for a flag. */
  values: Record<string, string | string[] | true>;
  positionals: string[];
}

/** A command line urocket refuses, with the sentence that says why. */
export interface ArgsError {
  error: string;
}

const SEE_HELP = " (see urocket --help)";

/** Parses `args` (what follows `urocket`), or says what is wrong with them. */
export function parseCommandLine(args: readonly string[]): ParsedArgs | ArgsError {
  const at = commandIndex(args);
  const word = at === undefined ? undefined : args[at];
  if (word !== undefined && !(COMMANDS as readonly string[]).includes(word)) {
    // `urocket --confg x.yaml`: the typo is the option, not a command named "x.yaml".
    const stray = args.slice(0, at).find((arg) =>
      arg.startsWith("-") && longName(splitOption(arg)[0], everyOption()) === undefined
    );
    if (stray) return { error: "urocket: " + unknownOption(splitOption(stray)[0], "serve") };
    const hint = closest(word, COMMANDS);
    return {
      error: `urocket: unknown command ${JSON.stringify(word)}` +
        (hint ? `: did you mean "${hint}"?` : "") + SEE_HELP,
    };
  }
  const command = (word ?? "serve") as Command;
  // A refusal names the command only when the user did.
  const label = word !== undefined ? `urocket ${command}` : "urocket";
  const options = { ...OPTIONS[command], ...COMMON };
  const rest = at === undefined ? [...args] : [...args.slice(0, at), ...args.slice(at + 1)];
  const values: ParsedArgs["values"] = {};
  const positionals: string[] = [];
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i];
    if (arg === "--") {
      positionals.push(...rest.slice(i + 1));
      break;
    }
    if (!arg.startsWith("-") || arg === "-") {
      positionals.push(arg);
      continue;
    }
    const [flag, inline] = splitOption(arg);
    const name = longName(flag, options);
    if (name === undefined) return { error: label + ": " + unknownOption(flag, command) };
    const spec = options[name];
    let value: string | true = true;
    if (spec.value) {
      const next = inline ?? rest[i + 1];
      if (next === undefined || (inline === undefined && next.startsWith("-") && next !== "-")) {
        return {
          error: `${label}: --${name} needs a value, e.g. --${name} ${spec.value.example}` +
            SEE_HELP,
        };
      }
      if (inline === undefined) i++;
      value = next;
    } else if (inline !== undefined) {
      return { error: `${label}: --${name} takes no value` + SEE_HELP };
    }
    if (spec.multiple) {
      values[name] = [...(values[name] as string[] | undefined ?? []), value as string];
    } else if (values[name] !== undefined) {
      return { error: `${label}: --${name} is given twice` + SEE_HELP };
    } else {
      values[name] = value;
    }
  }
  if (positionals.length > POSITIONALS[command]) {
    const extra = positionals.slice(POSITIONALS[command]).join(" ");
    return { error: `${label}: unexpected argument ${JSON.stringify(extra)}` + SEE_HELP };
  }
  return { command, values, positionals };
}

/**
 * Where the command word is: the first argument that is neither an option
 * nor an option's value, before any `--`. Values are skipped for every
 * option that takes one, whichever command owns it.
 */
function commandIndex(args: readonly string[]): number | undefined {
  const withValue = new Set<string>();
  for (const options of Object.values(OPTIONS)) {
    for (const [name, spec] of Object.entries(options)) {
      if (!spec.value) continue;
      withValue.add(`--${name}`);
      if (spec.short) withValue.add(`-${spec.short}`);
    }
  }
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--") return undefined;
    if (!arg.startsWith("-") || arg === "-") return i;
    if (withValue.has(arg)) i++;
  }
  return undefined;
}

/** Every command's options, and the common ones. */
function everyOption(): Record<string, OptionSpec> {
  return Object.assign({}, ...Object.values(OPTIONS), COMMON);
}

/** `--config=x` → [`--config`, `x`]; `-c` → [`-c`, undefined]. */
function splitOption(arg: string): [string, string | undefined] {
  const eq = arg.indexOf("=");
  return eq > 0 ? [arg.slice(0, eq), arg.slice(eq + 1)] : [arg, undefined];
}

/** The long name `flag` (`--config` or `-c`) stands for among `options`, if any. */
function longName(flag: string, options: Record<string, OptionSpec>): string | undefined {
  if (flag.startsWith("--")) {
    return Object.hasOwn(options, flag.slice(2)) ? flag.slice(2) : undefined;
  }
  return Object.entries(options).find(([, spec]) => spec.short === flag.slice(1))?.[0];
}

/** Why `flag` is refused for `command`: whose option it is, or the one it is a typo of. */
function unknownOption(flag: string, command: Command): string {
  const name = flag.replace(/^--?/, "");
  const owners = COMMANDS.filter((c) => c !== command && Object.hasOwn(OPTIONS[c], name));
  if (flag.startsWith("--") && owners.length > 0) {
    return `${flag} is an option of ${owners.map((c) => `urocket ${c}`).join(" and ")}` + SEE_HELP;
  }
  const known = Object.keys({ ...OPTIONS[command], ...COMMON }).map((n) => `--${n}`);
  const hint = closest(flag.startsWith("--") ? flag : `--${name}`, known);
  const body = command === "reply" ? '; a BODY that starts with "-" goes after --' : "";
  return `unknown option ${JSON.stringify(flag)}` + (hint ? `: did you mean "${hint}"?` : "") +
    body + SEE_HELP;
}
