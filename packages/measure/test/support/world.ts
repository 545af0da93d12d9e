import { type DecisionClaims, generateSigningKey, type PublicKeys, signDecision } from '@swarmcast/ads';
import { ledgerMigrations } from '@swarmcast/ledger';
import {
  type AudienceKey,
  type ClientClass,
  type Db,
  migrate,
  openDb,
  type StreamEvent,
} from '@swarmcast/platform';
import type { AdBeaconEvent, PlayBeacon, PlayBeaconEvent } from '../../src/beacon-types.ts';
import { measureMigrations } from '../../src/pipeline/migrations.ts';

export const human: ClientClass = { app: 'Swarmcast Player', device: 'computer', os: 'Linux', bot: false };
export const crawler: ClientClass = { app: 'Googlebot', device: 'bot', os: 'unknown', bot: true };

export async function measureDb(): Promise<Db> {
  const migrations = [...ledgerMigrations, ...measureMigrations];
  const db = await openDb({ inMemory: true, migrations });
  await migrate(db, migrations);
  return db;
}

export const signer = generateSigningKey('k1');
export const publicKeys: PublicKeys = new Map([[signer.keyId, signer.publicKey]]);
/** Signs daily statements (the node keeps it outside the database). */
export const statementSigner = generateSigningKey('st1');

export function claims(over: Partial<DecisionClaims> = {}): Omit<DecisionClaims, 'keyId'> {
  return {
    v: 1,
    decisionId: 'dec-1',
    adId: 'ad-1',
    lineItemId: 'li-1',
    campaignId: 'camp-1',
    advertiserId: 'adv-1',
    episodeId: 'ep1',
    showId: 'show',
    creatorId: 'creator',
    breakId: 'ep1-pre',
    position: 'pre',
    podSequence: 1,
    creativeDurationMs: 30_000,
    cpmMicros: 25_000_000,
    listenerId: null,
    issuedAt: 0,
    expiresAt: 8.64e15,
    ...over,
  };
}

export const token = (over: Partial<DecisionClaims> = {}) => signDecision(claims(over), signer);

let n = 0;
export function adEvent(
  event: AdBeaconEvent['event'],
  tok: string,
  at: number,
  over: Partial<AdBeaconEvent> = {},
): StreamEvent<AdBeaconEvent> {
  const data: AdBeaconEvent = {
    kind: 'ad',
    id: `ad-${n++}`,
    receivedAt: at,
    event,
    token: tok,
    ts: null,
    adPlayheadMs: null,
    offsetMs: null,
    errorCode: null,
    audienceKey: 'key-1' as AudienceKey,
    client: human,
    datacenter: false,
    ...over,
  };
  return { id: data.id, subject: 'beacon.ad', data };
}

/** A play beacon: the start of session s1 of ep1 (10 minutes) unless overridden. */
export function playBeacon(over: Partial<PlayBeacon> = {}): PlayBeacon {
  return {
    v: 1,
    sessionId: 's1',
    seq: 0,
    listenerId: null,
    episodeId: 'ep1',
    event: 'start',
    positionMs: 0,
    durationMs: 600_000,
    listenedMs: 0,
    bytesFromPeers: 0,
    bytesFromWebSeed: 0,
    ...over,
  };
}

export function playEvent(
  beacon: Partial<PlayBeacon>,
  at: number,
  over: Partial<PlayBeaconEvent> = {},
): StreamEvent<PlayBeaconEvent> {
  const b = playBeacon(beacon);
  const data: PlayBeaconEvent = {
    kind: 'play',
    id: `play:${b.sessionId}:${b.seq}`,
    receivedAt: at,
    beacon: b,
    audienceKey: 'key-1' as AudienceKey,
    client: human,
    datacenter: false,
    ...over,
  };
  return { id: data.id, subject: 'beacon.play', data };
}
