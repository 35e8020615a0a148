import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { ROOT } from './support/host-harness.js';

// docs/remote-plugins.md relies on these manifests and on scripts/make-certs.mjs. The manifests are
// parsed and checked against what the library reads (they were not applied to a cluster here).
const K8S = join(ROOT, 'docs/k8s');
const run = promisify(execFile);

type Doc = Record<string, any>;
const manifests: Doc[] = readdirSync(K8S)
  .filter((f) => f.endsWith('.yaml'))
  .flatMap((f) =>
    parseAllDocuments(readFileSync(join(K8S, f), 'utf8')).map((d) => {
      expect(d.errors, f).toEqual([]);
      return d.toJS() as Doc;
    }),
  );
const find = (kind: string) => manifests.find((m) => m.kind === kind)!;

describe('docs/k8s: the Kubernetes example', () => {
  const deployment = find('Deployment');
  const secret = find('Secret');
  const service = find('Service');
  const container = deployment?.spec.template.spec.containers[0];
  const env = Object.fromEntries((container?.env ?? []).map((e: Doc) => [e.name, e.value ?? e.valueFrom]));

  it('has a Deployment, a Secret and a Service, each with apiVersion, name and namespace', () => {
    expect(deployment).toMatchObject({ apiVersion: 'apps/v1', kind: 'Deployment' });
    expect(secret).toMatchObject({ apiVersion: 'v1', kind: 'Secret' });
    expect(service).toMatchObject({ apiVersion: 'v1', kind: 'Service' });
    for (const m of [deployment, secret, service]) expect(m.metadata).toMatchObject({ name: expect.any(String), namespace: 'plugins' });
    expect(deployment.spec.selector.matchLabels).toEqual(deployment.spec.template.metadata.labels);
  });

  it('points the plugin at the host Service by its cluster name and port', () => {
    const port = service.spec.ports[0];
    expect(env.WWPLUGIN_HOST).toBe(`${service.metadata.name}.${service.metadata.namespace}.svc:${port.port}`);
    expect(port.targetPort).toBe(7443);
  });

  it('mounts the Secret where WWPLUGIN_TLS_CA/CERT/KEY look, with the keys the Secret has', () => {
    const volume = deployment.spec.template.spec.volumes.find((v: Doc) => v.secret);
    expect(volume.secret.secretName).toBe(secret.metadata.name);
    const mount = container.volumeMounts.find((m: Doc) => m.name === volume.name);
    const keys = Object.keys(secret.stringData ?? secret.data);
    for (const name of ['WWPLUGIN_TLS_CA', 'WWPLUGIN_TLS_CERT', 'WWPLUGIN_TLS_KEY']) {
      const path: string = env[name];
      expect(path.startsWith(`${mount.mountPath}/`), name).toBe(true);
      expect(keys).toContain(path.slice(mount.mountPath.length + 1));
    }
  });

  it('probes the plugin on its own WWPLUGIN_HEALTH_PORT: /livez and /readyz', () => {
    const port = container.ports.find((p: Doc) => p.name === container.livenessProbe.httpGet.port);
    expect(String(port.containerPort)).toBe(env.WWPLUGIN_HEALTH_PORT);
    expect(container.livenessProbe.httpGet.path).toBe('/livez');
    expect(container.readinessProbe.httpGet).toMatchObject({ path: '/readyz', port: port.name });
  });

  it('gives the plugin longer to stop than it takes to drain (20 s by default)', () => {
    expect(deployment.spec.template.spec.terminationGracePeriodSeconds).toBeGreaterThan(20);
  });

  it('uses only environment variables the library reads', () => {
    const source =
      readFileSync(join(ROOT, 'libs/wwplugin/src/plugin/remote-connector.ts'), 'utf8') +
      readFileSync(join(ROOT, 'libs/wwplugin/src/plugin/remote-health.server.ts'), 'utf8');
    for (const name of Object.keys(env)) expect(source, name).toContain(`'${name}'`);
  });
});

describe('scripts/make-certs.mjs', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wwplugin-certs-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const pem = (name: string) => new X509Certificate(readFileSync(join(dir, name)));

  it('makes a CA, a host certificate for its names and a certificate per plugin, keys private', async () => {
    await run(process.execPath, [
      join(ROOT, 'scripts/make-certs.mjs'),
      '--out',
      dir,
      '--host',
      'wwplugin-host.plugins.svc',
      '--host',
      '10.0.0.5',
      '--plugin',
      'ocr',
    ]);
    const ca = pem('ca.crt');
    expect(ca.ca).toBe(true);
    const host = pem('host.crt');
    expect(host.verify(ca.publicKey)).toBe(true);
    expect(host.checkHost('wwplugin-host.plugins.svc')).toBe('wwplugin-host.plugins.svc');
    expect(host.checkIP('10.0.0.5')).toBe('10.0.0.5');
    const ocr = pem('ocr.crt');
    expect(ocr.verify(ca.publicKey)).toBe(true);
    expect(ocr.subject).toContain('CN=ocr');
    expect(ocr.subjectAltName).toBe('DNS:ocr');
    for (const key of ['ca.key', 'host.key', 'ocr.key']) expect(statSync(join(dir, key)).mode & 0o077).toBe(0);
  });

  it('reuses the CA already there for plugins added later', async () => {
    const before = readFileSync(join(dir, 'ca.crt'), 'utf8');
    await run(process.execPath, [join(ROOT, 'scripts/make-certs.mjs'), '--out', dir, '--plugin', 'gpu']);
    expect(readFileSync(join(dir, 'ca.crt'), 'utf8')).toBe(before);
    expect(pem('gpu.crt').verify(pem('ca.crt').publicKey)).toBe(true);
  });
});
