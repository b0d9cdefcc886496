// Loads and stores of a vector's first lanes, for the kernels' row tails,
// written once for every SIMD level (levels.c includes this file first in
// each level's target region).

/// `p[0 … VW)`, with the lanes at or past `left` read as 0 (and not read).
static inline VEC FN(row_load)(const float *p, int64_t left) {
    if (left >= VW) return V_LOAD(p);
    return V_LOAD_MASKED(p, V_MASK(left <= 0 ? 0 : (int32_t)left));
}

/// Stores the lanes of `v` below `left` at p.
static inline void FN(row_store)(float *p, VEC v, int64_t left) {
    if (left >= VW) {
        V_STORE(p, v);
    } else if (left > 0) {
        V_STORE_MASKED(p, v, V_MASK((int32_t)left));
    }
}

/// p[j] for lanes lo ≤ j < hi, 0 in the others (not read: p may point before
/// the row, as long as those lanes are outside [lo, hi)).
static inline VEC FN(row_load_range)(const float *p, int64_t lo, int64_t hi) {
    if (lo <= 0 && hi >= VW) return V_LOAD(p);
    if (lo < 0) lo = 0;
    if (hi > VW) hi = VW;
    if (hi <= lo) return V_ZERO();
    return V_LOAD_MASKED(p, V_MASK_RANGE((int32_t)lo, (int32_t)hi));
}
