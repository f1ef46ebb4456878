// Outgoing mail. With SMTP_URL, nodemailer over SMTP; without it (the embedded default) each
// message is written as an .eml file under DATA_DIR/mail and its links are logged, so a developer
// can click through without a mail server. Subjects never carry a secret; links are in the body.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import nodemailer, { type Transporter } from 'nodemailer';
import type { Config } from '../config.ts';
import type { Logger } from '../logger.ts';
import { renderEmail } from '../views.ts';
import { randomToken } from './crypto.ts';

export type MailTemplate =
  | 'verify-email'
  | 'email-taken'
  | 'reset-password'
  | 'password-changed'
  | 'email-change-notice'
  | 'backup-code-used'
  | 'sign-in-code'
  | 'new-sign-in'
  | 'federation-link';

const SUBJECTS: Record<MailTemplate, (product: string) => string> = {
  'verify-email': (p) => `Confirm your email address for ${p}`,
  'email-taken': (p) => `Someone tried to create a ${p} account with your email`,
  'reset-password': (p) => `Reset your ${p} password`,
  'password-changed': (p) => `Your ${p} password was changed`,
  'email-change-notice': (p) => `Your ${p} email address is being changed`,
  'backup-code-used': (p) => `A backup code was used to sign in to ${p}`,
  'sign-in-code': (p) => `Your ${p} sign-in code`,
  'new-sign-in': (p) => `New sign-in to your ${p} account`,
  'federation-link': (p) => `Confirm your email address to continue signing in to ${p}`,
};

export interface Mailer {
  send(template: MailTemplate, to: string, data?: Record<string, unknown>): Promise<void>;
  /**
   * Sends without making the caller wait, so a response does not take longer when a mail goes
   * out (that difference would tell a visitor whether an account exists). Failures are logged.
   */
  sendInBackground(template: MailTemplate, to: string, data?: Record<string, unknown>): void;
  close(): void;
}

export function createMailer(config: Config, logger: Logger): Mailer {
  const smtp: Transporter | undefined = config.mail.smtpUrl ? nodemailer.createTransport(config.mail.smtpUrl) : undefined;
  const files = smtp ? undefined : nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' });
  const outbox = join(config.dataDir, 'mail');

  async function send(template: MailTemplate, to: string, data: Record<string, unknown> = {}) {
    const body = renderEmail(template, { productName: config.productName, issuer: config.issuer, ...data });
    const message = { from: config.mail.from, to, subject: SUBJECTS[template](config.productName), ...body };
    if (smtp) {
      await smtp.sendMail(message);
      logger.info({ template }, 'mail sent');
      return;
    }
    const info = (await files!.sendMail(message)) as { message: Buffer };
    mkdirSync(outbox, { recursive: true, mode: 0o700 });
    const file = join(outbox, `${new Date().toISOString().replace(/[:.]/g, '-')}-${template}-${randomToken(4)}.eml`);
    writeFileSync(file, info.message, { mode: 0o600 });
    // Development convenience (no SMTP configured): the link is what the developer needs to click.
    // Never in production, where a log line must not carry a working token.
    const link = !config.production && typeof data.link === 'string' ? data.link : undefined;
    logger.info({ template, file, link }, 'mail written (no SMTP_URL set)');
  }

  return {
    send,
    sendInBackground(template, to, data) {
      send(template, to, data).catch((err: Error) => logger.error({ template, err: err.message }, 'sending mail failed'));
    },
    close() {
      smtp?.close();
    },
  };
}
