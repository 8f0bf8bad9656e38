/**
 * A progress bar on stderr: one line redrawn in place on a terminal, or a plain line every 10% when stderr is a
 * pipe or a file (logs, CI), so a log never fills with carriage returns.
 */
export class ProgressBar {
  private readonly started = performance.now()
  private lastDraw = 0
  private lastStep = -1
  private readonly tty: boolean

  constructor(
    private readonly label: string,
    private readonly write: (text: string) => void = (text) => process.stderr.write(text),
    tty: boolean = process.stderr.isTTY === true,
  ) {
    this.tty = tty
  }

  /** `fraction` of the work is done (0..1); `detail` follows the bar (e.g. "1,234 events"). */
  update(fraction: number, detail: string): void {
    const f = Math.min(1, Math.max(0, fraction))
    if (this.tty) {
      const now = performance.now()
      if (now - this.lastDraw < 100 && f < 1) return
      this.lastDraw = now
      this.write(`\r${this.line(f, detail)}\x1b[K`)
      return
    }
    const step = Math.floor(f * 10)
    if (step <= this.lastStep || f >= 1) return
    this.lastStep = step
    this.write(`${this.line(f, detail)}\n`)
  }

  /** The last state, and a newline: what stays in the scrollback. */
  done(detail: string): void {
    this.write(`${this.tty ? "\r" : ""}${this.line(1, detail)}${this.tty ? "\x1b[K" : ""}\n`)
  }

  private line(f: number, detail: string): string {
    const width = 30
    const full = Math.round(f * width)
    const seconds = ((performance.now() - this.started) / 1000).toFixed(0)
    return `${this.label} [${"#".repeat(full)}${".".repeat(width - full)}] ${String(Math.floor(f * 100)).padStart(3)}%  ${detail}, ${seconds} s`
  }
}
