import { PlatformError } from '../errors.ts';

/**
 * The names a node's shared engines keep its data under, so two networks (or a staging and
 * a production set of processes) can share one Redis or one NATS server without mixing.
 * Every process of one network must use the same names.
 */
export interface EngineNames {
  /** Prefix of every Redis key (SWARMCAST_REDIS_PREFIX, default `swarmcast:trk:`). */
  redisPrefix: string;
  /** JetStream stream name (SWARMCAST_NATS_STREAM, default `SWARMCAST`). */
  natsStream: string;
  /**
   * Subject prefix of the stream (SWARMCAST_NATS_SUBJECTS, default `swarmcast` for the
   * default stream, else the stream name in lower case). JetStream refuses two streams over
   * one subject space, so a second stream needs its own subjects.
   */
  natsSubjects: string;
  /**
   * Prefix of every durable consumer name (SWARMCAST_NATS_CONSUMER, default empty). Two
   * deployments reading one stream with different prefixes each see every event.
   */
  natsConsumerPrefix: string;
}

export const defaultEngineNames: EngineNames = {
  redisPrefix: 'swarmcast:trk:',
  natsStream: 'SWARMCAST',
  natsSubjects: 'swarmcast',
  natsConsumerPrefix: '',
};

const bad = (name: string, value: string, why: string) =>
  new PlatformError('PLT_CONFIG_INVALID', `${name}=${JSON.stringify(value)}: ${why}`);

/** JetStream names: no whitespace, dots, wildcards or path separators. */
const natsName = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * Reads the engine names from the environment (`TRACKER_REDIS_PREFIX` is the standalone
 * tracker's older name for the Redis prefix and still works). A bad value is a
 * PLT_CONFIG_INVALID error naming the variable.
 */
export function parseEngineNames(get: (name: string) => string | undefined): EngineNames {
  const redisVar =
    get('SWARMCAST_REDIS_PREFIX') !== undefined ? 'SWARMCAST_REDIS_PREFIX' : 'TRACKER_REDIS_PREFIX';
  const redisPrefix = get(redisVar) ?? defaultEngineNames.redisPrefix;
  if (!/^[\x21-\x7e]{1,64}$/.test(redisPrefix) || /[*?[\]{}]/.test(redisPrefix)) {
    throw bad(
      redisVar,
      redisPrefix,
      'use 1-64 printable characters without spaces, braces or glob characters',
    );
  }
  const natsStream = get('SWARMCAST_NATS_STREAM') ?? defaultEngineNames.natsStream;
  if (!natsName.test(natsStream))
    throw bad('SWARMCAST_NATS_STREAM', natsStream, 'use 1-64 of A-Z a-z 0-9 _ -');
  const natsSubjects =
    get('SWARMCAST_NATS_SUBJECTS') ??
    (natsStream === defaultEngineNames.natsStream
      ? defaultEngineNames.natsSubjects
      : natsStream.toLowerCase());
  if (!/^[A-Za-z0-9_-]{1,64}(\.[A-Za-z0-9_-]{1,64}){0,3}$/.test(natsSubjects)) {
    throw bad('SWARMCAST_NATS_SUBJECTS', natsSubjects, 'use dot-separated tokens of A-Z a-z 0-9 _ -');
  }
  const natsConsumerPrefix = get('SWARMCAST_NATS_CONSUMER') ?? '';
  if (natsConsumerPrefix !== '' && !natsName.test(natsConsumerPrefix)) {
    throw bad('SWARMCAST_NATS_CONSUMER', natsConsumerPrefix, 'use 1-64 of A-Z a-z 0-9 _ -');
  }
  return { redisPrefix, natsStream, natsSubjects, natsConsumerPrefix };
}
