/** One benchmark of `npm run bench`: it reports through `log` and returns its figures as JSON. */
export interface BenchLog {
  table(rows: Record<string, unknown>): void
  line(text: string): void
}

export interface BenchSuite {
  name: string
  run(context: { log: BenchLog }): Promise<object>
}
