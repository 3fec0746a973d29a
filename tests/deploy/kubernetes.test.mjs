// deploy/kubernetes: each overlay is rendered with `kubectl kustomize` (no cluster needed) and
// every object is validated offline against the Kubernetes API schemas (npm kubernetes-models);
// then what the deployment relies on is checked by path: the coordinator as a StatefulSet of
// one with a data volume, workers advertising their pod IP, the ReadWriteMany checkpoint volume
// mounted everywhere, probes, requests and limits, the PodDisruptionBudget and a restricted
// securityContext.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseAllDocuments } from "yaml";

const HERE = dirname(fileURLToPath(import.meta.url));
const KUBERNETES = resolve(HERE, "../../deploy/kubernetes");

function render(overlay) {
  let text;
  try {
    text = execFileSync("kubectl", ["kustomize", join(KUBERNETES, "overlays", overlay)], { encoding: "utf8" });
  } catch (err) {
    throw new Error(`cannot render overlay ${overlay} with kubectl kustomize (is kubectl installed?): ${err.message}`);
  }
  return parseAllDocuments(text).map((doc) => {
    assert.deepEqual(doc.errors, [], `overlay ${overlay}: YAML errors`);
    return doc.toJS();
  });
}

// The kubernetes-models class for an object's apiVersion and kind.
async function modelOf(object) {
  const [group, version] = object.apiVersion.includes("/") ? object.apiVersion.split("/") : [null, object.apiVersion];
  const path = group ? `kubernetes-models/${group}/${version}/${object.kind}` : `kubernetes-models/${version}/${object.kind}`;
  const module = await import(path);
  return module[object.kind];
}

async function validateAll(objects, overlay) {
  for (const object of objects) {
    const Model = await modelOf(object);
    assert.ok(Model, `overlay ${overlay}: no schema for ${object.apiVersion} ${object.kind}`);
    assert.doesNotThrow(() => new Model(object).validate(), `overlay ${overlay}: ${object.kind} ${object.metadata?.name}`);
  }
}

const find = (objects, kind, name) => {
  const found = objects.find((o) => o.kind === kind && o.metadata.name.startsWith(name));
  assert.ok(found, `no ${kind} ${name}`);
  return found;
};
const envOf = (container) => Object.fromEntries((container.env ?? []).map((e) => [e.name, e]));

function checkRestricted(pod, what) {
  const spec = pod.spec;
  assert.equal(spec.securityContext.runAsNonRoot, true, what);
  assert.ok(spec.securityContext.runAsUser > 0, what);
  assert.equal(spec.securityContext.seccompProfile.type, "RuntimeDefault", what);
  for (const container of spec.containers) {
    const sc = container.securityContext;
    assert.equal(sc.allowPrivilegeEscalation, false, what);
    assert.deepEqual(sc.capabilities.drop, ["ALL"], what);
    assert.equal(sc.readOnlyRootFilesystem, true, what);
    assert.ok(container.resources.requests.cpu && container.resources.requests.memory, `${what}: requests`);
    assert.ok(container.resources.limits.cpu && container.resources.limits.memory, `${what}: limits`);
    assert.ok(container.readinessProbe && container.livenessProbe, `${what}: probes`);
  }
}

