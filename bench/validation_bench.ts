/**
 * The cost of validation per request, as a ratio to the same request
 * without it (`deno bench -A bench/validation_bench.ts`).
 *
 * The request path group runs urocket's real front (routing, body, payload,
 * environment, pending registry, process group, response, access log) with
 * an in-memory "process" that replies at once, so that what differs between
 * the benches is validation alone; the baseline is the same request with
 * `validate-in` off. The request is realistic: a 1 KB JSON body and four
 * parameters (path, two query, header). The validator group times the checks
 * alone against parsing the same body.
 *
 * @module
 */

import { createFrontApp } from "../lib/front/front_app.ts";
import { type Generation, loadGeneration } from "../lib/generation/generation.ts";
import { Logger } from "../lib/log/logger.ts";
import { PendingRequests } from "../lib/pending/registry.ts";
import type { Spawner } from "../lib/process/spawn.ts";
import { ProcessTable } from "../lib/process/table.ts";

const OPENAPI = `openapi: 3.0.3
info: { title: bench, version: "1" }
paths:
  /owners/{ownerId}/pets:
    post:
      operationId: addPet
      parameters:
        - { name: ownerId, in: path, required: true, schema: { type: integer, format: int64, minimum: 1 } }
        - { name: notify, in: query, schema: { type: boolean } }
        - { name: tags, in: query, schema: { type: array, items: { type: string, maxLength: 20 }, maxItems: 10 } }
        - { name: X-Trace-Id, in: header, required: true, schema: { type: string, format: uuid } }
      requestBody:
        required: true
        content:
          application/json:
            schema: { $ref: "#/components/schemas/Pet" }
      responses:
        "201":
          description: created
          content:
            application/json:
              schema: { $ref: "#/components/schemas/Pet" }
components:
  schemas:
    Pet:
      type: object
      required: [id, name, kind, owner, vaccinations]
      properties:
        id: { type: integer, format: int64, readOnly: true }
        name: { type: string, minLength: 1, maxLength: 40 }
        kind: { type: string, enum: [dog, cat, bird, fish] }
        birthday: { type: string, format: date }
        weight: { type: number, format: double, minimum: 0 }
        tag: { type: string, nullable: true }
        owner: { $ref: "#/components/schemas/Owner" }
        vaccinations:
          type: array
          maxItems: 20
          items: { $ref: "#/components/schemas/Vaccination" }
        notes: { type: string, maxLength: 500 }
        microchip: { type: string, format: uuid }
    Owner:
      type: object
      required: [email, name]
      properties:
        name: { type: string }
        email: { type: string, format: email }
        phone: { type: string, pattern: "^[+0-9 ]{6,20}$" }
        address:
          type: object
          properties:
            street: { type: string }
            city: { type: string }
            zip: { type: string, pattern: "^[0-9]{5}$" }
            country: { type: string, minLength: 2, maxLength: 2 }
    Vaccination:
      type: object
      required: [name, date]
      properties:
        name: { type: string }
        date: { type: string, format: date-time }
        vet: { type: string, format: email }
`;

const PET = {
  name: "Rex",
  kind: "dog",
  birthday: "2019-04-12",
  weight: 23.5,
  tag: null,
  owner: {
    name: "Ada Lovelace",
    email: "ada@example.com",
    phone: "+44 20 7946 0000",
    address: { street: "12 Analytical Row", city: "London", zip: "10115", country: "GB" },
  },
  microchip: "5f0c2b1e-8d3a-4c6f-9b2e-7a1d3c5e9f01",
  vaccinations: Array.from({ length: 6 }, (_, i) => ({
    name: ["rabies", "distemper", "parvovirus", "hepatitis", "leptospirosis", "kennel cough"][i],
    date: `202${i}-03-0${i + 1}T10:00:00Z`,
    vet: "vet@example.com",
  })),
  notes: "Friendly with children and other dogs; afraid of thunderstorms. Eats twice a day; " +
    "no chicken. Microchipped. Prefers long walks in the park in the morning and the evening.",
};
const BODY = JSON.stringify(PET);
const REPLY = new TextEncoder().encode(JSON.stringify({ id: 42, ...PET }));
const PATH = "/owners/7/pets?notify=true&tags=good&tags=boy";
const HEADERS = {
  "content-type": "application/json",
  "x-trace-id": "0b7f6a34-3c1e-4c8e-9a57-2f1d2a9b8c01",
};
if (BODY.length < 900 || BODY.length > 1200) throw new Error(`The body is ${BODY.length} bytes`);

