import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from './logger.ts';

describe('logger redaction', () => {
  it('never writes passwords, tokens, cookies or secrets', () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, cb) {
        lines.push(String(chunk));
        cb();
      },
    });
    const log = createLoggerTo(sink);
    log.info({ password: 'hunter2-secret', user: { password: 'nested-secret' }, refresh_token: 'rt-value', headers: { cookie: '_session=abc', authorization: 'Bearer xyz' }, client_secret: 'cs-value', ok: 'visible' }, 'event');
    const out = lines.join('');
    for (const secret of ['hunter2-secret', 'nested-secret', 'rt-value', '_session=abc', 'Bearer xyz', 'cs-value']) expect(out).not.toContain(secret);
    expect(out).toContain('visible');
    expect(out).toContain('[redacted]');
  });
});

function createLoggerTo(stream: Writable) {
  return createLogger('info', stream);
}
