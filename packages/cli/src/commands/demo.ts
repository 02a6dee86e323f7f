import { resolve } from 'node:path'
import { runDemo } from '@bazaar/node/demo/run-demo'
import { formatTokens } from '@bazaar/protocol'
import type { Command } from 'commander'
import pino from 'pino'
import { ExitCode } from '../exit-codes.ts'

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('Run a whole local market in one process and render a Mandelbrot image as paid jobs')
    .option('--json', 'print one JSON object instead of the human summary')
    .option('--out <file>', 'where to write the PNG', 'out/mandelbrot.png')
    .option('--tiles <columns>x<rows>', 'how the image is split into jobs', '4x4')
    .option('--concurrency <n>', 'jobs in flight at once', '6')
    .option('--rpc-url <url>', 'use this JSON-RPC EVM chain instead of the embedded one')
    .option('--verbose', 'print node logs to stderr')
    .addHelpText(
      'after',
      `
Examples:
  $ bazaar demo                       # 16 tiles over 3 providers, writes out/mandelbrot.png
  $ bazaar demo --tiles 4x2 --json    # 8 tiles, machine-readable summary
  $ bazaar demo --rpc-url http://127.0.0.1:8545   # settle on a chain served by \`bazaar devnet\``,
    )
    .action(
      async (opts: {
        json?: boolean
        out: string
        tiles: string
        concurrency: string
        rpcUrl?: string
        verbose?: boolean
      }) => {
        const match = /^(\d+)x(\d+)$/.exec(opts.tiles)
        const concurrency = Number(opts.concurrency)
        if (!match || !Number.isInteger(concurrency) || concurrency < 1) {
          console.error('error: --tiles must look like 4x4 and --concurrency must be a positive integer')
          process.exit(ExitCode.Usage)
        }
        const logger = pino({ level: opts.verbose ? 'debug' : 'warn' }, pino.destination(2))
        const human = !opts.json
        if (human)
          console.log(
            'Starting a local market: embedded EVM, 3 providers, 1 requester (libp2p on 127.0.0.1)...',
          )
        let done = 0
        const total = Number(match[1]) * Number(match[2])
        const report = await runDemo({
          logger,
          outputPath: resolve(opts.out),
          columns: Number(match[1]),
          rows: Number(match[2]),
          concurrency,
          // The demo pays by vouchers (docs/vouchers.md) and measures the per-job path beside it.
          payment: 'voucher',
          ...(opts.rpcUrl ? { rpcUrl: opts.rpcUrl } : {}),
          onEvent: (event) => {
            if (!human || !process.stdout.isTTY) return
            if (event.type === 'finalized' || event.type === 'refunded') {
              done++
              process.stdout.write(`\r  jobs settled: ${done}/${total}`)
            }
          },
        })
        if (opts.json) {
          console.log(
            JSON.stringify(
              {
                ok: report.ok,
                jobs: report.jobs.map((job) => ({
                  id: job.id,
                  status: job.status,
                  tile: job.tile,
                  providers: job.providers.map((p) => p.address),
                  providerNames: job.providers.map((p) => p.name),
                  pricePerFuel: job.pricePerFuel?.toString() ?? null,
                  fuelUsed: job.fuelUsed.toString(),
                  paid: job.paid.toString(),
                  refunded: job.refunded.toString(),
                  bids: job.bids,
                  ...(job.error ? { error: job.error } : {}),
                })),
                output: report.ok ? report.output : null,
                totals: {
                  gas: report.totals.gas.toString(),
                  durationMs: report.totals.durationMs,
                  paid: report.totals.paid.toString(),
                  refunded: report.totals.refunded.toString(),
                  escrowed: report.totals.escrowed.toString(),
                },
                ...(report.gasPerJob
                  ? {
                      gasPerJob: {
                        voucher: report.gasPerJob.voucher.toString(),
                        onchain: report.gasPerJob.onchain.toString(),
                      },
                    }
                  : {}),
              },
              null,
              2,
            ),
          )
        } else {
          console.log('\n')
          const rows = report.jobs.map((job) => ({
            job: job.id,
            tile: `${job.tile.x0},${job.tile.y0}`,
            status: job.status,
            provider: job.providers.map((p) => p.name).join(',') || '-',
            bids: job.bids,
            'price/fuel': job.pricePerFuel === undefined ? '-' : `${Number(job.pricePerFuel) / 1e9} gwei`,
            fuel: job.fuelUsed.toLocaleString('en-US'),
            paid: formatTokens(job.paid),
          }))
          console.table(rows)
          const byProvider = new Map<string, number>()
          for (const job of report.jobs)
            for (const p of job.providers) byProvider.set(p.name, (byProvider.get(p.name) ?? 0) + 1)
          console.log(`Jobs per provider: ${[...byProvider].map(([n, c]) => `${n} ${c}`).join(', ')}`)
          console.log(
            `Paid to providers: ${formatTokens(report.totals.paid)}; refunded to requester: ${formatTokens(report.totals.refunded)}`,
          )
          console.log(
            `Gas used by the jobs: ${report.totals.gas.toLocaleString('en-US')}; wall time: ${(report.totals.durationMs / 1000).toFixed(1)} s`,
          )
          if (report.gasPerJob) {
            console.log(
              `Gas per job: ${report.gasPerJob.voucher.toLocaleString('en-US')} paid by vouchers (${report.gasPerJob.redemptions} batch redemption(s) + deposits) vs ${report.gasPerJob.onchain.toLocaleString('en-US')} on the per-job on-chain path`,
            )
          }
          console.log(
            report.ok ? `Image written to ${report.output}` : 'Not every job completed; no image written.',
          )
        }
        process.exit(report.ok ? ExitCode.Ok : ExitCode.JobNotCompleted)
      },
    )
}
