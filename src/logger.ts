// pino, JSON lines. Anything that can carry a secret is redacted by path; values that might be
// logged in free text (URLs with codes) are never passed to the logger in the first place.
import { pino, type Logger } from 'pino';

const SECRET_KEYS = [
  'password', 'newPassword', 'currentPassword', 'passwordHash', 'token', 'accessToken', 'access_token',
  'refreshToken', 'refresh_token', 'id_token', 'code', 'code_verifier', 'client_secret', 'secret',
  'cookie', 'authorization', 'set-cookie', 'otp', 'csrf', 'ENCRYPTION_KEY', 'COOKIE_SECRET',
];

const paths = [
  ...SECRET_KEYS.flatMap((k) => [k, `*.${k}`, `*.*.${k}`]),
  'req.headers.cookie',
  'req.headers.authorization',
  'res.headers["set-cookie"]',
  'headers.cookie',
  'headers.authorization',
];

export function createLogger(level: string = 'info', destination?: NodeJS.WritableStream): Logger {
  const options = {
    level,
    redact: { paths, censor: '[redacted]' },
    base: { service: 'idserver' },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return destination ? pino(options, destination) : pino(options);
}

export type { Logger };
