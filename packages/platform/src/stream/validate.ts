import { PlatformError } from '../errors.ts';
import type { StreamEvent } from './event-stream.ts';
import { validSubject } from './subjects.ts';

/** Both engines refuse the same malformed events, before anything is written. */
export function checkEvents(events: readonly StreamEvent[]): void {
  for (const e of events) {
    if (typeof e?.id !== 'string' || e.id.length === 0 || e.id.length > 200) {
      throw new PlatformError('PLT_STREAM_BAD_EVENT', `event id must be a non-empty string (got ${e?.id})`);
    }
    if (typeof e.subject !== 'string' || !validSubject(e.subject)) {
      throw new PlatformError('PLT_STREAM_BAD_EVENT', `event ${e.id} has an invalid subject ${e.subject}`);
    }
    if (e.data === undefined) {
      throw new PlatformError('PLT_STREAM_BAD_EVENT', `event ${e.id} has no data`);
    }
  }
}

/** Group names are durable consumer names in NATS: keep them to a safe alphabet. */
export function checkGroup(group: string): void {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(group)) {
    throw new PlatformError(
      'PLT_STREAM_BAD_EVENT',
      `consumer group name ${group} must match [A-Za-z0-9_-]{1,64}`,
    );
  }
}
