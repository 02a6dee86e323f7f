/** The metering contract between meter.ts (the rewrite) and the sandbox; see meter.ts for the rules. */

/**
 * Bump when any metering rule in meter.ts / charge-plan.ts changes: fuel counts of the same
 * module would differ. Version 3 kept version 2's counts for runs that do not trap and
 * changed what a trap is billed (prepaid code), so trap receipts differ.
 */
export const METER_VERSION = 3
export const FUEL_EXPORT = '__bazaar_fuel'
export const MEMORY_EXCEEDED_EXPORT = '__bazaar_memory_exceeded'
export const FUEL_LIMIT_IMPORT = { module: 'bazaar', name: 'fuel_limit' } as const
/** An if-arm or block segment cheaper than this is charged with its enclosing region instead of on its own (version 2: 32, was 8). */
export const MIN_REGION_COST = 32
/**
 * A region whose calls to hoisted functions add up to more than this many IR nodes (each
 * callee counted with the hoisted functions it calls) checks the counter at its entry;
 * smaller calls run unchecked, like straight-line code. It bounds what runs after the
 * counter goes below zero (see meter.ts); it changes no fuel count.
 */
export const UNCHECKED_CALL_NODES = 1000
/** Bulk memory operations cost one fuel unit per this many bytes. */
export const BULK_BYTES_PER_FUEL = 16
export const WASI_MODULE = 'wasi_snapshot_preview1'
/**
 * A wasm start function is exported under this name and removed from the start section,
 * so the sandbox calls it (metered, under the wall-clock limit, with WASI ready) right
 * before `_start` instead of V8 running it during instantiation.
 */
export const START_EXPORT = '__bazaar_start'
