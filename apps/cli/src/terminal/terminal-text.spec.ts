import { formatAge, formatDuration, formatTable, paintWith, printable, stripAnsi, truncateVisible, visibleWidth } from './terminal-text';

describe('terminal text', () => {
  const paint = paintWith(true);

  it('colours only when enabled', () => {
    expect(paintWith(false)('red', 'FAILED')).toBe('FAILED');
    expect(paint('red', 'FAILED')).toBe('\u001b[31mFAILED\u001b[39m');
    expect(stripAnsi(paint('green', 'ok'))).toBe('ok');
  });

  it('measures and truncates by visible columns, keeping escape codes whole', () => {
    const coloured = `${paint('green', 'SUCCEEDED')} after a long while`;
    expect(visibleWidth(coloured)).toBe(28);
    const cut = truncateVisible(coloured, 12);
    expect(stripAnsi(cut)).toBe('SUCCEEDED a…');
    expect(cut.endsWith('\u001b[0m')).toBe(true);
    expect(truncateVisible('short', 12)).toBe('short');
  });

  it('formats durations and ages compactly', () => {
    expect(formatDuration(120)).toBe('120ms');
    expect(formatDuration(1_234)).toBe('1.2s');
    expect(formatDuration(125_000)).toBe('2m05s');
    expect(formatDuration(3 * 3600_000 + 4 * 60_000)).toBe('3h04m');
    const now = new Date('2024-11-23T12:00:00Z');
    expect(formatAge(new Date('2024-11-23T11:59:55Z'), now)).toBe('5s ago');
    expect(formatAge(new Date('2024-11-23T09:00:00Z'), now)).toBe('3h ago');
  });

  it('lays out a table with right-aligned numbers and no trailing blanks', () => {
    expect(
      formatTable(
        [{ title: 'STEP' }, { title: 'N', align: 'right' }, { title: 'NOTE' }],
        [
          ['ReserveSite', '1', ''],
          ['ProvisionDatabase', '12', 'slow'],
        ],
      ),
    ).toEqual(['STEP                N  NOTE', 'ReserveSite         1', 'ProvisionDatabase  12  slow']);
  });

  it('neutralises control characters from server text', () => {
    expect(printable('a\u001b[2Jb')).toBe('a�[2Jb');
  });
});
