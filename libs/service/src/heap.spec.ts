import { DEFAULT_HEAP_GROWTH_PERCENT, limitHeapGrowth } from './heap';

describe('limitHeapGrowth', () => {
  it('caps the heap growth at 20 % by default', () => {
    expect(limitHeapGrowth({}, [])).toBe(DEFAULT_HEAP_GROWTH_PERCENT);
    expect(DEFAULT_HEAP_GROWTH_PERCENT).toBe(20);
  });

  it('takes the percentage from NODE_HEAP_GROWTH_PERCENT', () => {
    expect(limitHeapGrowth({ NODE_HEAP_GROWTH_PERCENT: '50' }, [])).toBe(50);
  });

  it("leaves V8's heuristics alone for 0", () => {
    expect(limitHeapGrowth({ NODE_HEAP_GROWTH_PERCENT: '0' }, [])).toBeNull();
  });

  it('lets a flag given to node win, in NODE_OPTIONS or on the command line', () => {
    expect(limitHeapGrowth({ NODE_OPTIONS: '--enable-source-maps --heap-growing-percent=35' }, [])).toBeNull();
    expect(limitHeapGrowth({ NODE_HEAP_GROWTH_PERCENT: '50' }, ['--heap_growing_percent=10'])).toBeNull();
  });
});
