/**
 * An export writes only into a folder that is the exporting user's and that nobody else may write
 * into: a symlink someone else put in the layout (blobs/, index.json, a blob, the folder itself),
 * a folder of another user's or open to others' writes, a broken index, a file where the folder
 * goes, or a path leading into the home is refused with a typed error before anything is written,
 * and what the trick points at is left as it was. A fresh export is private (0700 folders, 0600
 * files), as the disks are in the home. Runs as root (CI does): the tricks are another user's.
 */
import { chmodSync, chownSync, lchownSync, lstatSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openReader } from '../../src/db/reader.js';
import { exportFromHome } from '../../src/producers/oci-export.js';
import { makeBox, useHomes } from '../db/support/home.js';
import { useTmpDirs } from '../helpers/tmp.js';

const { newHome, open } = useHomes();
const tmp = useTmpDirs('fp-export-folder-');
const NOBODY = 65534;

function homeWithBox(): { home: string; exportTo: (dir: string) => unknown } {
  const d = open(newHome());
  makeBox(d, 'web', 0x4e);
  const exportTo = (dir: string) => {
    const reader = openReader(d.layout.home);
    try {
      return exportFromHome(reader, { boxId: 'web', dir });
    } finally {
      reader.close();
    }
  };
  return { home: d.layout.home, exportTo };
}

/** Every path under `dir` with its bytes (folders as '', symlinks not followed), to see that nothing changed. */
function contents(dir: string, out: Record<string, string> = {}, prefix = ''): Record<string, string> {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    const st = lstatSync(path);
    out[prefix + name] = st.isSymbolicLink() ? '-> link' : st.isDirectory() ? '' : readFileSync(path, 'hex');
    if (st.isDirectory()) contents(path, out, `${prefix}${name}/`);
  }
  return out;
}

interface Trick {
  name: string;
  code: string;
  /** Make the layout folder at `dir` (inside `work`, a private folder of the test's); return what it points at, to be left alone. */
  plant: (dir: string, work: string, home: string) => string;
  /** The folder exported to, when not `dir`. */
  target?: (work: string) => string;
}

const secretFolder = (work: string) => {
  const s = join(work, 'root-only');
  mkdirSync(s, { mode: 0o700 });
  writeFileSync(join(s, 'index.json'), JSON.stringify({ manifests: [{ mediaType: 'x', digest: 'sha256:00', size: 1, secret: 'hunter2' }] }), { mode: 0o600 });
  return s;
};
const othersFolder = (dir: string) => {
  mkdirSync(dir);
  chownSync(dir, NOBODY, NOBODY);
};

