/**
 * The docs hold together: every relative link of README.md, SECURITY.md,
 * BENCHMARKS.md, deploy/README.md and docs/ names a file that exists and,
 * with a `#fragment`, a heading of that file (GitHub's anchors).
 */

import assert from "node:assert/strict";

const REPO = new URL("../../../", import.meta.url).pathname.replace(/\/$/, "");

async function pages(): Promise<string[]> {
  const out = ["README.md", "SECURITY.md", "BENCHMARKS.md", "deploy/README.md"];
  for await (const entry of Deno.readDir(`${REPO}/docs`)) {
    if (entry.name.endsWith(".md")) out.push(`docs/${entry.name}`);
  }
  return out;
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
function anchor(heading: string): string {
  return heading.trim().toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, "").replace(/\s/g, "-");
}

/** The anchors of a Markdown text's headings (code blocks aside). */
function anchors(text: string): Set<string> {
  const out = new Set<string>();
  for (const match of text.replace(/^```[\s\S]*?^```$/gm, "").matchAll(/^#+ (.+)$/gm)) {
    out.add(anchor(match[1]));
  }
  return out;
}

Deno.test("anchor() makes GitHub's heading anchors", () => {
  assert.equal(
    anchor("With `urocket reply` (no curl needed)"),
    "with-urocket-reply-no-curl-needed",
  );
  assert.equal(
    anchor("Admin listener: health, readiness, metrics"),
    "admin-listener-health-readiness-metrics",
  );
  assert.equal(anchor("p99 at c=8, and session autogroups"), "p99-at-c8-and-session-autogroups");
});

Deno.test("every relative link of the docs names a file, and a heading, that exist", async () => {
  const broken: string[] = [];
  for (const page of await pages()) {
    const text = await Deno.readTextFile(`${REPO}/${page}`);
    const base = page.includes("/") ? page.slice(0, page.lastIndexOf("/") + 1) : "";
    const prose = text.replace(/^```[\s\S]*?^```$/gm, "");
    for (const [, target] of prose.matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^[a-z]+:/.test(target)) continue;
      const [path, fragment] = target.split("#");
      const file = path === "" ? page : new URL(base + path, "file:///").pathname.slice(1);
      let linked: string;
      try {
        const stat = await Deno.stat(`${REPO}/${file}`);
        if (stat.isDirectory || fragment === undefined) continue;
        linked = await Deno.readTextFile(`${REPO}/${file}`);
      } catch {
        broken.push(`${page}: ${target} (no ${file})`);
        continue;
      }
      if (!anchors(linked).has(fragment)) broken.push(`${page}: ${target} (no such heading)`);
    }
  }
  assert.deepEqual(broken, []);
});
