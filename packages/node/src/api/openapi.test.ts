/**
 * docs/openapi.yaml against the API it documents: every route the node serves is in the spec
 * (and nothing the node does not serve), and the JSON the job, provider and node routes really
 * answer, voucher jobs included, uses only fields the spec's schemas list.
 */
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { describe, it } from 'node:test'
import { parse } from 'yaml'
import type { JobEvent } from '../requester/job-events.ts'
import { voucherPaymentsApi } from './voucher-api-fixture.ts'

interface Schema {
  properties?: Record<string, Schema>
  allOf?: Schema[]
  $ref?: string
  enum?: string[]
  items?: Schema
}
interface Spec {
  paths: Record<string, Record<string, unknown>>
  components: { schemas: Record<string, Schema> }
}

const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` })

const spec = parse(readFileSync(new URL('../../../../docs/openapi.yaml', import.meta.url), 'utf8')) as Spec

/** Every type of job event (a missing one fails typechecking: the `Missing` check below). */
const EVENT_TYPES = [
  'created',
  'announced',
  'bid',
  'bid-rejected',
  'declined',
  'no-bids',
  'awarded',
  'committed',
  'revealed',
  'verified',
  'finalized',
  'refunded',
  'audit-opened',
  'audit-drawn',
  'referees-drawn',
  'dispute-resolved',
  'challenged',
  'challenge-verdict',
  'replicas-linked',
  'replicas-settled',
  'audited',
  'voucher-signed',
  'claim-filed',
  'claim-finalized',
] as const satisfies readonly JobEvent['type'][]
type Missing = Exclude<JobEvent['type'], (typeof EVENT_TYPES)[number]>
const everyEventListed: [Missing] extends [never] ? true : Missing = true

/** A schema with its $ref and allOf resolved into one property map. */
function resolve(schema: Schema): Schema {
  if (schema.$ref) return resolve(spec.components.schemas[schema.$ref.replace('#/components/schemas/', '')]!)
  if (schema.allOf) {
    const properties: Record<string, Schema> = {}
    for (const part of schema.allOf) Object.assign(properties, resolve(part).properties)
    return { properties }
  }
  return schema
}

/** The paths of `value` (dotted) the schema does not list, following nested objects and arrays. */
function undocumented(value: unknown, schema: Schema, at: string): string[] {
  const s = resolve(schema)
  if (Array.isArray(value))
    return s.items ? value.flatMap((v, i) => undocumented(v, s.items!, `${at}[${i}]`)) : []
  if (value === null || typeof value !== 'object' || !s.properties) return []
  return Object.entries(value).flatMap(([key, v]) => {
    const child = s.properties?.[key]
    return child ? undocumented(v, child, `${at}.${key}`) : [`${at}.${key}`]
  })
}

describe('docs/openapi.yaml', () => {
  it('lists every route the API serves, and only those', () => {
    const { app } = voucherPaymentsApi(new Map())
    const served = new Set(
      app.routes
        .filter((r) => r.method !== 'ALL')
        .map((r) => `${r.method.toLowerCase()} ${r.path.replace(/:([a-zA-Z]+)/g, '{$1}')}`),
    )
    const documented = new Set(
      Object.entries(spec.paths).flatMap(([path, methods]) =>
        Object.keys(methods)
          .filter((m) => ['get', 'post', 'put', 'delete', 'patch'].includes(m))
          .map((m) => `${m} ${path}`),
      ),
    )
    assert.deepEqual(
      [...served].filter((r) => !documented.has(r)),
      [],
      'served but missing from docs/openapi.yaml',
    )
    assert.deepEqual(
      [...documented].filter((r) => !served.has(r)),
      [],
      'in docs/openapi.yaml but not served',
    )
  })

  it('documents every field of the jobs, voucher jobs, providers and node the API answers', async () => {
    const paid = new Map([
      ['0xbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb', { collected: 30n, paidThrough: 1n }],
      ['0xcccccccccccccccccccccccccccccccccccccccc', { collected: 15n, paidThrough: 0n }],
    ])
    const { get, records } = voucherPaymentsApi(paid)
    const list = await get<{ jobs: unknown[] }>('/v1/jobs')
    assert.ok(
      list.jobs.some((j) => (j as { voucher?: unknown }).voucher),
      'the fixture has voucher jobs',
    )
    const problems = undocumented(list, { properties: { jobs: { items: ref('Job') } } }, 'GET /v1/jobs')
    for (const r of records) {
      const job = await get<{ events: { type: string }[]; voucher: unknown }>(`/v1/jobs/${r.jobId}`)
      problems.push(...undocumented(job, ref('JobWithEvents'), `GET /v1/jobs/${r.award.sequence}`))
      problems.push(
        ...undocumented(await get(`/v1/jobs/${r.jobId}/logs`), ref('JobLogs'), 'GET /v1/jobs/{id}/logs'),
      )
    }
    const shown = new Set(
      (await Promise.all(records.map((r) => get<{ events: { type: string }[] }>(`/v1/jobs/${r.jobId}`))))
        .flatMap((j) => j.events)
        .map((e) => e.type),
    )
    for (const type of ['voucher-signed', 'claim-filed', 'claim-finalized'])
      assert.ok(shown.has(type), `the fixture shows a ${type} event`)
    problems.push(
      ...undocumented(
        await get('/v1/providers'),
        { properties: { providers: { items: ref('Provider') } } },
        'GET /v1/providers',
      ),
      ...undocumented(await get('/v1/node'), ref('NodeInfo'), 'GET /v1/node'),
    )
    assert.deepEqual(problems, [], 'fields the API answers that docs/openapi.yaml does not list')
  })

  it('lists every job event type, voucher steps included', () => {
    assert.equal(everyEventListed, true)
    assert.deepEqual(
      [...(resolve(ref('JobEvent')).properties?.type?.enum ?? [])].sort(),
      [...EVENT_TYPES].sort(),
    )
  })
})
