// A CLI group as a table of commands: each declares its usage line and options once, so `--help`
// works on every command and a usage error prints the group's help. What `run` returns is printed
// as JSON; the caller's mistakes (HttpError 4xx, zod errors) exit 2 with their message.
import type { ParseArgsConfig } from 'node:util';
import { ZodError } from 'zod';
import { HttpError } from '../errors.ts';
import { CliError, parse, print } from './context.ts';

type Options = NonNullable<ParseArgsConfig['options']>;

export interface Command<O extends Options = Options> {
  usage: string;
  describe?: string;
  options?: O;
  run(values: ReturnType<typeof parse<O>>): Promise<unknown>;
}

export function command<O extends Options>(c: Command<O>): Command {
  return c as unknown as Command;
}

function helpOf(name: string, c: Command): string {
  const head = `${name} ${c.usage}`.trimEnd().padEnd(16);
  return c.describe ? `${head}\n${c.describe.replace(/^/gm, '                 ')}` : head;
}

export function defineGroup(name: string, commands: Record<string, Command>) {
  const help = Object.entries(commands)
    .map(([sub, c]) => helpOf(`${name} ${sub}`, c))
    .join('\n');
  return {
    help,
    commands: Object.keys(commands),
    async run(sub: string | undefined, argv: string[]): Promise<void> {
      const c = sub ? commands[sub] : undefined;
      if (!c) throw new CliError(`usage:\n${help}`);
      const values = parse(argv, c.options ?? {});
      if (values.help) return void process.stdout.write(`${helpOf(`${name} ${sub}`, c)}\n`);
      try {
        print(await c.run(values));
      } catch (err) {
        if (err instanceof HttpError && err.status < 500) throw new CliError(err.message);
        if (err instanceof ZodError) throw new CliError(err.issues.map((i) => `${i.path.join('.') || 'value'}: ${i.message}`).join('; '));
        throw err;
      }
    },
  };
}

/** A string option that must be given. */
export function req(values: Record<string, unknown>, name: string): string {
  const v = values[name];
  if (typeof v !== 'string' || !v) throw new CliError(`--${name} is required`);
  return v;
}

export function opt(values: Record<string, unknown>, name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
}

export function intOpt(values: Record<string, unknown>, name: string, min: number, max: number): number | undefined {
  const raw = opt(values, name);
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new CliError(`--${name} must be an integer from ${min} to ${max}`);
  return n;
}
