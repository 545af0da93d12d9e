/**
 * Builds the announce fact publisher of `swarmcast tracker` from plain settings, so that the
 * single process and every cluster worker build it the same way (the worker gets the
 * settings as JSON; functions cannot cross a fork). The audience keys use the shared salt
 * store (files under the data dir, or Redis): every process of one tracker keys a listener
 * the same on a given day.
 */
import {
  clientFamilyFromPeerId,
  createAudienceKeys,
  type EventStream,
  loadAddressList,
  openEventStream,
  openSaltStore,
} from '@swarmcast/platform';
import { AnnounceFactPublisher } from './announce-facts.ts';

/** Everything needed to publish announce facts, as plain data. */
export interface AnnounceFactsConfig {
  /** Where the facts go: JetStream with `natsUrl`, else the embedded stream under `dataDir`. */
  stream: {
    natsUrl: string | null;
    dataDir: string;
    streamName: string;
    subjectPrefix: string;
    consumerPrefix: string;
  };
  /** The daily salts of the audience keys (Redis with `redisUrl`, else files under `dataDir`). */
  salts: { redisUrl: string | null; dataDir: string; redisPrefix: string | null };
  /** Data-centre ranges file (DATACENTER_RANGES), or null for the shipped list. */
  datacenterRanges: string | null;
}

export interface OpenedFacts {
  publisher: AnnounceFactPublisher;
  stream: EventStream;
  /** Publishes what is pending, then closes what was opened here (not a stream passed in). */
  close(): Promise<void>;
}

/** The stream `config` names (JetStream or the embedded one). */
export function openFactStream(config: AnnounceFactsConfig['stream']): Promise<EventStream> {
  return openEventStream({
    natsUrl: config.natsUrl ?? undefined,
    dataDir: config.dataDir,
    streamName: config.streamName,
    subjectPrefix: config.subjectPrefix,
    consumerPrefix: config.consumerPrefix,
  });
}

/** Opens the stream from `config` (unless `stream` is given), the salt store and the publisher. */
export async function openAnnounceFacts(
  config: AnnounceFactsConfig,
  stream?: EventStream,
): Promise<OpenedFacts> {
  const own = stream ?? (await openFactStream(config.stream));
  const salts = openSaltStore({
    redisUrl: config.salts.redisUrl,
    dataDir: config.salts.dataDir,
    redisPrefix: config.salts.redisPrefix ?? undefined,
  });
  const keys = createAudienceKeys(salts);
  const datacenters = await loadAddressList(config.datacenterRanges);
  const publisher = new AnnounceFactPublisher({
    stream: own,
    audienceKey: (ip, ua, now) => keys.audienceKey(ip, ua, now),
    clientFamily: clientFamilyFromPeerId,
    isDatacenter: (ip) => datacenters.isDatacenter(ip),
  });
  return {
    publisher,
    stream: own,
    close: async () => {
      await publisher.close();
      if (!stream) await own.close();
      await salts.close?.();
    },
  };
}
