// First start of an installation: the first administrator (role `admin`) and an admin client
// (client_credentials, every admin API scope) with a generated secret, in one transaction, so a
// failure leaves nothing behind and a second run is refused rather than adding another admin.
import type { Config } from '../config.ts';
import type { PrismaClient } from '../generated/prisma/client.ts';
import { HttpError } from '../errors.ts';
import { ACCESS_CONFIG_EVENT, CLI_ACTOR, recordAdminEvent } from './admin-audit.ts';
import { ADMIN_SCOPE, ensureAdminResource } from './admin-resource.ts';
import { buildClientMetadata, generateClientSecret } from './clients.ts';
import { randomToken } from './crypto.ts';
import { passwordProblem } from './password-policy.ts';
import { hashPassword } from './passwords.ts';
import { emailSchema } from './users.ts';

export async function bootstrapAdmin(
  prisma: PrismaClient,
  config: Config,
  input: { email: string; password?: string; clientId: string },
) {
  const email = emailSchema.parse(input.email);
  await ensureAdminResource(prisma, config.admin.audience);
  const generated = input.password === undefined;
  const password = input.password ?? randomToken(18);
  const problem = passwordProblem(password, { email });
  if (problem) throw new HttpError(400, 'weak_password', problem);
  const passwordHash = await hashPassword(password);
  const secret = generateClientSecret();
  const metadata = await buildClientMetadata(prisma, {
    id: input.clientId,
    secret,
    name: 'Admin API client',
    redirectUris: [],
    grantTypes: ['client_credentials'],
    scope: ADMIN_SCOPE,
  });

  const user = await prisma.$transaction(async (tx) => {
    const admins = await tx.userRole.count({ where: { role: { name: 'admin' } } });
    if (admins) throw new HttpError(409, 'already_bootstrapped', 'An administrator already exists; use `user add-role` and `client create` instead.');
    if (await tx.client.findUnique({ where: { id: input.clientId }, select: { id: true } })) {
      throw new HttpError(409, 'conflict', `A client with id "${input.clientId}" already exists; choose another with --client-id.`);
    }
    const roleNames = [...new Set(['admin', ...config.account.defaultRoles])];
    const roles = await tx.role.findMany({ where: { name: { in: roleNames } } });
    const created = await tx.user.create({
      data: { email, passwordHash, emailVerified: true, roles: { create: roles.map((r) => ({ roleId: r.id })) } },
      select: { id: true, email: true },
    });
    const assigned = roles.map((r) => r.name).sort();
    await tx.client.create({ data: { id: input.clientId, payload: metadata as object, dynamic: false } });
    await recordAdminEvent(tx, CLI_ACTOR, { userId: created.id, type: 'user_created', action: 'admin.bootstrap', details: { roles: assigned } });
    await recordAdminEvent(tx, CLI_ACTOR, { userId: null, type: ACCESS_CONFIG_EVENT, action: 'client.create', details: { clientId: input.clientId } });
    return { ...created, roles: assigned };
  });

  return {
    user,
    // Shown once: neither is stored in a readable form anywhere we could show it again.
    ...(generated ? { password } : {}),
    client: { clientId: input.clientId, clientSecret: secret, scope: ADMIN_SCOPE },
    audience: config.admin.audience,
    tokenEndpoint: `${config.issuer}/token`,
    example: `curl -s -u '${input.clientId}:<secret>' -d grant_type=client_credentials -d resource=${config.admin.audience} -d scope='${ADMIN_SCOPE}' ${config.issuer}/token`,
  };
}
