/**
 * The house campaign a fresh node fills its ad breaks with: one short audio creative (cut
 * from the demo media, committed under demo-ads/) at CPM 0 and house priority, so any paid
 * line item wins over it. Re-put on every start so its media URL follows the public URL.
 */
import { copyFile, mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { type AdsStore, saveAdvertiser, saveCampaign, saveCreative, saveLineItem } from '@swarmcast/ads';
import type { Db } from '@swarmcast/platform';

export const houseAdFile = join(import.meta.dirname, '..', 'demo-ads', 'house-ad.mp3');
export const houseIds = {
  advertiser: 'swarmcast-house',
  campaign: 'swarmcast-house',
  lineItem: 'swarmcast-house',
  creative: 'swarmcast-house-ad',
} as const;
/** ffprobe of demo-ads/house-ad.mp3 (6.06 s, mono 32 kbit/s); see demo-ads/make.sh. */
const houseAdDurationMs = 6_060;
const farFuture = Date.UTC(2100, 0, 1);

/** Puts the house advertiser, campaign, creative and line item in the store and the tables. */
export async function seedHouseCampaign(
  db: Db,
  store: AdsStore,
  o: { mediaDir: string; publicUrl: string },
): Promise<void> {
  const fileName = `${houseIds.creative}.mp3`;
  await mkdir(o.mediaDir, { recursive: true });
  await copyFile(houseAdFile, join(o.mediaDir, fileName));
  const bytes = (await stat(houseAdFile)).size;
  const advertiser = { id: houseIds.advertiser, name: 'Swarmcast (house ads)' };
  const campaign = {
    id: houseIds.campaign,
    advertiserId: advertiser.id,
    name: 'House: welcome to Swarmcast',
    startsAt: 0,
    endsAt: farFuture,
    currency: 'EUR',
    totalBudgetMicros: 0,
    dailyBudgetMicros: 0,
    paused: false,
  };
  const creative = {
    id: houseIds.creative,
    advertiserId: advertiser.id,
    name: 'Welcome to Swarmcast (6 s)',
    mediaKind: 'audio' as const,
    mimeType: 'audio/mpeg',
    durationMs: houseAdDurationMs,
    bytes,
    bitrateKbps: 32,
    width: 0,
    height: 0,
    // Node-relative: the ad server makes it absolute with the public URL when it serves it.
    mediaUrl: `/ads/media/${fileName}`,
    alternates: [],
    clickThroughUrl: `${o.publicUrl}/`,
    universalAdId: { registry: 'swarmcast', value: houseIds.creative },
    approval: 'approved' as const,
  };
  const lineItem = {
    id: houseIds.lineItem,
    campaignId: campaign.id,
    name: 'House: run of network',
    priority: 'house' as const,
    goal: { kind: 'impressions' as const, impressions: 1_000_000_000_000 },
    cpmMicros: 0,
    targeting: {},
    caps: [],
    pacing: 'asap' as const,
    exclusionCategories: [],
    creativeIds: [creative.id],
    paused: store.lineItems.get(houseIds.lineItem)?.paused ?? false,
  };
  store.putAdvertiser(advertiser);
  if (!store.campaigns.has(campaign.id)) store.putCampaign(campaign);
  store.putCreative(creative);
  if (!store.lineItems.has(lineItem.id)) store.putLineItem(lineItem);
  await saveAdvertiser(db, advertiser);
  await saveCampaign(db, store.campaigns.get(campaign.id) ?? campaign);
  await saveCreative(db, creative);
  await saveLineItem(db, store.lineItems.get(lineItem.id) ?? lineItem);
}
