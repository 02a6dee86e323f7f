import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { InvalidSpecError, parseJobSpec } from './spec.ts'

const valid = `version: 1
name: tile-0
runtime: wasm
module: { path: ../build/mandelbrot.wasm }
args: ["--width", "64"]
limits:
  fuel: 1000000000
price:
  maxPerFuel: "2000000000"
`

function issuesOf(text: string) {
  try {
    parseJobSpec(text, 'job.yaml')
  } catch (err) {
    assert.ok(err instanceof InvalidSpecError)
    assert.equal(err.code, 'E_INVALID_SPEC')
    return err.issues
  }
  assert.fail('expected InvalidSpecError')
}

describe('parseJobSpec', () => {
  it('parses a valid spec and fills defaults, keeping amounts exact', () => {
    const spec = parseJobSpec(valid)
    assert.ok(spec.runtime === 'wasm')
    assert.equal(spec.limits.fuel, 1_000_000_000n)
    assert.equal(spec.price.maxPerFuel, 2_000_000_000n)
    assert.deepEqual(spec.resources, { cores: 1, memoryMb: 64 })
    assert.equal(spec.verification.mode, 'none')
    assert.deepEqual(spec.module, { path: '../build/mandelbrot.wasm' })
  })

  it('takes an audit verification with the default probability, and refuses modes not built', () => {
    const audited = parseJobSpec(`${valid}verification: { mode: audit }\n`)
    assert.deepEqual(audited.verification, { mode: 'audit', probability: 0.35 })
    const chosen = parseJobSpec(`${valid}verification: { mode: audit, probability: 1 }\n`)
    assert.deepEqual(chosen.verification, { mode: 'audit', probability: 1 })
    const [tooHigh] = issuesOf(`${valid}verification: { mode: audit, probability: 1.5 }\n`)
    assert.equal(tooHigh?.field, 'verification.probability')
    assert.equal(tooHigh?.line, 10)
    assert.match(tooHigh?.message ?? '', /at most 1/)
    assert.deepEqual(parseJobSpec(`${valid}verification: { mode: optimistic }\n`).verification, {
      mode: 'optimistic',
    })
    const [unknown] = issuesOf(`${valid}verification: { mode: majority }\n`)
    assert.match(unknown?.message ?? '', /"replicated"/)
  })

  it('takes replicated verification with k from 2 (the default) to 5', () => {
    assert.deepEqual(parseJobSpec(`${valid}verification: { mode: replicated }\n`).verification, {
      mode: 'replicated',
      k: 2,
    })
    assert.deepEqual(parseJobSpec(`${valid}verification: { mode: replicated, k: 5 }\n`).verification, {
      mode: 'replicated',
      k: 5,
    })
    const [one] = issuesOf(`${valid}verification: { mode: replicated, k: 1 }\n`)
    assert.equal(one?.field, 'verification.k')
    assert.match(one?.message ?? '', /at least 2/)
    const [many] = issuesOf(`${valid}verification: { mode: replicated, k: 6 }\n`)
    assert.match(many?.message ?? '', /at most 5/)
    const [half] = issuesOf(`${valid}verification: { mode: replicated, k: 2.5 }\n`)
    assert.equal(half?.field, 'verification.k')
  })

  it('accepts the same spec as JSON', () => {
    const spec = parseJobSpec(
      JSON.stringify({
        version: 1,
        runtime: 'wasm',
        module: { cid: 'x' },
        limits: { fuel: 5 },
        price: { maxPerFuel: '1' },
      }),
    )
    assert.equal(spec.limits.fuel, 5n)
  })

  it('names the field and line of each problem', () => {
    const issues = issuesOf(
      valid.replace('fuel: 1000000000', 'fuel: -3').replace('runtime: wasm', 'runtime: python'),
    )
    const byField = Object.fromEntries(issues.map((i) => [i.field, i]))
    assert.equal(byField.runtime?.line, 3)
    assert.equal(byField['limits.fuel']?.line, 7)
    assert.match(byField.runtime?.message ?? '', /wasm/)
  })

  it('reports a missing field at its parent and unknown fields', () => {
    const issues = issuesOf(valid.replace('price:\n  maxPerFuel: "2000000000"\n', 'prize: 3\n'))
    const fields = issues.map((i) => i.field).sort()
    assert.ok(fields.includes('price'), `fields: ${fields}`)
    assert.ok(issues.some((i) => /prize/.test(i.message)))
  })

  it('rejects YAML syntax errors with a line', () => {
    const issues = issuesOf('version: 1\nruntime: [wasm\n')
    assert.ok(issues[0]?.line)
    assert.match(issues[0]?.message ?? '', /YAML syntax/)
  })

  it('rejects prices that would lose precision and unsafe input file names', () => {
    const issues = issuesOf(
      `${valid.replace('"2000000000"', '2.5')}inputs:\n  - { name: ../etc/passwd, text: hi }\n  - { name: a.txt, text: hi, path: b.txt }\n`,
    )
    const fields = issues.map((i) => i.field)
    assert.ok(fields.includes('price.maxPerFuel'))
    assert.ok(fields.some((f) => f.startsWith('inputs.0')))
    assert.ok(fields.some((f) => f.startsWith('inputs.1')))
  })

  it('rejects a non-object document', () => {
    assert.throws(() => parseJobSpec('just a string'), InvalidSpecError)
    assert.throws(() => parseJobSpec(''), InvalidSpecError)
  })
})
