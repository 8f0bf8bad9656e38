import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, renameSync, writeFileSync } from "node:fs"
import { dirname } from "node:path"

/** fsync a directory, so a file created or renamed in it survives a crash. */
export const fsyncDir = (dir: string): void => {
  const fd = openSync(dir, "r")
  try {
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
}

/** `mkdir -p` whose new entries survive a power cut: each created directory's parent is fsynced. */
export const mkdirDurably = (dir: string): void => {
  if (existsSync(dir)) return
  const parent = dirname(dir)
  if (parent !== dir) mkdirDurably(parent)
  mkdirSync(dir, { recursive: true })
  fsyncDir(parent)
}

/** Replace a file atomically and durably: readers see the old or the new content, never a torn mix. */
export const writeFileDurably = (path: string, data: string | Uint8Array): void => {
  const tmp = `${path}.tmp-${process.pid}`
  const fd = openSync(tmp, "w")
  try {
    writeFileSync(fd, data)
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
  renameSync(tmp, path)
  fsyncDir(dirname(path))
}
