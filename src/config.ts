// The only module that reads process.env. Every variable is validated with zod; a bad or missing
// value stops the start with a message naming the variable.
import { createHmac, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');
const seconds = z.coerce.number().int().positive();
// 32 bytes, given as 64 hex characters or base64/base64url.
const key32 = z.string().transform((v, ctx) => {
  const buf = /^[0-9a-f]{64}$/i.test(v) ? Buffer.from(v, 'hex') : Buffer.from(v, 'base64');
  if (buf.length !== 32) {
    ctx.addIssue({ code: 'custom', message: 'must be 32 bytes (64 hex chars or base64)' });
    return z.NEVER;
  }
  return buf;
});

// Social sign-in upstreams (FEDERATION_PROVIDERS, a JSON array). Plain http only on loopback (tests).
const upstreamUrl = z.url().refine((u) => {
  const url = new URL(u);
  return url.protocol === 'https:' || (url.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname));
}, 'must be an https URL (http only on a loopback address)');
/** The fields of one upstream provider (the admin API derives its body schema from them). */
export const upstreamFields = z.object({
  id: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,31}$/, 'must be 1–32 lowercase letters, digits, - or _'),
  type: z.enum(['oidc', 'google', 'github']),
  name: z.string().min(1).max(40).optional(),
  issuer: upstreamUrl.optional(),
  discoveryUrl: upstreamUrl.optional(),
  clientId: z.string().min(1).max(255),
  clientSecret: z.string().min(1).max(1024),
  scopes: z.array(z.string().regex(/^[\x21\x23-\x5b\x5d-\x7e]{1,64}$/, 'must be a scope token')).max(20).optional(),
  enabled: z.boolean().default(true),
  // GitHub preset only: overridable so a test server can stand in for github.com.
  authorizationUrl: upstreamUrl.optional(),
  tokenUrl: upstreamUrl.optional(),
  apiUrl: upstreamUrl.optional(),
});
/** One upstream provider, as FEDERATION_PROVIDERS lists it (and the CLI and admin API accept it). */
export const upstreamSchema = upstreamFields
  .strict()
  .refine((p) => p.type !== 'oidc' || p.issuer || p.discoveryUrl, 'an oidc provider needs issuer or discoveryUrl');
const federationProviders = z
  .string()
  .transform((v, ctx) => {
    try {
      return JSON.parse(v) as unknown;
    } catch {
      ctx.addIssue({ code: 'custom', message: 'must be a JSON array of providers' });
      return z.NEVER;
    }
  })
  .pipe(z.array(upstreamSchema).max(20))
  .refine((list) => new Set(list.map((p) => p.id)).size === list.length, 'provider ids must be unique');

