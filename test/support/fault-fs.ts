/** In-memory file systems whose fsyncs a test controls: held back (to see what happens before durability) or failing. */
import { MemFileSystem } from '../../lsm/index.js';
import type { WritableFile } from '../../lsm/index.js';

/** Wraps each writable file's sync; everything else goes straight to the in-memory file. */
abstract class SyncHookFs extends MemFileSystem {
  protected abstract onSync(sync: () => Promise<void>): Promise<void>;

  override async openWritable(path: string): Promise<WritableFile> {
    const file = await super.openWritable(path);
    return {
      append: (data) => file.append(data),
      sync: () => this.onSync(() => file.sync()),
      close: () => file.close(),
      get size() {
        return file.size;
      },
    };
  }
}

/** Fsyncs wait while `held` is true; `open()` lets them (and later ones) through. */
export class GatedFs extends SyncHookFs {
  held = false;
  waitingSyncs = 0;
  private release: (() => void)[] = [];

  protected async onSync(sync: () => Promise<void>): Promise<void> {
    if (this.held) {
      this.waitingSyncs++;
      await new Promise<void>((r) => this.release.push(r));
      this.waitingSyncs--;
    }
    return sync();
  }

  open(): void {
    this.held = false;
    for (const r of this.release.splice(0)) r();
  }
}

/** Fsyncs fail with EIO while `failing` is true (a dying disk). */
export class FailingFs extends SyncHookFs {
  failing = false;

  protected onSync(sync: () => Promise<void>): Promise<void> {
    return this.failing ? Promise.reject(new Error('EIO: injected fsync failure')) : sync();
  }
}
