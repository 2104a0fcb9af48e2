/**
 * The Kubernetes manifests (deploy/kubernetes/) and the Dockerfiles agree
 * with the config they deploy: ports, probe paths, socket directory, config
 * mount, grace period, user.
 */

import assert from "node:assert/strict";
import { parse, parseAllDocuments } from "yaml";
import {
  type FileInfo,
  inspectConfig,
  parseDuration,
  type ServiceConfig,
} from "../../../lib/config/mod.ts";

const REPO = new URL("../../../", import.meta.url).pathname.replace(/\/$/, "");
const MANIFESTS = `${REPO}/deploy/kubernetes`;
const EXAMPLE = `${REPO}/examples/container`;

/**
 * urocket's shutdown bounds when the config does not set them: `shutdown-delay`
 * (readiness 503 before the front stops accepting) and `shutdown-timeout`
 * (in-flight requests finish). Read from the config when present.
 */
const SHUTDOWN_DEFAULTS = { "shutdown-delay": "5s", "shutdown-timeout": "25s" } as const;

/** PATH of the php:8-cli image. */
const IMAGE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// deno-lint-ignore no-explicit-any
type Manifest = Record<string, any>;

async function manifests(): Promise<Manifest[]> {
  const all: Manifest[] = [];
  for await (const entry of Deno.readDir(MANIFESTS)) {
    if (!entry.name.endsWith(".yaml") || entry.name === "kustomization.yaml") continue;
    const text = await Deno.readTextFile(`${MANIFESTS}/${entry.name}`);
    for (const doc of parseAllDocuments(text)) {
      assert.deepEqual(doc.errors, [], `${entry.name} does not parse`);
      all.push({ ...doc.toJS(), file: entry.name });
    }
  }
  return all;
}

function one(all: Manifest[], kind: string): Manifest {
  const found = all.filter((m) => m.kind === kind);
  assert.equal(found.length, 1, `expected one ${kind}, found ${found.length}`);
  return found[0];
}

/**
 * What urocket makes of the ConfigMap's config in the example image: the
 * image's files stand in for the disk (php on PATH, the handlers' folder).
 */
async function effectiveConfig(text: string, file: string): Promise<ServiceConfig> {
  const directories = new Set(["/srv/app", "/srv/app/handlers", "/etc/urocket"]);
  const files = new Set(["/usr/local/bin/php"]);
  const stat = (path: string): Promise<FileInfo | undefined> =>
    Promise.resolve(
      directories.has(path)
        ? { isFile: false, isDirectory: true, mode: 0o755 }
        : files.has(path)
        ? { isFile: true, isDirectory: false, mode: 0o755 }
        : undefined,
    );
  const { config, problems } = await inspectConfig(text, { file, env: { PATH: IMAGE_PATH }, stat });
  assert.deepEqual(problems, [], "the ConfigMap's config has problems");
  return config;
}

/** The container port that `port` (a name or a number) designates. */
function containerPort(container: Manifest, port: string | number): number {
  if (typeof port === "number") return port;
  const named = container.ports.find((p: Manifest) => p.name === port);
  assert.ok(named, `no container port named ${port}`);
  return named.containerPort;
}

function dirname(path: string): string {
  return path.replace(/\/[^/]*$/, "");
}

/** The JSON-form CMD of a Dockerfile. */
async function dockerCmd(file: string): Promise<string[]> {
  const match = (await Deno.readTextFile(file)).match(/^CMD (\[.*\])$/m);
  assert.ok(match, `${file} has no JSON-form CMD`);
  return JSON.parse(match[1]);
}

/** Everything the tests below look at, loaded once per test. */
async function load() {
  const all = await manifests();
  const configMap = one(all, "ConfigMap");
  const deployment = one(all, "Deployment");
  const pod = deployment.spec.template.spec;
  assert.equal(pod.containers.length, 1);
  const container = pod.containers[0];
  const args: string[] = container.args;
  const configPath = args[args.indexOf("--config") + 1];
  assert.ok(args.includes("--config") && configPath, "the container names no --config");
  const text = configMap.data[configPath.split("/").pop()!];
  assert.ok(text, `the ConfigMap has no ${configPath.split("/").pop()}`);
  const config = await effectiveConfig(text, configPath);
  return { all, configMap, deployment, pod, container, configPath, text, config };
}

