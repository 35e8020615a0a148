#!/usr/bin/env node
// Makes the certificates of remote plugins (docs/remote-plugins.md): a CA (or the one already in
// --out), the host's server certificate, and one client certificate per plugin, named by it.
//
//   node scripts/make-certs.mjs --out certs --host wwplugin-host.default.svc --host 10.0.0.5 --plugin gpu --plugin ocr
//
// Writes ca.crt, ca.key, host.crt, host.key and <plugin>.crt, <plugin>.key (keys with mode 0600).
// Uses the library's own createCertificateAuthority (EC P-256, @peculiar/x509): build it first.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createCertificateAuthority, loadCertificateAuthority } from '@wwplugin/nestjs';

const { values } = parseArgs({
  options: {
    out: { type: 'string', default: 'certs' },
    host: { type: 'string', multiple: true, default: [] },
    plugin: { type: 'string', multiple: true, default: [] },
    days: { type: 'string', default: '365' },
    help: { type: 'boolean', default: false },
  },
});
if (values.help || (!values.host.length && !values.plugin.length)) {
  console.log('Usage: node scripts/make-certs.mjs --out DIR [--host NAME_OR_IP ...] [--plugin NAME ...] [--days N]');
  process.exit(values.help ? 0 : 2);
}
const validDays = Number(values.days);
mkdirSync(values.out, { recursive: true });
const write = (name, text, secret = false) => writeFileSync(join(values.out, name), text, { mode: secret ? 0o600 : 0o644 });

const caCert = join(values.out, 'ca.crt');
const caKey = join(values.out, 'ca.key');
// An existing CA is reused: plugins added later join hosts that already trust it.
const ca = existsSync(caCert)
  ? await loadCertificateAuthority({ cert: readFileSync(caCert, 'utf8'), key: readFileSync(caKey, 'utf8') })
  : await createCertificateAuthority({ name: 'WWPlugin remote plugins CA', validDays: Math.max(validDays, 3650) });
if (!existsSync(caCert)) {
  write('ca.crt', ca.cert);
  write('ca.key', ca.key, true);
}
if (values.host.length) {
  const host = await ca.issue({ name: values.host[0], usage: 'server', hosts: values.host, validDays });
  write('host.crt', host.cert);
  write('host.key', host.key, true);
}
for (const name of values.plugin) {
  const plugin = await ca.issue({ name, usage: 'client', validDays });
  write(`${name}.crt`, plugin.cert);
  write(`${name}.key`, plugin.key, true);
}
console.log(`Wrote to ${values.out}: ca.crt${values.host.length ? ', host.crt/key' : ''}${values.plugin.map((p) => `, ${p}.crt/key`).join('')}`);
