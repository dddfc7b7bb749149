import { explainCommitFailure, inlineParameters } from './deferred-writes';

describe('inlineParameters', () => {
  it('writes every kind of value as a literal, in one pass over the statement', () => {
    const at = new Date('2026-12-01T10:00:00.000Z');
    expect(inlineParameters('SELECT $1, $2, $3, $4, $5, $6, $7', ["it's", 42, true, null, at, undefined, { a: "o'k" }])).toBe(
      `SELECT 'it''s', 42, TRUE, NULL, '2026-12-01T10:00:00.000Z', NULL, '{"a":"o''k"}'`,
    );
  });

  it('never reads a placeholder inside a value it wrote in', () => {
    expect(inlineParameters('UPDATE t SET a = $1, b = $2', ['costs $2', 'x'])).toBe(`UPDATE t SET a = 'costs $2', b = 'x'`);
  });

  it('reads $10 as the tenth parameter, not the first followed by a zero', () => {
    const params = Array.from({ length: 10 }, (_, index) => index + 1);
    expect(inlineParameters('SELECT $10, $1', params)).toBe('SELECT 10, 1');
  });

  it('refuses a placeholder with no parameter and a number SQL cannot spell', () => {
    expect(() => inlineParameters('SELECT $2', [1])).toThrow('names $2 but has 1 parameters');
    expect(() => inlineParameters('SELECT $1', [Number.NaN])).toThrow('cannot inline');
  });
});

describe('explainCommitFailure', () => {
  it('takes the first write that recognises the error, else the error itself', () => {
    const error = Object.assign(new Error('saga x changed'), { code: '40001' });
    const mine = new Error('explained');
    const writes = [
      { sql: 'a', params: [], explainFailure: () => undefined },
      { sql: 'b', params: [], explainFailure: (e: unknown) => (e === error ? mine : undefined) },
    ];
    expect(explainCommitFailure(error, writes)).toBe(mine);
    expect(explainCommitFailure(new Error('other'), [{ sql: 'a', params: [] }])).toEqual(new Error('other'));
  });
});
