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

/**
 * clientFamilyFromPeerId with its answers kept for Azureus-style ids (`-XXnnnn-...`, nearly
 * every client): for an id whose first byte is '-' the classifier reads only its first 8
 * bytes (every other pattern starts with a letter), so ids alike there get the same family.
 * Why: the classifier builds a 20-character string and runs a regular expression per fact
 * (~0.6 us a fact in the profile of `swarmcast tracker`). Bounded: cleared when full.
 */
export function memoClientFamily(
  classify: (peerId: Uint8Array) => string,
  maxEntries = 4096,
): (peerId: Uint8Array) => string {
  const known = new Map<number, string>();
  return (id) => {
    if (id.length < 8 || id[0] !== 0x2d || id[7] !== 0x2d) return classify(id);
    // Bytes 1-6 as one exact integer (48 bits).
    const k =
      ((id[1]! << 16) | (id[2]! << 8) | id[3]!) * 0x1000000 + ((id[4]! << 16) | (id[5]! << 8) | id[6]!);
    let family = known.get(k);
    if (family === undefined) {
      family = classify(id);
      if (known.size >= maxEntries) known.clear();
      known.set(k, family);
    }
    return family;
  };
}

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
  const clientFamily = memoClientFamily((peerId) => clientFamilyFromPeerId(peerId));
  const publisher = new AnnounceFactPublisher({
    stream: own,
    audienceKey: (ip, ua, now) => keys.audienceKey(ip, ua, now),
    clientFamily,
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
