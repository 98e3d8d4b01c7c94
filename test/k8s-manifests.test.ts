// deploy/k8s: the kustomize base and the example overlay. kubectl (and its kustomize) is not
// installed where the tests run and no maintained kustomize renderer exists on npm, so this
// suite composes base + overlay itself with the `yaml` package, for exactly the kustomize
// features the files use (resources, namespace, labels pairs, images, patches by path as
// strategic merges of maps and of lists keyed by name) and refuses any other kustomization
// key. Every rendered object is validated against the Kubernetes OpenAPI schemas with
// kubernetes-models (the PodMonitor against the Prometheus Operator CRD's schema with
// @kubernetes-models/prometheus-operator). Those schemas check types, required fields and
// formats but not unknown field names, so the cross-references the manifests rely on are
// checked here too. Then the rendered options, profile and pod args run the real CLI, with a
// StatefulSet pod's hostname, against the mock ACS.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import YAML from 'yaml';
import { Namespace, ConfigMap, Service } from 'kubernetes-models/v1';
import { StatefulSet } from 'kubernetes-models/apps/v1';
import { Job } from 'kubernetes-models/batch/v1';
import { PodMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import { MockAcs } from '../src/mock-acs/mock-acs.js';
import { checkScenarioOptions, loadConfig } from '../src/config/load.js';
import { parseScenario } from '../src/scenario/parse.js';
import { cliEnv } from './helpers/cli.js';
import { repoRoot } from './helpers/harness.js';

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const KUSTOMIZATION_KEYS = ['apiVersion', 'kind', 'resources', 'namespace', 'labels', 'images', 'patches'];
const CLUSTER_SCOPED = new Set(['Namespace']);
const key = (o: Obj): string => `${o['kind']}/${o['metadata']?.['name']}`;

function readDocs(file: string): Obj[] {
  return YAML.parseAllDocuments(readFileSync(file, 'utf8')).map((d) => {
    expect(d.errors).toEqual([]);
    return d.toJS() as Obj;
  }).filter((o) => o !== null);
}

/** Strategic merge of a patch into a target: maps merge, lists of named maps merge by name, the rest is replaced. */
function merge(target: unknown, patch: unknown): unknown {
  if (Array.isArray(patch) && Array.isArray(target) && patch.every((p) => p && typeof p === 'object' && 'name' in p)) {
    const out = target.map((t) => ({ ...(t as Obj) }));
    for (const p of patch as Obj[]) {
      const i = out.findIndex((t) => t['name'] === p['name']);
      if (i >= 0) out[i] = merge(out[i], p) as Obj;
      else out.push(p);
    }
    return out;
  }
  if (patch && typeof patch === 'object' && !Array.isArray(patch) && target && typeof target === 'object' && !Array.isArray(target)) {
    const out: Obj = { ...(target as Obj) };
    for (const [k, v] of Object.entries(patch as Obj)) out[k] = k in out ? merge(out[k], v) : v;
    return out;
  }
  return patch;
}

/** Render a kustomization folder: its resources (files or other kustomizations), then its transformers. */
function render(dir: string): Obj[] {
  const k = readDocs(join(dir, 'kustomization.yaml'))[0]!;
  expect(k['apiVersion']).toBe('kustomize.config.k8s.io/v1beta1');
  expect(k['kind']).toBe('Kustomization');
  for (const name of Object.keys(k)) expect([name, KUSTOMIZATION_KEYS.includes(name)]).toEqual([name, true]);
  let objs: Obj[] = [];
  for (const r of (k['resources'] ?? []) as string[]) {
    const p = resolve(dir, r);
    objs.push(...(existsSync(join(p, 'kustomization.yaml')) ? render(p) : readDocs(p)));
  }
  for (const patch of (k['patches'] ?? []) as Obj[]) {
    expect(Object.keys(patch)).toEqual(['path']);
    for (const p of readDocs(resolve(dir, patch['path'] as string))) {
      const i = objs.findIndex((o) => key(o) === key(p) && o['apiVersion'] === p['apiVersion']);
      expect([key(p), i >= 0]).toEqual([key(p), true]);
      objs[i] = merge(objs[i], p) as Obj;
    }
  }
  for (const l of (k['labels'] ?? []) as Obj[]) {
    expect(Object.keys(l)).toEqual(['pairs']); // no includeSelectors/includeTemplates
    objs = objs.map((o) => merge(o, { metadata: { labels: l['pairs'] } }) as Obj);
  }
  for (const img of (k['images'] ?? []) as Obj[]) {
    for (const o of objs) {
      for (const c of (o['spec']?.['template']?.['spec']?.['containers'] ?? []) as Obj[]) {
        const [name, tag] = (c['image'] as string).split(':');
        if (name === img['name']) c['image'] = `${img['newName'] ?? name}:${img['newTag'] ?? tag}`;
      }
    }
  }
  if (k['namespace'] !== undefined) {
    objs = objs.map((o) => (CLUSTER_SCOPED.has(o['kind']) ? o : (merge(o, { metadata: { namespace: k['namespace'] } }) as Obj)));
  }
  return objs;
}

const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  'v1/Namespace': Namespace,
  'v1/ConfigMap': ConfigMap,
  'v1/Service': Service,
  'apps/v1/StatefulSet': StatefulSet,
  'batch/v1/Job': Job,
  'monitoring.coreos.com/v1/PodMonitor': PodMonitor,
};
function validateAll(objs: Obj[]): void {
  for (const o of objs) {
    const Model = MODELS[`${o['apiVersion']}/${o['kind']}`];
    expect([key(o), Model !== undefined]).toEqual([key(o), true]);
    expect(() => new Model!(o as never).validate()).not.toThrow();
  }
}

