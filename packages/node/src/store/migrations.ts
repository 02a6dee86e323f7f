import type { DatabaseSync } from 'node:sqlite'
import { ErrorCode } from '@bazaar/protocol'
import { StoreError } from './store-error.ts'

/**
 * The node database's schema, one entry per version. A database at version N gets entries
 * N+1.. applied in order, each in its own transaction together with the version bump, so a
 * crash mid-migration leaves the previous version intact. Never edit a released entry: add one.
 * Token amounts and ids are TEXT (exact decimal strings), never REAL.
 */
export const migrations: readonly string[] = [
  // 1: the first schema.
  `
  CREATE TABLE provider_jobs (
    job_id TEXT PRIMARY KEY,
    phase TEXT NOT NULL,
    price_per_fuel TEXT,
    reason TEXT,
    fuel_used TEXT,
    announcement TEXT,
    bid_message TEXT,
    salt TEXT,
    commitment TEXT,
    result_hash TEXT,
    receipt_cid TEXT,
    updated_at INTEGER NOT NULL
  );
  CREATE INDEX provider_jobs_phase ON provider_jobs (phase);
  CREATE TABLE requester_jobs (
    job_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    step TEXT NOT NULL,
    descriptor TEXT NOT NULL,
    escrow TEXT NOT NULL,
    submitted_at INTEGER NOT NULL,
    winner TEXT,
    bids_received INTEGER NOT NULL DEFAULT 0,
    gas_used TEXT NOT NULL DEFAULT '0',
    audit_case_id TEXT,
    state TEXT NOT NULL DEFAULT 'running',
    outcome TEXT,
    error TEXT,
    updated_at INTEGER NOT NULL
  );
  CREATE TABLE requester_job_events (
    job_id TEXT NOT NULL REFERENCES requester_jobs (job_id),
    seq INTEGER NOT NULL,
    event TEXT NOT NULL,
    PRIMARY KEY (job_id, seq)
  );
  CREATE TABLE blobs (
    cid TEXT PRIMARY KEY,
    bytes BLOB NOT NULL,
    stored_at INTEGER NOT NULL
  );
  CREATE TABLE referee_duties (
    dispute_id TEXT PRIMARY KEY,
    job_id TEXT,
    phase TEXT NOT NULL,
    result_hash TEXT,
    fuel_used TEXT,
    salt TEXT,
    updated_at INTEGER NOT NULL
  );
  CREATE TABLE peers (
    peer_id TEXT PRIMARY KEY,
    multiaddrs TEXT NOT NULL,
    last_seen INTEGER NOT NULL
  );
  `,
  // 2: the voucher path (docs/vouchers.md): jobs and channels of both roles, keyed by pair.
  `
  CREATE TABLE voucher_jobs (
    role TEXT NOT NULL,
    requester TEXT NOT NULL,
    provider TEXT NOT NULL,
    sequence INTEGER NOT NULL,
    job_id TEXT NOT NULL,
    phase TEXT NOT NULL,
    record TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (role, requester, provider, sequence)
  );
  CREATE INDEX voucher_jobs_job ON voucher_jobs (role, job_id);
  CREATE INDEX voucher_jobs_phase ON voucher_jobs (role, phase);
  CREATE TABLE voucher_channels (
    role TEXT NOT NULL,
    requester TEXT NOT NULL,
    provider TEXT NOT NULL,
    record TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (role, requester, provider)
  );
  `,
  // 3: bounded memory and blob retention (docs/reliability.md). The API lists provider jobs
  // from here, newest first; the blob sweep learns each job's output CID from its receipt once
  // (output_cid, '' when unknown) and marks a job whose blobs it has let go (blobs_released).
  `
  ALTER TABLE provider_jobs ADD COLUMN output_cid TEXT;
  ALTER TABLE provider_jobs ADD COLUMN blobs_released INTEGER NOT NULL DEFAULT 0;
  CREATE INDEX provider_jobs_updated ON provider_jobs (updated_at);
  CREATE INDEX provider_jobs_phase_updated ON provider_jobs (phase, updated_at);
  CREATE INDEX provider_jobs_receipt ON provider_jobs (receipt_cid);
  CREATE INDEX provider_jobs_output ON provider_jobs (output_cid);
  `,
  // 4: where a chain-event scan stopped, by name (the voucher requester's claim watch, per vault
  // and account: docs/vouchers.md), so a restarted node reads the blocks it missed while down.
  // The block is TEXT (exact), written after the events up to it were handled.
  `
  CREATE TABLE scan_cursors (
    name TEXT PRIMARY KEY,
    block TEXT NOT NULL,
    updated_at INTEGER NOT NULL
  );
  `,
]

/** Brings the database up to the latest schema; returns the version it is at. */
export function migrate(db: DatabaseSync, steps: readonly string[] = migrations): number {
  const current = (db.prepare('PRAGMA user_version').get() as { user_version: number }).user_version
  if (current > steps.length) {
    throw new StoreError(
      ErrorCode.Internal,
      `node database is at schema version ${current}, newer than this software (${steps.length})`,
      { hint: 'run a newer bazaar, or start with another --data-dir' },
    )
  }
  for (let version = current + 1; version <= steps.length; version++) {
    db.exec('BEGIN IMMEDIATE')
    try {
      db.exec(steps[version - 1]!)
      db.exec(`PRAGMA user_version = ${version}`)
      db.exec('COMMIT')
    } catch (err) {
      db.exec('ROLLBACK')
      throw err
    }
  }
  return steps.length
}
