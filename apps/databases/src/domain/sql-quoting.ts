/**
 * DDL cannot take bind parameters, so identifiers and literals are quoted here and only
 * here. Both quote unconditionally and double the quote character, the only escape the
 * standard_conforming_strings grammar knows; a NUL byte (which Postgres cannot store and
 * some drivers truncate at) is refused outright.
 */
export function quoteIdentifier(name: string): string {
  if (name.length === 0 || name.includes('\0')) throw new Error('an SQL identifier is non-empty and has no NUL byte');
  if (Buffer.byteLength(name, 'utf8') > 63) throw new Error('an SQL identifier has at most 63 bytes (Postgres would truncate it)');
  return `"${name.replace(/"/g, '""')}"`;
}

export function quoteLiteral(value: string): string {
  if (value.includes('\0')) throw new Error('an SQL literal has no NUL byte');
  return `'${value.replace(/'/g, "''")}'`;
}
