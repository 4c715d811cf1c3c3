type ColumnType =
  | Float64ArrayConstructor
  | Int32ArrayConstructor
  | Uint32ArrayConstructor
  | Uint16ArrayConstructor
  | Uint8ArrayConstructor;
type Column = Float64Array | Int32Array | Uint32Array | Uint16Array | Uint8Array;

const PAGE_SIZE = 4_096;

interface Page {
  present: Uint8Array;
  columns: Column[];
}

/**
 * Numbers per dead letter (partition and offset) in typed columns, in pages of
 * 4,096 offsets allocated on first use: a few bytes for each entry, and nothing for
 * the offsets never set. A Map with a string key and an object per entry took
 * hundreds of bytes each, which at a million dead letters was most of the memory.
 */
export class OffsetTable {
  private readonly partitions = new Map<number, Map<number, Page>>();
  private count = 0;

  constructor(private readonly types: ColumnType[]) {}

  get size(): number {
    return this.count;
  }

  /** Sets the row of `partition`:`offset` (one value per column). */
  set(partition: number, offset: number, values: number[]): void {
    let pages = this.partitions.get(partition);
    if (!pages) {
      pages = new Map();
      this.partitions.set(partition, pages);
    }
    const pageNumber = Math.floor(offset / PAGE_SIZE);
    let page = pages.get(pageNumber);
    if (!page) {
      page = { present: new Uint8Array(PAGE_SIZE), columns: this.types.map((Type) => new Type(PAGE_SIZE)) };
      pages.set(pageNumber, page);
    }
    const index = offset % PAGE_SIZE;
    if (page.present[index] === 0) this.count++;
    page.present[index] = 1;
    for (let c = 0; c < values.length; c++) page.columns[c]![index] = values[c]!;
  }

  /** The row of `partition`:`offset`, or undefined when it was never set. */
  get(partition: number, offset: number): number[] | undefined {
    const page = this.partitions.get(partition)?.get(Math.floor(offset / PAGE_SIZE));
    const index = offset % PAGE_SIZE;
    if (!page || page.present[index] === 0) return undefined;
    return page.columns.map((column) => column[index]!);
  }

  has(partition: number, offset: number): boolean {
    const page = this.partitions.get(partition)?.get(Math.floor(offset / PAGE_SIZE));
    return page !== undefined && page.present[offset % PAGE_SIZE] === 1;
  }
}
