import type { SigningKey } from '@swarmcast/ads';
import type { Clock, Db } from '@swarmcast/platform';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { measureErrors } from '../errors.ts';
import type { ReportAuthorizer } from '../reports/routes.ts';
import { type StatementKind, wellKnownStatementKeys } from './statement.ts';
import { advertiserView, dailyStatement, statementKeys, statementOwner } from './store.ts';

/**
 * `GET /.well-known/swarmcast-statements.json`: the public statement keys (anyone).
 * `GET /api/measure/statements/{campaign,episode}/:id?day=YYYY-MM-DD`: the day's signed
 * statement with every leaf and inclusion proof (`&supplement=N`: the Nth supplement over
 * entries of that day booked after it; the statement says how many there are), for the
 * campaign's advertiser or the episode's creator (the reports' check, with the same sessions
 * and tokens), or an admin. `episode/:id?day=...&advertiser=<id>`: for that advertiser, the
 * episode's signed statement with only its own ads' leaves and their proofs.
 */
export function statementRoutes(
  app: FastifyInstance,
  db: Db,
  key: SigningKey,
  clock: Clock,
  authorize: ReportAuthorizer,
  currency = 'EUR',
): void {
  const fail = (reply: FastifyReply, code: keyof typeof measureErrors, message?: string) =>
    reply.code(measureErrors[code].status).send({ code, message: message ?? measureErrors[code].message });
  const keysUrl = (req: FastifyRequest) => `${req.protocol}://${req.host}${wellKnownStatementKeys}`;

  app.get(wellKnownStatementKeys, async (_req, reply) =>
    reply.header('cache-control', 'public, max-age=3600').send({
      ...(await statementKeys(db, key, clock.now())),
      algorithm:
        'docs/verifiable-statements.md: Ed25519 over the canonical JSON statement; RFC 9162 Merkle tree',
    }),
  );

  for (const kind of ['campaign', 'episode'] as const satisfies readonly StatementKind[]) {
    app.get<{
      Params: { id: string };
      Querystring: { day?: string; supplement?: string; advertiser?: string };
    }>(`/api/measure/statements/${kind}/:id`, async (req, reply) => {
      const day = req.query.day ?? '';
      const t = /^\d{4}-\d{2}-\d{2}$/.test(day) ? Date.parse(`${day}T00:00:00Z`) : Number.NaN;
      if (Number.isNaN(t)) return fail(reply, 'MEA_BAD_REQUEST', 'day must be YYYY-MM-DD');
      const nth = req.query.supplement;
      if (nth !== undefined && !/^[1-9]\d{0,5}$/.test(nth))
        return fail(reply, 'MEA_BAD_REQUEST', 'supplement must be a number from 1');
      // An advertiser asks for its own ads' leaves of an episode's statement (advertiserView).
      const advertiser = kind === 'episode' ? req.query.advertiser : undefined;
      if (advertiser !== undefined && !/^[\w.:-]{1,128}$/.test(advertiser))
        return fail(reply, 'MEA_BAD_REQUEST', 'advertiser must be an advertiser id');
      const owner = await statementOwner(db, kind, req.params.id);
      // Who may ask is decided before whether the subject exists, so that ids cannot be probed.
      const access = await authorize(
        req,
        advertiser !== undefined
          ? { kind: 'advertiser', id: advertiser }
          : { kind: kind === 'campaign' ? 'advertiser' : 'creator', id: owner ?? '\u0000none' },
      );
      if (access !== true && access !== 'allowed') {
        return fail(reply, access === 'unauthenticated' ? 'MEA_UNAUTHENTICATED' : 'MEA_FORBIDDEN');
      }
      const r = await dailyStatement(db, {
        kind,
        subject: req.params.id,
        day: t / 86_400_000,
        now: clock.now(),
        currency,
        keysUrl: keysUrl(req),
        key,
      });
      if (!r.ok) {
        return fail(reply, r.reason === 'not-closed' ? 'MEA_NOT_ISSUED' : 'MEA_NOT_FOUND');
      }
      const view =
        advertiser === undefined
          ? r
          : await advertiserView(db, r, {
              subject: req.params.id,
              day: t / 86_400_000,
              advertiserId: advertiser,
            });
      if (!view) return fail(reply, 'MEA_NOT_FOUND', 'none of your ads is in that statement');
      const bundle = nth === undefined ? view.bundle : view.supplements[Number(nth) - 1];
      if (!bundle) return fail(reply, 'MEA_NOT_FOUND', `no supplement ${nth} for that day`);
      return reply
        .header(
          'content-disposition',
          `attachment; filename="statement-${kind}-${req.params.id.replace(/[^\w.-]/g, '_')}-${day}${nth ? `-s${nth}` : ''}.json"`,
        )
        .send(bundle);
    });
  }
}
