// Text messages go through one small interface. Two senders ship: the log (the embedded default:
// the message is logged, its text only outside production) and a generic HTTP webhook, so an
// operator can plug in any SMS gateway. Webhook calls are signed: X-Signature is
// "sha256=" + HMAC-SHA256(SMS_WEBHOOK_SECRET, "<X-Timestamp>.<body>").
import { createHmac } from 'node:crypto';
import type { Config } from '../config.ts';
import type { Logger } from '../logger.ts';

export const E164 = /^\+[1-9]\d{6,14}$/;

export interface SmsSender {
  send(to: string, text: string): Promise<void>;
}

export class SmsSendError extends Error {}

export function maskPhone(phone: string): string {
  return `${phone.slice(0, 3)}•••${phone.slice(-2)}`;
}

export function createSmsSender(config: Config, logger: Logger): SmsSender {
  const { webhookUrl, webhookSecret } = config.sms;
  if (!webhookUrl || !webhookSecret) {
    return {
      async send(to, text) {
        logger.info({ to: maskPhone(to), text: config.production ? '[redacted]' : text }, 'sms (no SMS_WEBHOOK_URL set, not sent)');
      },
    };
  }
  return {
    async send(to, text) {
      const body = JSON.stringify({ to, text });
      const timestamp = String(Math.floor(Date.now() / 1000));
      const signature = createHmac('sha256', webhookSecret).update(`${timestamp}.${body}`).digest('hex');
      let res: Response;
      try {
        res = await fetch(webhookUrl, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-timestamp': timestamp, 'x-signature': `sha256=${signature}` },
          body,
          signal: AbortSignal.timeout(5000),
        });
      } catch (err) {
        throw new SmsSendError(`SMS gateway unreachable: ${(err as Error).message}`);
      }
      if (!res.ok) throw new SmsSendError(`SMS gateway answered ${res.status}`);
      logger.info({ to: maskPhone(to) }, 'sms sent');
    },
  };
}
