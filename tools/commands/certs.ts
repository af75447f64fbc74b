/**
 * `mydatastore certs`: a development CA and certificates for nodes and clients (tools/certs.ts), and how
 * to start nodes and clients with them.
 */
import { Command, Option } from 'commander';
import { CertsError, certFiles, caFiles, makeCertificates } from '../certs.js';
import { positiveInt } from '../setting-parsers.js';

const list = (v: string): string[] => v.split(',').map((s) => s.trim()).filter((s) => s !== '');

const HELP_AFTER = `
Files (PEM; keys readable by their owner only): DIR/ca.pem and ca-key.pem, DIR/node-<id>.pem and
node-<id>-key.pem, DIR/client-<name>.pem and client-<name>-key.pem. Existing files are kept, and an
existing CA signs the new certificates, so running it again with another --nodes adds nodes to the same
cluster. A node certificate (OU=node) is valid for the --hosts; clients check that the node they reach
is one of them. Keep ca-key.pem off the nodes: whoever has it can make certificates for the cluster.
Made with the openssl command (OpenSSL 1.1.1 or later).
Example:
  mydatastore certs --out certs --nodes node1,node2,node3 --clients app
  mydatastore server --node-id node1 --listen 127.0.0.1:7001 \\
    --tls-cert certs/node-node1.pem --tls-key certs/node-node1-key.pem --tls-ca certs/ca.pem
  mydatastore get greeting --tls-ca certs/ca.pem --tls-cert certs/client-app.pem --tls-key certs/client-app-key.pem`;

export function certsCommand(): Command {
  return new Command('certs')
    .description('make a development CA and TLS certificates for nodes and clients (rpc/SECURITY.md)')
    .addOption(new Option('--out <dir>', 'directory to write them to (created if missing)').default('certs'))
    .addOption(new Option('--nodes <id,...>', 'node ids to make node certificates for').default(['node1', 'node2', 'node3'], 'node1,node2,node3').argParser(list))
    .addOption(new Option('--clients <name,...>', 'client names to make client certificates for').default(['client'], 'client').argParser(list))
    .addOption(new Option('--hosts <host,...>', 'host names and IP addresses the node certificates are valid for').default(['localhost', '127.0.0.1', '::1'], 'localhost,127.0.0.1,::1').argParser(list))
    .option('--days <n>', 'validity in days', positiveInt('--days'), 365)
    .option('--force', 'replace existing files, the CA included (every certificate it signed stops being trusted)')
    .addHelpText('after', HELP_AFTER)
    .showHelpAfterError('(run with --help for usage)')
    .action((opts: { out: string; nodes: string[]; clients: string[]; hosts: string[]; days: number; force?: boolean }) => {
      try {
        const r = makeCertificates({ dir: opts.out, nodes: opts.nodes, clients: opts.clients, hosts: opts.hosts, days: opts.days, force: opts.force === true });
        for (const f of r.written) console.log(`wrote ${f}`);
        for (const f of r.kept) console.log(`kept  ${f} (exists; --force replaces it)`);
        const node = opts.nodes[0];
        if (node !== undefined) {
          const n = certFiles(opts.out, 'node', node);
          console.log(`\nstart ${node} with: --tls-cert ${n.cert} --tls-key ${n.key} --tls-ca ${caFiles(opts.out).cert}`);
        }
      } catch (err) {
        if (!(err instanceof CertsError)) throw err;
        console.error(`error: ${err.message}`);
        process.exitCode = 2;
      }
    });
}
