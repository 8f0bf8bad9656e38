/** A progress line on stderr at most every 2 s, so long runs show they are alive without flooding logs. */
export class ProgressLine {
  private readonly started = performance.now()
  private last = this.started
  constructor(private readonly label: string) {}

  update(count: number): void {
    const now = performance.now()
    if (now - this.last < 2_000) return
    this.last = now
    process.stderr.write(`${this.label}: ${count} records, ${this.rate(count, now)} rec/s\n`)
  }

  done(count: number): void {
    const now = performance.now()
    process.stderr.write(
      `${this.label}: ${count} records in ${((now - this.started) / 1000).toFixed(1)} s (${this.rate(count, now)} rec/s)\n`,
    )
  }

  private rate(count: number, now: number): string {
    return Math.round(count / Math.max((now - this.started) / 1000, 0.001)).toLocaleString("en-US")
  }
}