Deno.test({
  name:
    "deploy/kubernetes has one Deployment, Service, ConfigMap, HPA and PDB, all in kustomization",
  async fn() {
    const all = await manifests();
    for (const kind of ["Deployment", "Service", "ConfigMap", "HorizontalPodAutoscaler"]) {
      one(all, kind);
    }
    one(all, "PodDisruptionBudget");
    const kustomization = parse(await Deno.readTextFile(`${MANIFESTS}/kustomization.yaml`));
    assert.deepEqual(
      [...kustomization.resources].sort(),
      [...new Set(all.map((m) => m.file))].sort(),
      "kustomization.yaml does not list every manifest",
    );
  },
});

Deno.test({
  name: "the ConfigMap carries the container example's config and OpenAPI document unchanged",
  async fn() {
    const { configMap, config } = await load();
    assert.equal(
      configMap.data["urocket-service.yaml"],
      await Deno.readTextFile(`${EXAMPLE}/urocket-service.yaml`),
    );
    assert.equal(
      configMap.data["openapi.yaml"],
      await Deno.readTextFile(`${EXAMPLE}/openapi.yaml`),
    );
    // The document the config names is in the same ConfigMap.
    assert.ok(configMap.data[config.openapi.split("/").pop()!]);
    // Each handler the config runs is one the example image copies to /srv/app.
    for (const op of config.operations) {
      const script = op.args[0];
      assert.ok(op.wd === "/srv/app" && script, `${op.method} ${op.path} runs outside /srv/app`);
      assert.ok((await Deno.stat(`${EXAMPLE}/${script}`)).isFile, `no ${script} in the example`);
    }
  },
});

Deno.test({
  name:
    "the Deployment mounts the whole ConfigMap where --config looks, and the image's CMD agrees",
  async fn() {
    const { configMap, pod, container, configPath } = await load();
    const mount = container.volumeMounts.find((m: Manifest) => m.mountPath === dirname(configPath));
    assert.ok(mount, `nothing is mounted at ${dirname(configPath)}`);
    // A subPath mount never sees a ConfigMap update.
    assert.equal(mount.subPath, undefined);
    const volume = pod.volumes.find((v: Manifest) => v.name === mount.name);
    assert.equal(volume.configMap?.name, configMap.metadata.name);
    assert.deepEqual(container.args, ["serve", "--config", configPath]);
    assert.deepEqual(await dockerCmd(`${EXAMPLE}/Dockerfile`), container.args);
    assert.deepEqual(await dockerCmd(`${REPO}/Dockerfile`), container.args);
  },
});

Deno.test({
  name: "the Deployment's ports and probes are the config's listen and admin addresses",
  async fn() {
    const { deployment, container, config } = await load();
    assert.equal(containerPort(container, "http"), config.listen.port);
    assert.ok(config.admin, "the config has no admin listener to probe");
    // The kubelet probes the pod's IP, so the admin listener must not be bound to loopback.
    assert.ok(
      ["0.0.0.0", "::"].includes(config.admin.hostname),
      `admin is bound to ${config.admin.hostname}`,
    );
    assert.equal(containerPort(container, "admin"), config.admin.port);
    for (const [probe, path] of [["livenessProbe", "/healthz"], ["readinessProbe", "/readyz"]]) {
      const get = container[probe]?.httpGet;
      assert.ok(get, `no ${probe}`);
      assert.equal(get.path, path, probe);
      assert.equal(containerPort(container, get.port), config.admin.port, `${probe} port`);
    }
    const annotations = deployment.spec.template.metadata.annotations;
    assert.equal(Number(annotations["prometheus.io/port"]), config.admin.port);
    assert.equal(annotations["prometheus.io/path"], "/metrics");
  },
});

Deno.test({
  name: "the Deployment gives the socket's directory a writable emptyDir of its own",
  async fn() {
    const { pod, container, config } = await load();
    const directory = dirname(config.socket);
    const mount = container.volumeMounts.find((m: Manifest) => m.mountPath === directory);
    assert.ok(mount, `nothing is mounted at the socket's directory ${directory}`);
    assert.notEqual(mount.readOnly, true);
    const volume = pod.volumes.find((v: Manifest) => v.name === mount.name);
    assert.ok(volume.emptyDir, "the socket's directory is not an emptyDir");
    const others = container.volumeMounts.filter((m: Manifest) => m.name === mount.name);
    assert.equal(others.length, 1, "the socket's volume is mounted twice");
  },
});