const base = render(`${repoRoot}deploy/k8s/base`);
const overlay = render(`${repoRoot}deploy/k8s/overlays/example`);
const find = (objs: Obj[], kind: string, name: string): Obj => {
  const o = objs.find((x) => x['kind'] === kind && x['metadata']['name'] === name);
  expect([kind, name, o !== undefined]).toEqual([kind, name, true]);
  return o!;
};
const container = (o: Obj): Obj => o['spec']['template']['spec']['containers'][0];
const argAfter = (args: string[], flag: string): string | undefined => args[args.indexOf(flag) + 1];

describe('deploy/k8s renders and validates', () => {
  it('base and overlay: every object valid against the Kubernetes schemas', () => {
    expect(base.map(key).sort()).toEqual(['ConfigMap/cpe-sim-config', 'ConfigMap/cpe-sim-profile', 'Job/cpe-sim-run', 'PodMonitor/cpe-sim', 'Service/cpe-sim', 'StatefulSet/cpe-sim']);
    expect(overlay.map(key).sort()).toEqual([...base.map(key), 'Namespace/cpe-sim'].sort());
    validateAll(base);
    validateAll(overlay);
  });

  it('the validator rejects a wrong type (it can fail)', () => {
    const bad = merge(find(base, 'StatefulSet', 'cpe-sim'), { spec: { replicas: 'four' } }) as Obj;
    expect(() => new StatefulSet(bad as never).validate()).toThrow(/replicas must be integer/);
    const badMonitor = merge(find(base, 'PodMonitor', 'cpe-sim'), { spec: { podMetricsEndpoints: 'metrics' } }) as Obj;
    expect(() => new PodMonitor(badMonitor as never).validate()).toThrow(/podMetricsEndpoints/);
  });

  it('the overlay applies: namespace, image, replicas, the ACS URL, the part-of label', () => {
    const sts = find(overlay, 'StatefulSet', 'cpe-sim');
    expect(sts['spec']['replicas']).toBe(4);
    expect(container(sts)['image']).toBe('registry.example.com/cpe-sim:0.1.0');
    expect(container(find(overlay, 'Job', 'cpe-sim-run'))['image']).toBe('registry.example.com/cpe-sim:0.1.0');
    for (const o of overlay) {
      expect([key(o), o['metadata']['labels']?.['app.kubernetes.io/part-of']]).toEqual([key(o), 'cpe-sim']);
      if (o['kind'] !== 'Namespace') expect([key(o), o['metadata']['namespace']]).toEqual([key(o), 'cpe-sim']);
    }
    expect(YAML.parse(find(overlay, 'ConfigMap', 'cpe-sim-config')['data']['options.yaml'])['acsUrl']).toBe('http://genieacs-cwmp.acs.svc.cluster.local:7547/');
    expect(find(overlay, 'ConfigMap', 'cpe-sim-config')['data']['scenario.yaml']).toBeDefined(); // a data patch merges, keeps the other key
  });

  it('the pods hang together: args, downward API, volumes and claims, service, probes, scrape annotations, PodMonitor, resources', () => {
    for (const objs of [base, overlay]) {
      const sts = find(objs, 'StatefulSet', 'cpe-sim');
      const job = find(objs, 'Job', 'cpe-sim-run');
      const svc = find(objs, 'Service', 'cpe-sim');
      expect(job['spec']['completionMode']).toBe('Indexed');
      expect(svc['spec']['clusterIP']).toBe('None');
      expect(sts['spec']['serviceName']).toBe('cpe-sim');
      expect(sts['spec']['template']['metadata']['labels']).toMatchObject(svc['spec']['selector']);
      expect(sts['spec']['template']['metadata']['labels']).toMatchObject(sts['spec']['selector']['matchLabels']);
      const monitor = find(objs, 'PodMonitor', 'cpe-sim');
      const stsArgs = container(sts)['args'] as string[];
      expect(argAfter(stsArgs, '--fleet-index')).toBe('auto');
      expect(argAfter(stsArgs, '--state-dir')!.startsWith('/var/lib/cpe-sim/')).toBe(true);
      const jobArgs = container(job)['args'] as string[];
      expect(jobArgs.slice(0, 2)).toEqual(['run', '/etc/cpe-sim/scenario.yaml']);
      expect(argAfter(jobArgs, '--fleet-index')).toBe('auto');
      for (const w of [sts, job]) {
        const spec = w['spec']['template']['spec'];
        const c = container(w);
        expect(c['env']).toContainEqual({ name: 'CPE_SIM_CR_ADVERTISE_HOST', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } });
        expect(Number(argAfter(c['args'], '--cpes'))).toBeGreaterThan(0);
        const metrics = (c['ports'] as Obj[]).find((p) => p['name'] === 'metrics')!;
        expect(metrics['containerPort']).toBe(9100); // the image's CPE_SIM_METRICS_BIND_ADDR port
        expect(w['spec']['template']['metadata']['annotations']).toEqual({ 'prometheus.io/scrape': 'true', 'prometheus.io/port': String(metrics['containerPort']), 'prometheus.io/path': '/metrics' });
        expect(w['spec']['template']['metadata']['labels']).toMatchObject(monitor['spec']['selector']['matchLabels']);
        expect(monitor['spec']['podMetricsEndpoints'][0]['port']).toBe('metrics');
        expect(c['resources']['requests']).toEqual({ cpu: expect.any(String), memory: expect.any(String) });
        expect(spec['securityContext']['runAsNonRoot']).toBe(true);
        const volumes = new Set([...(spec['volumes'] as Obj[]).map((v) => v['name']), ...((w['spec']['volumeClaimTemplates'] ?? []) as Obj[]).map((v) => v['metadata']['name'])]);
        for (const m of c['volumeMounts'] as Obj[]) expect([m['name'], volumes.has(m['name'])]).toEqual([m['name'], true]);
        for (const v of spec['volumes'] as Obj[]) {
          if (v['configMap']) find(objs, 'ConfigMap', v['configMap']['name']);
        }
        for (const m of (c['volumeMounts'] as Obj[]).filter((x) => x['subPath'])) {
          const cm = (spec['volumes'] as Obj[]).find((v) => v['name'] === m['name'])!['configMap']['name'];
          expect(Object.keys(find(objs, 'ConfigMap', cm)['data'])).toContain(m['subPath']);
        }
      }
      const state = (container(sts)['volumeMounts'] as Obj[]).find((m) => m['name'] === 'state')!;
      expect(argAfter(stsArgs, '--state-dir')!.startsWith(state['mountPath'])).toBe(true);
      for (const probe of ['readinessProbe', 'livenessProbe']) expect(container(sts)[probe]['httpGet']).toEqual({ path: '/metrics', port: 'metrics' });
      expect(sts['spec']['volumeClaimTemplates'][0]['metadata']['name']).toBe('state');
    }
  });
});

