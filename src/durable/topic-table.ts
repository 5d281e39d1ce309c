import { JournalEntryError } from './entries.js';

/**
 * Topic names by the small numbers RECORD entries carry instead of the name: a topic is declared
 * once (a TOPIC entry, and again in every checkpoint, so that deleting old segments never loses
 * a declaration a kept record needs), and each record then costs four bytes for its topic.
 */
export class TopicTable {
  private readonly ids = new Map<string, number>();
  private readonly names: string[] = [];
  /** The last topic asked for: records mostly come in runs of one topic, and every accepted record asks. */
  private lastName: string | undefined;
  private lastId = -1;

  idOf(name: string): number | undefined {
    if (name === this.lastName) return this.lastId;
    const id = this.ids.get(name);
    if (id !== undefined) {
      this.lastName = name;
      this.lastId = id;
    }
    return id;
  }

  nameOf(id: number): string | undefined {
    return this.names[id];
  }

  /** The id the next new topic gets. */
  get nextId(): number {
    return this.names.length;
  }

  /** Records a declaration read back, or made; declaring an id again must give the same name. */
  declare(id: number, name: string): void {
    const known = this.names[id];
    if (known === name) return;
    if (known !== undefined || this.ids.has(name) || !Number.isInteger(id) || id < 0) {
      throw new JournalEntryError(`topic ${id} is declared as "${name}", but the journal knows it as "${known ?? this.ids.get(name)}"`);
    }
    this.names[id] = name;
    this.ids.set(name, id);
  }

  entries(): { id: number; name: string }[] {
    return [...this.ids].map(([name, id]) => ({ id, name }));
  }
}