Deno.test({
  name: "terminationGracePeriodSeconds outlasts shutdown-delay + shutdown-timeout + kill-grace",
  async fn() {
    const { pod, text, config } = await load();
    const raw = parse(text);
    const delay = parseDuration(raw["shutdown-delay"] ?? SHUTDOWN_DEFAULTS["shutdown-delay"]);
    const timeout = parseDuration(
      raw["shutdown-timeout"] ?? SHUTDOWN_DEFAULTS["shutdown-timeout"],
    );
    const killGrace = Math.max(...config.operations.map((op) => op.killGraceMs));
    const needed = (delay + timeout + killGrace) / 1000;
    assert.ok(
      pod.terminationGracePeriodSeconds > needed,
      `terminationGracePeriodSeconds ${pod.terminationGracePeriodSeconds} is not above ${needed}`,
    );
  },
});

Deno.test({
  name: "the Deployment runs as the example image's non-root user on a read-only root filesystem",
  async fn() {
    const { pod, container } = await load();
    assert.equal(pod.securityContext.runAsNonRoot, true);
    const dockerfile = await Deno.readTextFile(`${EXAMPLE}/Dockerfile`);
    const user = Number(dockerfile.match(/^USER (\d+)/m)?.[1]);
    assert.ok(user > 0, "the example image has no numeric non-root USER");
    assert.equal(pod.securityContext.runAsUser, user);
    assert.equal(container.securityContext.readOnlyRootFilesystem, true);
    assert.equal(container.securityContext.allowPrivilegeEscalation, false);
    assert.deepEqual(container.securityContext.capabilities.drop, ["ALL"]);
    // With a read-only root, handlers and Deno write their temporary files to a volume.
    assert.ok(container.volumeMounts.some((m: Manifest) => m.mountPath === "/tmp"));
  },
});

Deno.test({
  name: "the Service, HPA and PDB select the Deployment's pods and ports",
  async fn() {
    const { all, deployment, container, config } = await load();
    const labels = deployment.spec.template.metadata.labels;
    const matches = (selector: Record<string, string>) =>
      Object.entries(selector).every(([key, value]) => labels[key] === value);
    assert.ok(matches(deployment.spec.selector.matchLabels));

    const service = one(all, "Service");
    assert.ok(matches(service.spec.selector), "the Service selects no pod of the Deployment");
    const http = service.spec.ports.find((p: Manifest) => p.name === "http");
    assert.equal(containerPort(container, http.targetPort), config.listen.port);

    const hpa = one(all, "HorizontalPodAutoscaler");
    assert.equal(hpa.spec.scaleTargetRef.kind, "Deployment");
    assert.equal(hpa.spec.scaleTargetRef.name, deployment.metadata.name);
    assert.ok(1 <= hpa.spec.minReplicas && hpa.spec.minReplicas <= hpa.spec.maxReplicas);
    // Utilization is relative to the request, which must then exist.
    assert.ok(container.resources.requests.cpu, "no CPU request for the HPA to scale on");

    const pdb = one(all, "PodDisruptionBudget");
    assert.ok(matches(pdb.spec.selector.matchLabels), "the PDB selects no pod of the Deployment");
  },
});

Deno.test({
  name: "the Dockerfile's build stage runs deno task compile, with a C compiler for the helper",
  async fn() {
    const dockerfile = await Deno.readTextFile(`${REPO}/Dockerfile`);
    const build = dockerfile.split(/^FROM /m).find((stage) => / AS build\b/.test(stage));
    assert.ok(build, "the Dockerfile has no build stage");
    const tasks = (JSON.parse(await Deno.readTextFile(`${REPO}/deno.json`)).tasks) as Record<
      string,
      string
    >;
    assert.match(build, /deno task compile\b/);
    // compile builds the helper from native/ (tools/build_helper.ts), then compiles main.ts; what
    // the build context holds for it is tested in docker_context_test.ts.
    assert.match(tasks.compile, /tools\/build_helper\.ts/);
    assert.match(build, /apt-get install[^\n]*\bgcc\b[^\n]*\blibc6-dev\b/);
  },
});
