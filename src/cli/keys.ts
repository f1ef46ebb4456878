// `keys`: signing keys.
import { listSigningKeys } from '../provider/keys.ts';
import { CLI_ACTOR } from '../services/admin-audit.ts';
import { rotateKeys } from '../services/signing-key-admin.ts';
import { command, defineGroup } from './command.ts';
import { withDb } from './context.ts';

const group = defineGroup('keys', {
  list: command({ usage: '', describe: 'Lists signing keys (public data only).', run: () => withDb(({ db }) => listSigningKeys(db.prisma)) }),
  rotate: command({
    usage: '',
    describe: 'Creates new signing keys; the previous ones keep verifying until every token\nthey signed has expired. Running servers pick the new keys up at once.',
    run: () => withDb(({ db, config }) => rotateKeys(db.prisma, config, CLI_ACTOR)),
  }),
});

export const help = group.help;
export const run = group.run;
export const commands = group.commands;
