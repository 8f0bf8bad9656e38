/** Integer cents as a decimal string with two places ("-12.05"), exact for any safe integer. */
export const centsToDecimal = (cents: number): string => {
  const sign = cents < 0 ? "-" : ""
  const abs = Math.abs(cents)
  return `${sign}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, "0")}`
}

/** A DuckDB DECIMAL(18,2) rendered as text ("12.5", "12.50", "-0.05") to integer cents, without floats. */
export const decimalToCents = (text: string): number => {
  const match = /^(-?)(\d+)(?:\.(\d{1,2}))?$/.exec(text.trim())
  if (match === null) throw new Error(`not a money amount: ${text}`)
  const cents = Number(match[2]) * 100 + Number((match[3] ?? "").padEnd(2, "0"))
  return match[1] === "-" ? -cents : cents
}
