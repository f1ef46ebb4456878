// `npm run -s cli -- <group> <command> [flags]`. JSON on stdout; errors on stderr with exit 1
// (usage errors exit 2).
import { ConfigError } from '../config.ts';
import { CliError } from './context.ts';
import * as admin from './admin.ts';
import * as client from './client.ts';
import * as db from './db.ts';
import * as federation from './federation.ts';
import * as keys from './keys.ts';
import * as permission from './permission.ts';
import * as purge from './purge.ts';
import * as resource from './resource.ts';
import * as role from './role.ts';
import * as user from './user.ts';

const groups: Record<string, { help: string; run(sub: string | undefined, argv: string[]): Promise<void> }> = {
  admin,
  user,
  role,
  permission,
  client,
  resource,
  keys,
  federation,
  db,
  purge,
};

const usage = `usage: npm run -s cli -- <command>\n\n${Object.values(groups).map((g) => g.help).join('\n\n')}\n`;

async function main(argv: string[]) {
  const [group, sub, ...rest] = argv;
  if (!group || group === '--help' || group === '-h' || group === 'help') {
    process.stdout.write(usage);
    return;
  }
  const g = groups[group];
  if (!g) throw new CliError(`unknown command "${group}"\n\n${usage}`);
  if (group === 'purge' && sub !== '--help' && sub !== '-h') return g.run(sub, rest);
  if (!sub || sub === '--help' || sub === '-h') {
    process.stdout.write(`${g.help}\n`);
    return;
  }
  await g.run(sub, rest);
}

main(process.argv.slice(2)).then(
  () => process.exit(0),
  (err) => {
    if (err instanceof CliError || err instanceof ConfigError) {
      process.stderr.write(`error: ${err.message}\n`);
      process.exit(2);
    }
    process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
