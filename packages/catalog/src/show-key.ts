import { generateEd25519 } from '@swarmcast/bittorrent/node';
import type { Queryable } from '@swarmcast/platform';

/**
 * A show's own Ed25519 key (BEP 46: the show's mutable torrent on the DHT), made on first
 * use. `nextSeq` hands out strictly increasing sequence numbers, in the database so a
 * restart never reuses one (DHT nodes refuse a sequence number not above the stored one).
 * The private key lives in the catalog's database, like the node's other secrets there.
 */
export async function showKey(
  db: Queryable,
  showId: string,
): Promise<{ publicKey: Uint8Array; privateKeyDer: Uint8Array }> {
  const found = await db.query<{ public_key: Uint8Array; private_key: Uint8Array }>(
    'select public_key, private_key from catalog_show_keys where show_id = $1',
    [showId],
  );
  if (found.rows[0])
    return {
      publicKey: new Uint8Array(found.rows[0].public_key),
      privateKeyDer: new Uint8Array(found.rows[0].private_key),
    };
  const k = generateEd25519();
  await db.query(
    'insert into catalog_show_keys (show_id, public_key, private_key) values ($1, $2, $3) on conflict (show_id) do nothing',
    [showId, Buffer.from(k.publicKey), Buffer.from(k.privateKeyDer)],
  );
  return showKey(db, showId);
}

export async function nextSeq(db: Queryable, showId: string): Promise<number> {
  const r = await db.query<{ seq: string | number }>(
    'update catalog_show_keys set seq = seq + 1 where show_id = $1 returning seq',
    [showId],
  );
  return Number(r.rows[0]?.seq ?? 0);
}

/** The public key (hex) of a show that has one: what its feed advertises. */
export async function showPublicKey(db: Queryable, showId: string): Promise<string | null> {
  const r = await db.query<{ public_key: Uint8Array }>(
    'select public_key from catalog_show_keys where show_id = $1',
    [showId],
  );
  return r.rows[0] ? Buffer.from(r.rows[0].public_key).toString('hex') : null;
}

/** Slugs of the shows that have a key (published on the DHT before): refreshed at start. */
export async function keyedShowSlugs(db: Queryable): Promise<string[]> {
  const r = await db.query<{ slug: string }>(
    'select s.slug from catalog_shows s join catalog_show_keys k on k.show_id = s.id order by s.slug',
  );
  return r.rows.map((row) => row.slug);
}