function checkCommon(objects, namespace) {
  for (const object of objects.filter((o) => o.kind !== "Namespace")) {
    assert.equal(object.metadata.namespace, namespace, `${object.kind} ${object.metadata.name}`);
  }
  const config = find(objects, "ConfigMap", "sluice-config");
  assert.equal(config.data.SLUICE_CHECKPOINT_DIR, "/checkpoints");
  assert.equal(config.data.SLUICE_COORDINATOR, "sluice-coordinator:7070");

  const coordinator = find(objects, "StatefulSet", "sluice-coordinator");
  assert.equal(coordinator.spec.replicas, 1);
  const cspec = coordinator.spec.template.spec;
  const c = cspec.containers[0];
  assert.deepEqual(c.args, ["coordinator"]);
  assert.equal(envOf(c).SLUICE_LISTEN.value, "0.0.0.0:7070");
  assert.equal(envOf(c).SLUICE_DATA_DIR.value, "/var/lib/sluice");
  assert.equal(c.envFrom[0].configMapRef.name, config.metadata.name, "the generated ConfigMap's name");
  const data = coordinator.spec.volumeClaimTemplates.find((t) => t.metadata.name === "data");
  assert.ok(data, "a volume for the coordinator's data dir");
  assert.ok(c.volumeMounts.some((m) => m.name === "data" && m.mountPath === "/var/lib/sluice"));
  assert.deepEqual([c.readinessProbe.httpGet.path, c.livenessProbe.httpGet.path], ["/readyz", "/healthz"]);
  assert.equal(c.ports.find((p) => p.name === c.readinessProbe.httpGet.port).containerPort, 8080);
  assert.equal(envOf(c).SLUICE_HTTP_LISTEN.value, "0.0.0.0:8080");
  checkRestricted(coordinator.spec.template, "coordinator");

  const service = find(objects, "Service", "sluice-coordinator");
  assert.deepEqual(service.spec.ports.map((p) => p.port).sort(), [7070, 8080, 9090]);
  assert.equal(service.spec.selector["app.kubernetes.io/component"], "coordinator");
  const headless = find(objects, "Service", "sluice-coordinator-headless");
  assert.equal(headless.spec.clusterIP, "None");
  assert.equal(coordinator.spec.serviceName, headless.metadata.name);

  const workers = find(objects, "Deployment", "sluice-worker");
  const w = workers.spec.template.spec.containers[0];
  assert.deepEqual(w.args, ["worker"]);
  const env = envOf(w);
  assert.equal(env.POD_IP.valueFrom.fieldRef.fieldPath, "status.podIP", "the pod IP from the downward API");
  assert.equal(env.SLUICE_ADVERTISE.value, "$(POD_IP):7071");
  assert.equal(env.SLUICE_LISTEN.value, "0.0.0.0:7071");
  assert.equal(env.SLUICE_METRICS_LISTEN.value, "0.0.0.0:9090");
  assert.deepEqual([w.readinessProbe.httpGet.path, w.livenessProbe.httpGet.path], ["/readyz", "/healthz"]);
  assert.equal(w.ports.find((p) => p.name === w.readinessProbe.httpGet.port).containerPort, 9090);
  checkRestricted(workers.spec.template, "worker");

  const claim = find(objects, "PersistentVolumeClaim", "sluice-checkpoints");
  assert.deepEqual(claim.spec.accessModes, ["ReadWriteMany"]);
  for (const pod of [coordinator.spec.template.spec, workers.spec.template.spec]) {
    const volume = pod.volumes.find((v) => v.persistentVolumeClaim?.claimName === claim.metadata.name);
    assert.ok(volume, "the checkpoint claim is mounted");
    assert.ok(pod.containers[0].volumeMounts.some((m) => m.name === volume.name && m.mountPath === "/checkpoints"));
  }

  const budget = find(objects, "PodDisruptionBudget", "sluice-worker");
  assert.deepEqual(budget.spec.selector.matchLabels, workers.spec.selector.matchLabels);
  assert.equal(budget.spec.maxUnavailable, 1);
  return { workers, claim, coordinator };
}

test("the dev overlay renders valid objects: one worker, the default storage class", async () => {
  const objects = render("dev");
  await validateAll(objects, "dev");
  const { workers, claim } = checkCommon(objects, "sluice-dev");
  assert.equal(workers.spec.replicas, 1);
  assert.equal(claim.spec.storageClassName, undefined);
  assert.equal(find(objects, "Namespace", "sluice-dev").metadata.labels["pod-security.kubernetes.io/enforce"], "restricted");
});

test("the prod overlay renders valid objects: N workers, a pinned image, an RWX storage class", async () => {
  const objects = render("prod");
  await validateAll(objects, "prod");
  const { workers, claim, coordinator } = checkCommon(objects, "sluice");
  assert.equal(workers.spec.replicas, 4);
  assert.equal(claim.spec.storageClassName, "nfs-client");
  assert.equal(envOf(workers.spec.template.spec.containers[0]).SLUICE_SLOTS.value, "8");
  for (const set of [workers, coordinator]) {
    assert.equal(set.spec.template.spec.containers[0].image, "registry.example/sluice:0.1.0");
  }
});

test("the schema check catches a wrong object (the check itself can fail)", async () => {
  const objects = render("dev");
  const broken = structuredClone(find(objects, "Deployment", "sluice-worker"));
  broken.spec.replicas = "two";
  const Model = await modelOf(broken);
  assert.throws(() => new Model(broken).validate(), /replicas must be integer/);
});
