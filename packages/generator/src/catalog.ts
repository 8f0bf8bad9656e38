import { readFileSync } from "node:fs"
import { resolve } from "node:path"

export interface Sku {
  readonly sku: string
  readonly name: string
  readonly category: string
  readonly brand: string
  readonly priceCents: number
}

/** The catalog shared with dbt (its `dim_sku` seed): one file, so the generator and the marts agree. */
export const DEFAULT_CATALOG = resolve(import.meta.dir, "../../../dbt/seeds/dim_sku.csv")

/** Loads `sku,name,category,brand,price` rows (our own file: no quoted fields). */
export const loadCatalog = (path: string = DEFAULT_CATALOG): ReadonlyArray<Sku> => {
  const [header, ...lines] = readFileSync(path, "utf8").trim().split(/\r?\n/)
  const columns = header!.split(",")
  const at = (name: string) => {
    const i = columns.indexOf(name)
    if (i < 0) throw new Error(`${path}: missing column ${name}`)
    return i
  }
  const [iSku, iName, iCategory, iBrand, iPrice] = ["sku", "name", "category", "brand", "price"].map(at) as [
    number,
    number,
    number,
    number,
    number,
  ]
  const skus = lines.map((line, n) => {
    const cells = line.split(",")
    if (cells.length !== columns.length) throw new Error(`${path}:${n + 2}: expected ${columns.length} fields`)
    const price = cells[iPrice]!
    if (!/^\d+\.\d{2}$/.test(price)) throw new Error(`${path}:${n + 2}: price ${price} is not like 12.34`)
    return {
      sku: cells[iSku]!,
      name: cells[iName]!,
      category: cells[iCategory]!,
      brand: cells[iBrand]!,
      priceCents: Number(price.replace(".", "")),
    }
  })
  if (skus.length === 0) throw new Error(`${path}: the catalog is empty`)
  return skus
}
