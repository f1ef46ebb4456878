import { purgeExpired } from '../services/purge.ts';
import { CliError, parse, print, withDb } from './context.ts';

export const help = `purge [--retention-days N]
                 Deletes expired sessions, grants and refresh tokens, used or expired verification
                 and reset tokens, and login attempts older than the retention (RETENTION_DAYS, 90).`;

export async function run(sub: string | undefined, argv: string[]): Promise<void> {
  const args = sub && sub.startsWith('--') ? [sub, ...argv] : argv;
  if (sub && !sub.startsWith('--')) throw new CliError(`usage:\n${help}`);
  const v = parse(args, { 'retention-days': { type: 'string' } });
  if (v.help) return console.log(help);
  const raw = v['retention-days'] as string | undefined;
  const days = raw === undefined ? undefined : Number(raw);
  if (days !== undefined && (!Number.isInteger(days) || days < 1)) throw new CliError('--retention-days must be a positive integer');
  print(await withDb(({ db, config }) => purgeExpired(db.prisma, days ?? config.account.retentionDays)));
}
