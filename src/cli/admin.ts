// `admin bootstrap`: the first administrator and an admin API client on a fresh install.
import { bootstrapAdmin } from '../services/bootstrap.ts';
import { command, defineGroup, opt, req } from './command.ts';
import { CliError, withDb } from './context.ts';

const group = defineGroup('admin', {
  bootstrap: command({
    usage: '--email E [--password P] [--client-id ID]',
    describe:
      'Creates the first administrator (role admin) and a client_credentials client holding every\n' +
      'admin API scope (client id "admin", or --client-id). The client secret, and the password when\n' +
      'none was given, are printed once. Refused once an administrator exists.',
    options: { email: { type: 'string' }, password: { type: 'string' }, 'client-id': { type: 'string' } },
    run: (v) => {
      const clientId = opt(v, 'client-id') ?? 'admin';
      if (!/^[A-Za-z0-9._~-]{1,255}$/.test(clientId)) throw new CliError('--client-id may contain only letters, digits and . _ ~ -');
      return withDb(({ db, config }) => bootstrapAdmin(db.prisma, config, { email: req(v, 'email'), password: opt(v, 'password'), clientId }));
    },
  }),
});

export const help = group.help;
export const run = group.run;
export const commands = group.commands;
