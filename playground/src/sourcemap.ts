// Maps a position in the bundle esbuild made back to the line of the user's source, from the
// bundle's source map (VLQ "mappings"). Only what the page needs: generated line/column ->
// original line, for the user's own file.

const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

interface Segment { col: number; source: number; line: number; column: number }

export interface SourceMapJson { sources: string[]; mappings: string }

export class LineMapper {
  private readonly lines: Segment[][] = [];
  constructor(private readonly map: SourceMapJson, private readonly sourceIndex: number) {
    let source = 0, line = 0, column = 0;
    for (const text of map.mappings.split(";")) {
      const segs: Segment[] = [];
      let col = 0;
      for (const seg of text.split(",")) {
        if (seg === "") continue;
        const values: number[] = [];
        let value = 0, shift = 0;
        for (const ch of seg) {
          const digit = B64.indexOf(ch);
          value += (digit & 31) << shift;
          if (digit & 32) shift += 5;
          else {
            values.push(value & 1 ? -(value >>> 1) : value >>> 1);
            value = 0;
            shift = 0;
          }
        }
        col += values[0]!;
        if (values.length >= 4) {
          source += values[1]!;
          line += values[2]!;
          column += values[3]!;
          segs.push({ col, source, line, column });
        }
      }
      this.lines.push(segs);
    }
  }

  /** 1-based original line of a 1-based generated line and 0-based column, or null. */
  originalLine(genLine: number, genCol: number): number | null {
    const segs = this.lines[genLine - 1];
    if (segs === undefined) return null;
    let best: Segment | null = null;
    for (const s of segs) {
      if (s.source !== this.sourceIndex) continue;
      if (s.col <= genCol) best = s;
      else if (best === null) best = s;
    }
    return best === null ? null : best.line + 1;
  }
}

/** 1-based line and 0-based column of an offset in `text`. */
export function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1, last = -1;
  for (let i = text.indexOf("\n"); i !== -1 && i < offset; i = text.indexOf("\n", i + 1)) {
    line++;
    last = i;
  }
  return { line, column: offset - last - 1 };
}
