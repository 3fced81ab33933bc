// The header block of a raw message as fields in order (duplicates kept), for
// reading trace and verdict headers by position: a received copy's headers are
// prepended hop by hop (RFC 5321 §4.4), so where a field stands says who wrote it.

export interface Field {
  /** lower-case field name */
  name: string;
  /** the value, unfolded (RFC 5322 §2.2.3), trimmed */
  value: string;
  /** the field as written, folds included (CRLF between lines) */
  raw: string;
}

/** The header block of a message (up to the first empty line), unfolded, as fields in order. */
export function headerFields(source: Buffer | string): Field[] {
  const text = typeof source === 'string' ? source : source.toString('utf8');
  const end = text.search(/\r?\n\r?\n/);
  const block = end < 0 ? text : text.slice(0, end);
  const out: Field[] = [];
  for (const line of block.split(/\r?\n/)) {
    if (/^[ \t]/.test(line) && out.length) {
      const last = out[out.length - 1]!;
      last.raw += `\r\n${line}`;
      last.value = `${last.value} ${line.trim()}`.trim();
      continue;
    }
    const i = line.indexOf(':');
    if (i > 0) out.push({ name: line.slice(0, i).trim().toLowerCase(), value: line.slice(i + 1).trim(), raw: line });
  }
  return out;
}