/** A pid no process group has, so that the group counts as gone at once. */
const NO_SUCH_GROUP = 2_000_000_000;

/**
 * A "process" that replies at once through the registry, as a handler would
 * over the socket, and exits.
 */
function instantSpawner(registry: PendingRequests, route: string): Spawner {
  return (spec) => {
    let exit!: (status: Deno.CommandStatus) => void;
    const status = new Promise<Deno.CommandStatus>((resolve) => exit = resolve);
    queueMicrotask(async () => {
      const claim = registry.claim(spec.env.REQUEST_ID, route);
      if (claim.kind === "claimed") {
        await claim.request.deliver({
          status: 201,
          headers: new Headers({ "content-type": "application/json" }),
          body: REPLY,
        });
      }
      exit({ success: true, code: 0, signal: null });
    });
    return {
      pid: NO_SUCH_GROUP,
      status,
      stdin: new WritableStream(),
      output: {
        kind: "streams",
        stdout: null,
        stderr: new ReadableStream({ start: (c) => c.close() }),
      },
    };
  };
}

const dir = await Deno.makeTempDir({ prefix: "urocket-bench-" });
await Deno.writeTextFile(`${dir}/openapi.yaml`, OPENAPI);

/** A front app over a generation with the given validation settings. */
async function front(validation: string) {
  await Deno.writeTextFile(
    `${dir}/urocket-service.yaml`,
    `socket: ${dir}/u.sock\npaths:\n  /owners/{ownerId}/pets:\n    post:\n` +
      `      ${validation}\n      inject: { cmd: /bin/true }\n`,
  );
  const generation: Generation = await loadGeneration(`${dir}/urocket-service.yaml`, { env: {} });
  const registry = new PendingRequests();
  const app = createFrontApp({
    generation: () => generation,
    registry,
    processes: new ProcessTable(),
    spawner: instantSpawner(registry, "/uri/{req_id}"),
    logger: new Logger({ write: () => Promise.resolve() }),
    inheritedEnv: {},
  });
  const send = async () => {
    const response = await app.request(PATH, { method: "POST", headers: HEADERS, body: BODY });
    await response.arrayBuffer();
    if (response.status !== 201) throw new Error(`Expected 201, got ${response.status}`);
  };
  await send(); // compiles the validators (lazily, on first use)
  return { generation, send };
}

const plain = await front("validate-in: false");
const checkedIn = await front("validate-in: true");
const checkedBoth = await front("validate-in: true\n      validate-out: true");
await Deno.remove(dir, { recursive: true });

Deno.bench({
  name: "no validation",
  group: "request path: 1 KB body + 4 parameters",
  baseline: true,
  fn: plain.send,
});
Deno.bench({
  name: "validate-in",
  group: "request path: 1 KB body + 4 parameters",
  fn: checkedIn.send,
});
Deno.bench({
  name: "validate-in + validate-out (1 KB reply)",
  group: "request path: 1 KB body + 4 parameters",
  fn: checkedBoth.send,
});

const validator = checkedBoth.generation.operations[0].validator!;
const requestInput = {
  params: { ownerId: "7" },
  url: new URL(`http://localhost${PATH}`),
  headers: new Headers(HEADERS),
  body: new TextEncoder().encode(BODY),
};
const replyInput = {
  status: 201,
  headers: new Headers({ "content-type": "application/json" }),
  body: REPLY,
};

Deno.bench({
  name: "JSON.parse of the 1 KB body",
  group: "validator alone",
  baseline: true,
  fn: () => {
    JSON.parse(new TextDecoder().decode(requestInput.body));
  },
});
Deno.bench({
  name: "checkRequest: 1 KB body + 4 parameters",
  group: "validator alone",
  fn: () => {
    if (!validator.checkRequest(requestInput).ok) throw new Error("Expected a valid request");
  },
});
Deno.bench({
  name: "checkReply: 1 KB body",
  group: "validator alone",
  fn: () => {
    if (!validator.checkReply(replyInput).ok) throw new Error("Expected a valid reply");
  },
});