const schema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().default('0.0.0.0'),
  ISSUER: z.url().optional(),
  DATA_DIR: z.string().min(1).default('./.data'),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
    .optional(),
  DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(200).default(10),
  REDIS_URL: z.string().regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL').optional(),
  REDIS_KEY_PREFIX: z.string().max(64).default('oidc:'),
  COOKIE_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  ENCRYPTION_KEY: key32.optional(),
  ACCESS_TOKEN_TTL: seconds.default(15 * 60),
  REFRESH_TOKEN_TTL: seconds.default(30 * 24 * 3600),
  ID_TOKEN_TTL: seconds.default(3600),
  AUTHORIZATION_CODE_TTL: seconds.default(60),
  SESSION_TTL: seconds.default(14 * 24 * 3600),
  GRANT_TTL: seconds.default(365 * 24 * 3600),
  INTERACTION_TTL: seconds.default(60 * 60),
  CLIENT_CREDENTIALS_TTL: seconds.default(15 * 60),
  SIGNING_ALG: z.enum(['ES256', 'RS256']).default('ES256'),
  TRUST_PROXY: bool.default(false),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  PRODUCT_NAME: z.string().min(1).max(80).default('Identity'),
  SMTP_URL: z.string().regex(/^smtps?:\/\//, 'must be an smtp:// or smtps:// URL').optional(),
  MAIL_FROM: z.string().min(3).max(254).optional(),
  REGISTRATION_ENABLED: bool.default(true),
  REQUIRE_EMAIL_VERIFICATION: bool.default(true),
  REVOKE_SESSIONS_ON_PASSWORD_RESET: bool.default(true),
  RETENTION_DAYS: z.coerce.number().int().min(1).max(3650).default(90),
  PURGE_INTERVAL: z.coerce.number().int().min(0).default(3600),
  MAX_SESSIONS_PER_USER: z.coerce.number().int().min(1).max(1000).default(5),
  SMS_WEBHOOK_URL: z.url({ protocol: /^https?$/ }).optional(),
  SMS_WEBHOOK_SECRET: z.string().min(16, 'must be at least 16 characters').optional(),
  DEFAULT_ROLES: z
    .string()
    .max(1024)
    .regex(/^\s*[a-z0-9][a-z0-9_-]{0,63}(\s*,\s*[a-z0-9][a-z0-9_-]{0,63})*\s*$/, 'must be a comma-separated list of role names')
    .default('user'),
  FEDERATION_PROVIDERS: federationProviders.optional(),
  ADMIN_AUDIENCE: z.string().max(255).regex(/^(https?:\/\/[^#\s]+|urn:[^#\s]+)$/, 'must be an http(s) or urn URI without a fragment').optional(),
});

export type Env = z.infer<typeof schema>;

export interface Config {
  env: Env['NODE_ENV'];
  production: boolean;
  port: number;
  host: string;
  issuer: string;
  dataDir: string;
  databaseUrl?: string;
  databasePoolSize: number;
  redisUrl?: string;
  redisKeyPrefix: string;
  /** Keys for signed cookies: the first signs, all verify (rotation). */
  cookieKeys: string[];
  /** AES-256-GCM key for secrets at rest (signing keys, TOTP seeds, upstream tokens). */
  encryptionKey: Buffer;
  /** HMAC key for IP addresses and other identifiers we must correlate but never store raw. */
  hmacKey: Buffer;
  ttl: {
    accessToken: number;
    refreshToken: number;
    idToken: number;
    authorizationCode: number;
    session: number;
    grant: number;
    interaction: number;
    clientCredentials: number;
  };
  signingAlg: 'ES256' | 'RS256';
  trustProxy: boolean;
  logLevel: Env['LOG_LEVEL'];
  productName: string;
  mail: {
    /** SMTP server; unset (the embedded default) writes .eml files under DATA_DIR/mail instead. */
    smtpUrl?: string;
    from: string;
  };
  account: {
    registrationEnabled: boolean;
    requireEmailVerification: boolean;
    /** A password reset ends the user's other sessions, grants and refresh tokens. */
    revokeOnPasswordReset: boolean;
    /** Login attempts older than this are purged. */
    retentionDays: number;
    /** Seconds between in-process purge runs; 0 disables the job (run `cli purge` instead). */
    purgeIntervalSeconds: number;
    /** Concurrent browser sessions per user; a new sign-in ends the oldest beyond this. */
    maxSessions: number;
    /** Roles every new account gets (registration, CLI and admin API without explicit roles). */
    defaultRoles: string[];
  };
  sms: {
    /** Gateway webhook; unset (the embedded default) logs messages instead of sending them. */
    webhookUrl?: string;
    /** HMAC key for the X-Signature header of webhook calls. */
    webhookSecret?: string;
  };
  admin: {
    /** Resource identifier (audience) of the admin API; tokens for it are JWTs from this server. */
    audience: string;
  };
  federation: {
    /** Upstream providers for social sign-in, in button order. */
    /**
     * The live list: FEDERATION_PROVIDERS, then the providers operators added through the CLI or
     * the admin API (replaced in place when they change; see services/federation/registry.ts).
     */
    providers: UpstreamProvider[];
  };
}

export interface UpstreamProvider {
  /** Our name for it: in URLs (callback <issuer>/federation/callback/<id>) and FederatedIdentity.provider. */
  id: string;
  type: 'oidc' | 'google' | 'github';
  /** Shown on the button: "Continue with <name>". */
  name: string;
  /** OpenID Connect issuer (discovery at <issuer>/.well-known/openid-configuration); oidc and google. */
  issuer?: string;
  clientId: string;
  clientSecret: string;
  scopes: string[];
  enabled: boolean;
  /** GitHub endpoints (github.com by default). */
  github?: { authorizationUrl: string; tokenUrl: string; apiUrl: string };
}

export type UpstreamInput = z.infer<typeof upstreamSchema>;

export function upstreamProviders(list: UpstreamInput[]): UpstreamProvider[] {
  return list.map((p) => {
    const base = { id: p.id, clientId: p.clientId, clientSecret: p.clientSecret, enabled: p.enabled, type: p.type };
    if (p.type === 'github') {
      return {
        ...base,
        name: p.name ?? 'GitHub',
        scopes: p.scopes ?? ['read:user', 'user:email'],
        github: {
          authorizationUrl: p.authorizationUrl ?? 'https://github.com/login/oauth/authorize',
          tokenUrl: p.tokenUrl ?? 'https://github.com/login/oauth/access_token',
          apiUrl: (p.apiUrl ?? 'https://api.github.com').replace(/\/$/, ''),
        },
      };
    }
    const fromDiscovery = p.discoveryUrl?.replace(/\/\.well-known\/openid-configuration$/, '');
    return {
      ...base,
      name: p.name ?? (p.type === 'google' ? 'Google' : p.id),
      issuer: p.issuer ?? fromDiscovery ?? 'https://accounts.google.com',
      scopes: p.scopes ?? ['openid', 'email', 'profile'],
    };
  });
}

export class ConfigError extends Error {}

/** Reads and validates configuration. `source` defaults to process.env (tests pass their own). */
export function loadConfig(source: Record<string, string | undefined> = process.env): Config {
  // Empty strings count as unset, so `FOO= npm start` behaves like no FOO.
  const cleaned = Object.fromEntries(Object.entries(source).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = schema.safeParse(cleaned);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  const production = e.NODE_ENV === 'production';
  const dataDir = resolve(e.DATA_DIR);

  let cookieSecret = e.COOKIE_SECRET;
  let encryptionKey = e.ENCRYPTION_KEY;
  if (production) {
    if (!cookieSecret) throw new ConfigError('invalid configuration:\n  COOKIE_SECRET: required when NODE_ENV=production');
    if (!encryptionKey) throw new ConfigError('invalid configuration:\n  ENCRYPTION_KEY: required when NODE_ENV=production');
    if (!e.ISSUER) throw new ConfigError('invalid configuration:\n  ISSUER: required when NODE_ENV=production');
  }
  if (e.SMS_WEBHOOK_URL && !e.SMS_WEBHOOK_SECRET) throw new ConfigError('invalid configuration:\n  SMS_WEBHOOK_SECRET: required with SMS_WEBHOOK_URL');
  if (!cookieSecret || !encryptionKey) {
    // Embedded/development mode: secrets are generated once and kept in DATA_DIR.
    const secrets = loadOrCreateSecrets(dataDir);
    cookieSecret ??= secrets.cookieSecret;
    encryptionKey ??= Buffer.from(secrets.encryptionKey, 'hex');
  }

  return {
    env: e.NODE_ENV,
    production,
    port: e.PORT,
    host: e.HOST,
    issuer: (e.ISSUER ?? `http://localhost:${e.PORT}`).replace(/\/$/, ''),
    dataDir,
    databaseUrl: e.DATABASE_URL,
    databasePoolSize: e.DATABASE_POOL_SIZE,
    redisUrl: e.REDIS_URL,
    redisKeyPrefix: e.REDIS_KEY_PREFIX,
    cookieKeys: [cookieSecret],
    encryptionKey,
    hmacKey: deriveKey(encryptionKey, 'hmac-identifiers'),
    ttl: {
      accessToken: e.ACCESS_TOKEN_TTL,
      refreshToken: e.REFRESH_TOKEN_TTL,
      idToken: e.ID_TOKEN_TTL,
      authorizationCode: e.AUTHORIZATION_CODE_TTL,
      session: e.SESSION_TTL,
      grant: e.GRANT_TTL,
      interaction: e.INTERACTION_TTL,
      clientCredentials: e.CLIENT_CREDENTIALS_TTL,
    },
    signingAlg: e.SIGNING_ALG,
    trustProxy: e.TRUST_PROXY,
    logLevel: e.LOG_LEVEL,
    productName: e.PRODUCT_NAME,
    mail: {
      smtpUrl: e.SMTP_URL,
      from: e.MAIL_FROM ?? `${e.PRODUCT_NAME} <no-reply@${new URL(e.ISSUER ?? 'http://localhost').hostname}>`,
    },
    account: {
      registrationEnabled: e.REGISTRATION_ENABLED,
      requireEmailVerification: e.REQUIRE_EMAIL_VERIFICATION,
      revokeOnPasswordReset: e.REVOKE_SESSIONS_ON_PASSWORD_RESET,
      retentionDays: e.RETENTION_DAYS,
      purgeIntervalSeconds: e.PURGE_INTERVAL,
      maxSessions: e.MAX_SESSIONS_PER_USER,
      defaultRoles: [...new Set(e.DEFAULT_ROLES.split(',').map((r) => r.trim()))],
    },
    sms: { webhookUrl: e.SMS_WEBHOOK_URL, webhookSecret: e.SMS_WEBHOOK_SECRET },
    federation: { providers: upstreamProviders(e.FEDERATION_PROVIDERS ?? []) },
    admin: {
      audience: e.ADMIN_AUDIENCE ?? `${(e.ISSUER ?? `http://localhost:${e.PORT}`).replace(/\/$/, '')}/admin/v1`,
    },
  };
}

function deriveKey(master: Buffer, label: string): Buffer {
  // An HMAC of a fixed label is a sufficient KDF for a uniformly random 32-byte master key, and
  // keeps the identifier-hashing key separate from the encryption key.
  return createHmac('sha256', master).update(label).digest();
}

function loadOrCreateSecrets(dataDir: string): { cookieSecret: string; encryptionKey: string } {
  const file = join(dataDir, 'secrets.json');
  if (existsSync(file)) {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as { cookieSecret: string; encryptionKey: string };
    if (parsed.cookieSecret && /^[0-9a-f]{64}$/.test(parsed.encryptionKey)) return parsed;
    throw new ConfigError(`invalid configuration:\n  ${file}: malformed; delete it to regenerate`);
  }
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const secrets = {
    cookieSecret: randomBytes(32).toString('base64url'),
    encryptionKey: randomBytes(32).toString('hex'),
  };
  // wx: two processes starting at once must not overwrite each other's secrets.
  try {
    writeFileSync(file, JSON.stringify(secrets, null, 2), { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return loadOrCreateSecrets(dataDir);
    throw err;
  }
  return secrets;
}
