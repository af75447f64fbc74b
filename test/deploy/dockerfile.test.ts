/**
 * The Dockerfile, read as instructions: no Docker engine runs here, so this checks what a build would
 * give — several stages, a final one without the compiler or the dev dependencies, a non-root user, the
 * ports the manifests use, and `mydatastore server` as what the container runs.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import t from 'tap';

// Tests run from dist/test/deploy/; the Dockerfile lives at the root of the source tree.
const root = fileURLToPath(new URL('../../../', import.meta.url));

interface Instruction {
  op: string;
  args: string;
}

/** One instruction per logical line: continuations joined, comments and blank lines dropped. */
function parseDockerfile(text: string): Instruction[] {
  const logical = text
    .split('\n')
    .filter((l) => !/^\s*#/.test(l))
    .join('\n')
    .replace(/\\\n/g, ' ');
  return logical
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .map((l) => {
      const m = /^(\S+)\s*(.*)$/.exec(l)!;
      return { op: m[1]!.toUpperCase(), args: m[2]! };
    });
}

/** The instructions of each stage, split at FROM. */
function stages(all: Instruction[]): Instruction[][] {
  const out: Instruction[][] = [];
  for (const i of all) {
    if (i.op === 'FROM') out.push([]);
    out.at(-1)?.push(i);
  }
  return out;
}

const instructions = parseDockerfile(readFileSync(root + 'Dockerfile', 'utf8'));
const all = stages(instructions);
const final = all.at(-1) ?? [];
const args = (stage: Instruction[], op: string): string[] => stage.filter((i) => i.op === op).map((i) => i.args);

t.test('multi-stage: the build happens in an earlier stage', (t) => {
  t.ok(all.length >= 2, `${all.length} stages`);
  const build = all.find((s) => args(s, 'RUN').some((a) => a.includes('npm run build')));
  t.ok(build !== undefined && build !== final, 'npm run build runs in a build stage');
  t.ok(
    all.some((s) => args(s, 'RUN').some((a) => /npm ci .*--omit=dev/.test(a))),
    'runtime dependencies are installed without the dev ones',
  );
  t.notOk(args(final, 'RUN').some((a) => /npm (ci|install)|tsc/.test(a)), 'no install or compile in the final stage');
  const copies = args(final, 'COPY');
  t.notOk(copies.some((a) => /dist\/(test|bench)\b/.test(a) || /^\.\s/.test(a)), 'no tests, benchmarks or source tree in the final image');
  t.ok(copies.some((a) => a.includes('dist/deploy')), 'the operator is in the image');
  t.match(args(final, 'FROM')[0] ?? '', /alpine|slim|distroless/, 'a small base');
  t.end();
});

t.test('the final stage runs as a non-root user', (t) => {
  const users = args(final, 'USER');
  t.equal(users.length, 1);
  const user = users[0] ?? '';
  t.notMatch(user, /^(root|0)(:|$)/);
  // The numeric uid the StatefulSet's runAsUser names, so runAsNonRoot can check it without /etc/passwd.
  t.match(user, /^10001(:10001)?$/);
  t.end();
});

t.test('ports, health check and command', (t) => {
  t.same(args(final, 'EXPOSE').join(' ').split(/\s+/).sort(), ['7000', '8000']);
  t.match(args(final, 'HEALTHCHECK')[0] ?? '', /\/health/);
  const exec = (op: string): string[] => JSON.parse(args(final, op)[0] ?? '[]') as string[];
  t.same([...exec('ENTRYPOINT'), ...exec('CMD')], ['mydatastore', 'server'], 'exec form: node gets SIGTERM directly');
  const pkg = JSON.parse(readFileSync(root + 'package.json', 'utf8')) as { bin: Record<string, string> };
  t.ok(args(final, 'RUN').some((a) => a.includes(`/app/${pkg.bin.mydatastore} /usr/local/bin/mydatastore`)), 'mydatastore is the package bin');
  t.end();
});

t.test('.dockerignore keeps built and local files out of the context', (t) => {
  const ignored = readFileSync(root + '.dockerignore', 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.startsWith('#'));
  for (const p of ['node_modules', 'dist', 'data', '.git']) t.ok(ignored.includes(p), p);
  t.end();
});
