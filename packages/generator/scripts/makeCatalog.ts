// Writes the shop's catalog, dbt/seeds/dim_sku.csv: the generator sells from it and dbt loads it as dim_sku.
// Deterministic; run it again only to change the catalog: `bun packages/generator/scripts/makeCatalog.ts`.
import { writeFileSync } from "node:fs"
import { resolve } from "node:path"
import { Random } from "../src/random.ts"

const categories: ReadonlyArray<{
  name: string
  code: string
  items: ReadonlyArray<string>
  variants: ReadonlyArray<string>
  price: [number, number]
}> = [
  {
    name: "shoes",
    code: "SHO",
    items: ["Trail Runner", "City Sneaker", "Leather Boot", "Canvas Slip-On", "Hiking Boot", "Court Trainer"],
    variants: ["Black", "White", "Navy", "Olive"],
    price: [39, 189],
  },
  {
    name: "apparel",
    code: "APP",
    items: ["Merino Tee", "Rain Jacket", "Fleece Hoodie", "Chino Pant", "Linen Shirt", "Down Vest"],
    variants: ["S", "M", "L", "XL"],
    price: [19, 249],
  },
  {
    name: "bags",
    code: "BAG",
    items: ["Daypack", "Tote", "Weekender", "Sling Bag", "Laptop Sleeve", "Duffel"],
    variants: ["Sand", "Charcoal", "Rust", "Forest"],
    price: [24, 179],
  },
  {
    name: "kitchen",
    code: "KIT",
    items: ["Chef Knife", "Cast Iron Pan", "Pour-Over Kettle", "Cutting Board", "Spice Grinder", "Dutch Oven"],
    variants: ["Small", "Medium", "Large", "Pro"],
    price: [12, 229],
  },
  {
    name: "home",
    code: "HOM",
    items: ["Wool Throw", "Ceramic Vase", "Table Lamp", "Linen Duvet", "Scented Candle", "Wall Clock"],
    variants: ["Ivory", "Slate", "Terracotta", "Sage"],
    price: [15, 199],
  },
  {
    name: "beauty",
    code: "BEA",
    items: ["Face Serum", "Hand Cream", "Lip Balm", "Clay Mask", "Body Oil", "Shampoo Bar"],
    variants: ["30ml", "50ml", "100ml", "Travel"],
    price: [6, 79],
  },
  {
    name: "electronics",
    code: "ELE",
    items: ["Wireless Earbuds", "Power Bank", "USB-C Hub", "Smart Speaker", "E-Reader", "Action Camera"],
    variants: ["Gen 1", "Gen 2", "Lite", "Max"],
    price: [19, 399],
  },
  {
    name: "outdoor",
    code: "OUT",
    items: ["Camping Stove", "Sleeping Bag", "Headlamp", "Water Filter", "Trekking Poles", "Tent"],
    variants: ["1P", "2P", "Ultralight", "Classic"],
    price: [14, 449],
  },
  {
    name: "toys",
    code: "TOY",
    items: ["Building Blocks", "Puzzle", "Plush Bear", "Wooden Train", "Kite", "Board Game"],
    variants: ["Junior", "Classic", "Deluxe", "Mini"],
    price: [8, 89],
  },
  {
    name: "books",
    code: "BOO",
    items: ["Cookbook", "Field Guide", "Novel", "Atlas", "Sketchbook", "Planner"],
    variants: ["Hardcover", "Paperback", "Gift Edition", "Pocket"],
    price: [7, 59],
  },
]

const random = new Random(20261124)
const rows = ["sku,name,category,brand,price"]
const brands = ["Northwind", "Fjord & Co", "Alder", "Brightside", "Kestrel", "Juniper"]
for (const c of categories) {
  let n = 0
  for (const item of c.items) {
    for (const variant of c.variants) {
      n++
      const [lo, hi] = c.price
      // Prices end in .99/.49/.00 as shops price things.
      const whole = lo + Math.floor(random.next() * (hi - lo))
      const cents = random.pick([99, 49, 0, 95])
      const price = `${whole}.${String(cents).padStart(2, "0")}`
      rows.push(`${c.code}-${String(n).padStart(3, "0")},${item} ${variant},${c.name},${random.pick(brands)},${price}`)
    }
  }
}
const out = resolve(import.meta.dir, "../../../dbt/seeds/dim_sku.csv")
writeFileSync(out, rows.join("\n") + "\n")
console.log(`wrote ${rows.length - 1} SKUs to ${out}`)
