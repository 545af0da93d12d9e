/**
 * Reads a VMAP document with @dailymotion/vmap into the plain breaks the scheduler uses.
 * Total: a document that is not a VMAP, or a break without id or ad tag, yields fewer
 * breaks, never a throw (an ad problem must not block content).
 */
import VMAP from '@dailymotion/vmap';
import type { VmapBreak } from './ad-schedule.ts';

/** Linear breaks of a parsed VMAP XML document (DOMParser output). */
export function readVmap(doc: unknown): VmapBreak[] {
  let parsed: { adBreaks?: unknown[] };
  try {
    parsed = new VMAP(doc);
  } catch {
    return [];
  }
  const out: VmapBreak[] = [];
  for (const raw of parsed.adBreaks ?? []) {
    const b = raw as {
      breakId?: unknown;
      timeOffset?: unknown;
      breakType?: unknown;
      adSource?: { adTagURI?: { uri?: unknown } } | null;
    };
    const uri = b.adSource?.adTagURI?.uri;
    if (typeof b.breakId !== 'string' || b.breakId === '') continue;
    if (typeof b.timeOffset !== 'string' || typeof uri !== 'string' || uri.trim() === '') continue;
    if (typeof b.breakType === 'string' && !b.breakType.split(',').includes('linear')) continue;
    out.push({ breakId: b.breakId, timeOffset: b.timeOffset, adTagUri: uri.trim() });
  }
  return out;
}
