import { migrate, migrationStatus } from '../db/migrate.ts';
import { CliError, print, withDb } from './context.ts';

export const help = `db migrate       Applies pending migrations (also done at server start).
db status        Lists applied and pending migrations.`;

export async function run(sub: string | undefined): Promise<void> {
  if (sub === 'migrate') return print(await withDb(({ db }) => migrate(db.sql), { migrate: false }));
  if (sub === 'status') return print(await withDb(({ db }) => migrationStatus(db.sql), { migrate: false }));
  throw new CliError(`usage:\n${help}`);
}
