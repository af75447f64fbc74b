// Generates proto/gen/messages.{js,d.ts} from proto/*.proto with protobufjs-cli (static code, no
// reflection), or with --copy puts the generated JavaScript next to the compiled TypeScript in dist/,
// with the other files the compiled code reads beside itself (the status page, http/status-page.html).
// Generated code is never edited by hand and never committed: the build makes it.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const gen = join(root, 'proto', 'gen');

if (process.argv.includes('--copy')) {
  const out = join(root, 'dist', 'proto', 'gen');
  mkdirSync(out, { recursive: true });
  copyFileSync(join(gen, 'messages.js'), join(out, 'messages.js'));
  copyFileSync(join(gen, 'messages.d.ts'), join(out, 'messages.d.ts'));
  mkdirSync(join(root, 'dist', 'http'), { recursive: true });
  copyFileSync(join(root, 'http', 'status-page.html'), join(root, 'dist', 'http', 'status-page.html'));
} else {
  mkdirSync(gen, { recursive: true });
  const protos = readdirSync(join(root, 'proto'))
    .filter((f) => f.endsWith('.proto'))
    .map((f) => join(root, 'proto', f));
  const bin = (name) => join(root, 'node_modules', '.bin', name);
  execFileSync(
    bin('pbjs'),
    [
      '-t', 'static-module', '-w', 'esm', '--dependency', 'protobufjs/minimal.js',
      '--force-long', '--no-verify', '--no-delimited', '--no-typeurl', '--no-service',
      '-p', join(root, 'proto'), '-d', '-o', join(gen, 'messages.js'), ...protos,
    ],
    { stdio: 'inherit' },
  );
}