describe('the rendered configuration runs', () => {
  let acs: MockAcs;
  let dir: string;
  beforeAll(async () => {
    acs = new MockAcs({});
    await acs.listen();
    dir = mkdtempSync(join(tmpdir(), 'cpe-sim-k8s-'));
  });
  afterAll(async () => {
    await acs.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Lay the pod's ConfigMap mounts out under dir as the image's /app and /etc paths, with the shipped model. */
  function layOut(objs: Obj[], w: Obj): { app: string; args: string[] } {
    const spec = w['spec']['template']['spec'];
    const app = join(dir, 'app');
    mkdirSync(join(app, 'profiles', 'example-tr181-gateway'), { recursive: true });
    if (!existsSync(join(app, 'profiles', 'example-tr181-gateway', 'model'))) symlinkSync(`${repoRoot}profiles/example-tr181-gateway/model`, join(app, 'profiles', 'example-tr181-gateway', 'model'));
    const at = (p: string) => join(dir, p); // /app/... and /etc/... under dir
    for (const m of container(w)['volumeMounts'] as Obj[]) {
      const v = (spec['volumes'] as Obj[] | undefined)?.find((x) => x['name'] === m['name']);
      if (!v?.['configMap']) continue;
      const data = find(objs, 'ConfigMap', v['configMap']['name'])['data'] as Record<string, string>;
      const files = m['subPath'] ? { [m['mountPath']]: data[m['subPath']]! } : Object.fromEntries(Object.entries(data).map(([k, t]) => [`${m['mountPath']}/${k}`, t]));
      for (const [p, t] of Object.entries(files)) {
        mkdirSync(dirname(at(p)), { recursive: true });
        writeFileSync(at(p), t);
      }
    }
    // Paths in the args point into the laid-out tree.
    const args = (container(w)['args'] as string[]).map((a) => (a.startsWith('/etc/') ? join(dir, a) : a));
    return { app, args };
  }

  it('StatefulSet pod cpe-sim-2: its options, profile ConfigMap and args bootstrap CPEs 2n..2n+1 of --cpes 2 against the ACS', async () => {
    const sts = find(overlay, 'StatefulSet', 'cpe-sim');
    const { app, args } = layOut(overlay, sts);
    const state = join(dir, 'state');
    const run = args.map((a, i) => (args[i - 1] === '--cpes' ? '2' : args[i - 1] === '--state-dir' ? state : a));
    // A bootstrap run (no metrics listener: the test's ports are its own), one shard.
    const r = await new Promise<{ code: number | null; stdout: string; stderr: string }>((res) => {
      const p = spawn(process.execPath, [`${repoRoot}dist/src/cli/main.js`, ...run, '--shards', '1', '--boot-ramp', '0', '--log-level', 'warn'], {
        cwd: app,
        env: { ...cliEnv(), HOSTNAME: 'cpe-sim-2', JOB_COMPLETION_INDEX: undefined, CPE_SIM_ACS_URL: acs.url, CPE_SIM_CR_BIND_ADDR: '127.0.0.1:0', CPE_SIM_CR_ADVERTISE_HOST: '127.0.0.1' },
        timeout: 60_000,
        killSignal: 'SIGKILL',
      });
      let stdout = '';
      let stderr = '';
      p.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
      p.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      p.on('close', (code) => res({ code, stdout, stderr }));
    });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect([...acs.devices.values()].map((i) => i.deviceId.serialNumber).sort()).toEqual(['CS00000004', 'CS00000005']);
    expect([...acs.devices.values()][0]!.deviceId.productClass).toBe('HGW-5200');
    expect(existsSync(state)).toBe(true);
  });

  it("the base's profile ConfigMap is the shipped profile.yaml (the model it is laid over), value for value", () => {
    const cm = find(base, 'ConfigMap', 'cpe-sim-profile')['data']['profile.yaml'] as string;
    expect(YAML.parse(cm)).toEqual(YAML.parse(readFileSync(`${repoRoot}profiles/example-tr181-gateway/profile.yaml`, 'utf8')));
  });

  it("the Job's scenario and options parse as cpe-sim run reads them, and JOB_COMPLETION_INDEX sets the slice", () => {
    const cm = find(overlay, 'ConfigMap', 'cpe-sim-config')['data'] as Record<string, string>;
    const scenario = parseScenario(cm['scenario.yaml']!, 'scenario.yaml');
    checkScenarioOptions({ file: 'scenario.yaml', options: scenario.options ?? {} });
    const opts = join(dir, 'options.yaml');
    writeFileSync(opts, cm['options.yaml']!);
    const jobArgs = container(find(overlay, 'Job', 'cpe-sim-run'))['args'] as string[];
    const cfg = loadConfig({ flags: { config: opts, fleetIndex: argAfter(jobArgs, '--fleet-index'), cpes: argAfter(jobArgs, '--cpes') }, env: { JOB_COMPLETION_INDEX: '3', HOSTNAME: 'cpe-sim-run-3-abcde' }, scenario: { file: 'scenario.yaml', options: scenario.options ?? {} } });
    expect(cfg.fleetOffset).toBe(3 * Number(argAfter(jobArgs, '--cpes')));
  });
});
