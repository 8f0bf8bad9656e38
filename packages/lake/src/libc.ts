// The repo's one libc loader lives in @shop/fsio; this path stays for the lake's own imports.
export { exchangeDirs, flock, LOCK_EX, LOCK_NB, LOCK_SH, LOCK_UN } from "@shop/fsio"