const tricks: Trick[] = [
  {
    name: "blobs/ a symlink of another user's to a root-only folder",
    code: 'E_FORBIDDEN',
    plant: (dir, work) => {
      const target = secretFolder(work);
      mkdirSync(dir);
      symlinkSync(target, join(dir, 'blobs'));
      lchownSync(join(dir, 'blobs'), NOBODY, NOBODY);
      return target;
    },
  },
  {
    name: 'index.json a symlink to a root-only file',
    code: 'E_FORBIDDEN',
    plant: (dir, work) => {
      const target = secretFolder(work);
      mkdirSync(dir);
      symlinkSync(join(target, 'index.json'), join(dir, 'index.json'));
      return target;
    },
  },
  {
    name: "the layout folder itself a symlink of another user's",
    code: 'E_FORBIDDEN',
    plant: (dir, work) => {
      const target = secretFolder(work);
      symlinkSync(target, dir);
      lchownSync(dir, NOBODY, NOBODY);
      return target;
    },
  },
  {
    name: "a folder of another user's",
    code: 'E_FORBIDDEN',
    plant: (dir) => (othersFolder(dir), dir),
  },
  {
    name: 'a folder of ours that others may write in',
    code: 'E_FORBIDDEN',
    plant: (dir) => {
      mkdirSync(dir);
      chmodSync(dir, 0o777);
      return dir;
    },
  },
  {
    name: "blobs/sha256/ of another user's inside a folder of ours",
    code: 'E_FORBIDDEN',
    plant: (dir) => {
      mkdirSync(join(dir, 'blobs'), { recursive: true });
      othersFolder(join(dir, 'blobs', 'sha256'));
      return dir;
    },
  },
  {
    name: 'an index.json that is not JSON',
    code: 'E_INVALID_ARGUMENT',
    plant: (dir) => {
      mkdirSync(dir);
      writeFileSync(join(dir, 'index.json'), 'not json');
      return dir;
    },
  },
  {
    name: 'an index.json whose manifests is not a list',
    code: 'E_INVALID_ARGUMENT',
    plant: (dir) => {
      mkdirSync(dir);
      writeFileSync(join(dir, 'index.json'), '{"manifests":"x"}');
      return dir;
    },
  },
  {
    name: 'an index.json that is a folder',
    code: 'E_NOT_A_FILE',
    plant: (dir) => {
      mkdirSync(join(dir, 'index.json'), { recursive: true });
      return dir;
    },
  },
  {
    name: 'a file where the folder goes',
    code: 'E_INVALID_ARGUMENT',
    plant: (dir) => {
      writeFileSync(dir, 'a file');
      return dir;
    },
  },
  {
    name: "a folder above it a symlink of another user's (to a root-only folder)",
    code: 'E_FORBIDDEN',
    plant: (_dir, work) => {
      const target = secretFolder(work);
      const shared = join(work, 'shared');
      mkdirSync(shared, { mode: 0o1777 });
      chmodSync(shared, 0o1777);
      symlinkSync(work, join(shared, 'up'));
      lchownSync(join(shared, 'up'), NOBODY, NOBODY);
      return target;
    },
    target: (work) => join(work, 'shared', 'up', 'root-only'),
  },
  {
    name: "a new folder inside a folder of another user's",
    code: 'E_FORBIDDEN',
    plant: (_dir, work) => {
      othersFolder(join(work, 'theirs'));
      return join(work, 'theirs');
    },
    target: (work) => join(work, 'theirs', 'out'),
  },
  {
    name: 'a folder inside one anyone may write in, not sticky',
    code: 'E_FORBIDDEN',
    plant: (_dir, work) => {
      mkdirSync(join(work, 'open'));
      chmodSync(join(work, 'open'), 0o777);
      return join(work, 'open');
    },
    target: (work) => join(work, 'open', 'out'),
  },
  {
    name: 'a new folder under a symlink of ours that leads into the home',
    code: 'E_INVALID_ARGUMENT',
    plant: (_dir, work, home) => {
      symlinkSync(home, join(work, 'to-home'));
      return join(home, 'bases');
    },
    target: (work) => join(work, 'to-home', 'bases', 'new'),
  },
];

describe('box export: the layout folder', () => {
  it.each(tricks)('refuses $name ($code) and writes nothing', ({ plant, code, target }) => {
    const { home, exportTo } = homeWithBox();
    const work = tmp();
    const dir = join(work, 'layout');
    const pointedAt = plant(dir, work, home);
    const isFolder = statSync(pointedAt, { throwIfNoEntry: false })?.isDirectory() ?? false;
    const before = isFolder ? contents(pointedAt) : null;
    const workBefore = contents(work);
    expect(() => exportTo(target ? target(work) : dir)).toThrow(expect.objectContaining({ code }));
    if (before) expect(contents(pointedAt)).toEqual(before);
    expect(contents(work)).toEqual(workBefore);
  });

  it('a blob path holding a symlink is refused, not taken for the blob', () => {
    const { exportTo } = homeWithBox();
    const work = tmp();
    const first = join(work, 'first');
    exportTo(first);
    const [digest] = readdirSync(join(first, 'blobs', 'sha256'));
    const dir = join(work, 'second');
    mkdirSync(join(dir, 'blobs', 'sha256'), { recursive: true, mode: 0o700 });
    symlinkSync('/etc/passwd', join(dir, 'blobs', 'sha256', digest!));
    expect(() => exportTo(dir)).toThrow(expect.objectContaining({ code: 'E_FORBIDDEN' }));
  });

  it('a fresh export is private: folders 0700, files 0600; a second one into it keeps its tags', () => {
    const { exportTo } = homeWithBox();
    const dir = join(tmp(), 'new', 'layout');
    exportTo(dir);
    for (const folder of [dir, join(dir, 'blobs'), join(dir, 'blobs', 'sha256')]) expect(statSync(folder).mode & 0o777).toBe(0o700);
    const files = [join(dir, 'index.json'), join(dir, 'oci-layout'), ...readdirSync(join(dir, 'blobs', 'sha256')).map((b) => join(dir, 'blobs', 'sha256', b))];
    for (const file of files) expect(statSync(file).mode & 0o777, file).toBe(0o600);
    exportTo(dir);
    expect((JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as { manifests: unknown[] }).manifests).toHaveLength(1);
  });
});
