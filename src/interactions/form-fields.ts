// Reading fields of the hosted forms. Every value is a bounded, well-formed string or a field error:
// bytes that were not valid UTF-8 arrive as U+FFFD and are refused, as are control characters.
import type { Context } from 'koa';

export type FieldErrors = Record<string, string>;

export function formBody(ctx: Context): Record<string, unknown> {
  return (ctx.request as { body?: Record<string, unknown> }).body ?? {};
}

// eslint-disable-next-line no-control-regex
const BAD_CHARS = /[\u0000-\u001f\u007f\ufffd]/;

/**
 * A text field: trimmed, NFC-normalised, at most `max` characters. Returns '' for a missing
 * optional field; records an error (and returns what can be shown back) otherwise.
 */
export function textField(
  body: Record<string, unknown>,
  name: string,
  errors: FieldErrors,
  opts: { max: number; required?: boolean; label: string; trim?: boolean },
): string {
  const raw = body[name];
  if (raw === undefined || raw === '') {
    if (opts.required) errors[name] = `Enter your ${opts.label}.`;
    return '';
  }
  if (typeof raw !== 'string') {
    errors[name] = `Enter your ${opts.label} once.`;
    return '';
  }
  const value = (opts.trim === false ? raw : raw.trim()).normalize('NFC');
  if (BAD_CHARS.test(value)) {
    errors[name] = `Your ${opts.label} contains characters we cannot accept.`;
    return '';
  }
  if ([...value].length > opts.max) {
    errors[name] = `Your ${opts.label} must be at most ${opts.max} characters.`;
    return [...value].slice(0, opts.max).join('');
  }
  if (opts.required && !value) errors[name] = `Enter your ${opts.label}.`;
  return value;
}

/** Passwords are not trimmed (spaces count) and never shown back. */
export function passwordField(body: Record<string, unknown>, name: string, errors: FieldErrors, label = 'password'): string {
  const raw = body[name];
  if (typeof raw !== 'string' || raw === '') {
    errors[name] = `Enter your ${label}.`;
    return '';
  }
  if (raw.length > 1024) {
    errors[name] = `Your ${label} is too long.`;
    return '';
  }
  if (/\ufffd/.test(raw)) {
    errors[name] = `Your ${label} contains characters we cannot accept.`;
    return '';
  }
  return raw.normalize('NFC');
}
