import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { loadNodeConfigFile, NODE_DEFAULTS, type NodeConfigError, resolveNodeConfig } from './node-config.ts'

describe('node config', () => {
  let dir: string
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bazaar-config-'))
  })
  after(() => rm(dir, { recursive: true, force: true }))

  it('reads YAML, resolves paths against the file, and lets flags win', async () => {
    const file = join(dir, 'bazaar.yaml')
    await writeFile(
      file,
      [
        'role: provider',
        'deployment: deploy/d.json',
        'keystore: /keys/p.json',
        'api: { port: 9000 }',
        'provider: { price: "2000000000", cores: 2 }',
        'bootstrap: [/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWabc]',
      ].join('\n'),
    )
    const fromFile = await loadNodeConfigFile(file)
    assert.equal(fromFile.deployment, join(dir, 'deploy/d.json'))
    assert.equal(fromFile.keystore, '/keys/p.json')
    const config = resolveNodeConfig(
      fromFile,
      { api: { port: 0 }, provider: { price: 5n } },
      { BAZAAR_HOME: dir },
    )
    assert.equal(config.role, 'provider')
    assert.equal(config.api.port, 0, 'the flag wins')
    assert.equal(config.api.host, NODE_DEFAULTS.apiHost)
    assert.equal(config.provider.price, 5n, 'the flag wins')
    assert.equal(config.provider.cores, 2, 'the file stands where no flag is given')
    assert.equal(config.rpcUrl, NODE_DEFAULTS.rpcUrl)
    assert.equal(config.dataDir, join(dir, 'node'))
    assert.deepEqual(config.bootstrap, ['/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWabc'])
    assert.deepEqual(config.provider.spot, NODE_DEFAULTS.spot, 'spot pricing on by default')
  })

  it('reads the requester payment path, on-chain by default, and refuses an unknown one', async () => {
    const file = join(dir, 'payment.yaml')
    await writeFile(file, 'role: requester\ndeployment: d.json\nrequester: { payment: voucher }\n')
    const vouchers = resolveNodeConfig(await loadNodeConfigFile(file), {}, { BAZAAR_HOME: dir })
    assert.equal(vouchers.requester.payment, 'voucher')
    const flag = resolveNodeConfig(
      await loadNodeConfigFile(file),
      { requester: { payment: 'onchain' } },
      { BAZAAR_HOME: dir },
    )
    assert.equal(flag.requester.payment, 'onchain', 'the flag wins')
    await writeFile(file, 'role: requester\ndeployment: d.json\n')
    assert.equal(
      resolveNodeConfig(await loadNodeConfigFile(file), {}, { BAZAAR_HOME: dir }).requester.payment,
      'onchain',
    )
    await writeFile(file, 'role: requester\ndeployment: d.json\nrequester: { payment: cash }\n')
    await assert.rejects(loadNodeConfigFile(file), /requester\.payment/)
  })

  it('takes spot pricing settings, or false to turn it off', async () => {
    const file = join(dir, 'spot.yaml')
    await writeFile(
      file,
      'role: provider\ndeployment: d.json\nprovider: { spot: { percentOfMedian: 110, minSamples: 3 } }\n',
    )
    const custom = resolveNodeConfig(await loadNodeConfigFile(file), {}, { BAZAAR_HOME: dir })
    assert.deepEqual(custom.provider.spot, { percentOfMedian: 110, minSamples: 3 })
    await writeFile(file, 'role: provider\ndeployment: d.json\nprovider: { spot: false }\n')
    const off = resolveNodeConfig(await loadNodeConfigFile(file), {}, { BAZAAR_HOME: dir })
    assert.equal(off.provider.spot, undefined)
    await writeFile(file, 'role: provider\nprovider: { spot: { percentOfMedian: -1, minSamples: 3 } }\n')
    await assert.rejects(loadNodeConfigFile(file), /provider\.spot/)
  })

  it('takes payment collection settings, each defaulting on its own', async () => {
    const file = join(dir, 'collect.yaml')
    await writeFile(file, 'role: provider\ndeployment: d.json\nprovider: { collect: { graceSeconds: 0 } }\n')
    const config = resolveNodeConfig(await loadNodeConfigFile(file), {}, { BAZAAR_HOME: dir })
    assert.deepEqual(config.provider.collect, {
      intervalSeconds: NODE_DEFAULTS.collect.intervalSeconds,
      graceSeconds: 0,
    })
    await writeFile(file, 'role: provider\nprovider: { collect: { intervalSeconds: 0 } }\n')
    await assert.rejects(loadNodeConfigFile(file), /provider\.collect\.intervalSeconds/)
  })

  it('takes the blob retention in whole hours: default 24, 0 keeps blobs forever', async () => {
    const file = join(dir, 'retention.yaml')
    await writeFile(file, 'role: provider\ndeployment: d.json\n')
    const defaults = resolveNodeConfig(await loadNodeConfigFile(file), {}, { BAZAAR_HOME: dir })
    assert.equal(defaults.provider.blobRetentionHours, 24)
    await writeFile(file, 'role: provider\ndeployment: d.json\nprovider: { blobRetentionHours: 0 }\n')
    const forever = resolveNodeConfig(await loadNodeConfigFile(file), {}, { BAZAAR_HOME: dir })
    assert.equal(forever.provider.blobRetentionHours, 0)
    for (const bad of ['-1', '1.5', '"24"', '1000000']) {
      await writeFile(file, `role: provider\nprovider: { blobRetentionHours: ${bad} }\n`)
      await assert.rejects(loadNodeConfigFile(file), /provider\.blobRetentionHours/, bad)
    }
  })

  it('names the bad field', async () => {
    const file = join(dir, 'bad.yaml')
    await writeFile(file, 'role: provider\nprovider:\n  price: -3\n')
    await assert.rejects(loadNodeConfigFile(file), (err: NodeConfigError) => {
      assert.equal(err.name, 'NodeConfigError')
      assert.match(err.message, /provider\.price: must be a whole number/)
      return true
    })
    await writeFile(file, 'role: provider\nlisten: 127.0.0.1:4001\n')
    await assert.rejects(loadNodeConfigFile(file), /listen: /)
    await writeFile(file, 'rol: provider\n')
    await assert.rejects(loadNodeConfigFile(file), (err: NodeConfigError) => {
      assert.match(err.message, /Unrecognized key/i)
      assert.match(err.hint ?? '', /known fields: role/)
      return true
    })
  })

  it('reports YAML syntax errors with the line, and a missing file', async () => {
    const file = join(dir, 'syntax.yaml')
    await writeFile(file, 'role: provider\napi: { port: 1\n')
    await assert.rejects(loadNodeConfigFile(file), /is not valid YAML/)
    await assert.rejects(loadNodeConfigFile(join(dir, 'missing.yaml')), /cannot read config file/)
  })

  it('requires a role and a deployment file', () => {
    assert.throws(() => resolveNodeConfig({}, { deployment: 'd.json' }), /role: required/)
    assert.throws(() => resolveNodeConfig({ role: 'requester' }, {}), /deployment: required/)
  })
})
