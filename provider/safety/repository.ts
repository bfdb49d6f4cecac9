import { promises as fs } from "node:fs";
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from "node:path";

// A checkout of someone's branch may hold links (git stores them) to anywhere: a tokens folder
// linked to /etc, a seed path `../../../../etc/shadow`. Paths we read because a tokens file names
// them, and the tokens file itself, must resolve inside the repository they came with.

/**
 * The repository a tokens file belongs to, as a real path: the git top-level above it (the nearest
 * folder, walking up the path as named, holding `.git`, a folder or a worktree's file), else the
 * tokens file's own folder. Walking the path as named, not its real path, keeps a linked folder
 * from choosing where the repository is.
 */
export async function repositoryRoot(file: string): Promise<string> {
  const folder = dirname(resolve(file));
  for (let dir = folder; ; dir = dirname(dir)) {
    if (await exists(join(dir, ".git"))) return realPath(dir);
    if (dirname(dir) === dir) return realPath(folder);
  }
}

/** The real path of `path` when it resolves outside `root` (a real path), else undefined. */
export async function resolvesOutside(path: string, root: string): Promise<string | undefined> {
  const real = await realPath(resolve(path));
  const rel = relative(root, real);
  const inside = rel === "" || (rel !== ".." && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
  return inside ? undefined : real;
}

/** Links resolved; for a path that does not exist (yet), its nearest existing folder's real path and the rest as named. */
async function realPath(path: string): Promise<string> {
  try {
    return await fs.realpath(path);
  } catch {
    const parent = dirname(path);
    return parent === path ? path : join(await realPath(parent), basename(path));
  }
}

async function exists(path: string): Promise<boolean> {
  return fs.stat(path).then(
    () => true,
    () => false,
  );
}
