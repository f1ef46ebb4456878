// Test backends: a throwaway PostgreSQL database and a Redis key prefix per suite when
// DATABASE_URL / REDIS_URL are set; embedded PGlite and the in-process store otherwise.
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export const DATABASE_URL = process.env.DATABASE_URL;
export const REDIS_URL = process.env.REDIS_URL;

export interface ThrowawayDb {
  url: string;
  drop(): Promise<void>;
}

export async function createThrowawayDatabase(baseUrl: string, label: string): Promise<ThrowawayDb> {
  const name = `idsrv_${label}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: baseUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(baseUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: baseUrl });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

export function randomPrefix(label: string): string {
  return `test:${label}:${randomBytes(4).toString('hex')}:`;
}
