import { formatTokens } from '@bazaar/protocol'
import { createBazaarClient, uploadSpecFile } from '@bazaar/sdk'
import type { Command } from 'commander'

const DEFAULT_API = 'http://127.0.0.1:8080'
const gwei = (s: string) => `${(Number(BigInt(s)) / 1e9).toFixed(3)} gwei`
const short = (a: string) => `${a.slice(0, 10)}…`

export function registerMarketCommand(program: Command): void {
  const market = program
    .command('market')
    .description('Look at the market: offers, prices, and why a job would or would not be taken')
  const withApi = (command: Command) =>
    command
      .option('--api <url>', 'the node API', process.env.BAZAAR_API ?? DEFAULT_API)
      .option('--json', 'print JSON')

  withApi(market.command('offers').description("Providers' current signed offers")).action(
    async (opts: { api: string; json?: boolean }) => {
      const { offers, depth } = await createBazaarClient({ url: opts.api }).offers()
      if (opts.json) return console.log(JSON.stringify({ offers, depth }))
      if (offers.length === 0) return console.log('no offers heard yet (providers publish every 30 s)')
      console.table(
        offers.map((o) => ({
          provider: short(o.provider),
          cores: o.cores,
          memoryMb: o.memoryMb,
          runtimes: o.runtimes.join(','),
          'floor/fuel': gwei(o.floorPricePerFuel),
          stake: formatTokens(BigInt(o.stake)),
          'expires in': `${Number(BigInt(o.expiry) - BigInt(Math.floor(Date.now() / 1000)))} s`,
        })),
      )
    },
  )

  withApi(
    market.command('prices').description('Clearing prices per resource class: recent, median, range'),
  ).action(async (opts: { api: string; json?: boolean }) => {
    const { classes } = await createBazaarClient({ url: opts.api }).prices()
    if (opts.json) return console.log(JSON.stringify(classes))
    const rows = Object.values(classes)
    if (rows.length === 0) return console.log('no awards yet')
    console.table(
      rows.map((c) => ({
        class: c.resourceClass,
        awards: c.count,
        recent: gwei(c.recent),
        median: gwei(c.median),
        range: `${gwei(c.min)} – ${gwei(c.max)}`,
      })),
    )
  })

  withApi(
    market
      .command('explain <spec>')
      .description(
        'Dry run: which providers could take this job at what price, and why each other one could not',
      ),
  )
    .addHelpText('after', '\nExample:\n  $ bazaar market explain examples/specs/wordcount.yaml')
    .action(async (specPath: string, opts: { api: string; json?: boolean }) => {
      const client = createBazaarClient({ url: opts.api })
      const explanation = await client.explain(await uploadSpecFile(client, specPath))
      if (opts.json) return console.log(JSON.stringify(explanation))
      console.log(`resource class ${explanation.resourceClass}`)
      if (explanation.candidates.length === 0) console.log('no provider can take this job now')
      for (const c of explanation.candidates) {
        console.log(
          `  can bid   ${short(c.provider)} expected ${gwei(c.expectedPrice.low)} – ${gwei(c.expectedPrice.high)} per fuel`,
        )
      }
      for (const e of explanation.excluded) {
        console.log(
          `  cannot    ${short(e.provider)} ${e.reasons.map((r) => `${r.reason}: ${r.detail}`).join('; ')}`,
        )
      }
    })
}
