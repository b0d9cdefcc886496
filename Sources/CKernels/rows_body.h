// Loads and stores of a vector's first lanes, for the kernels' row tails,
// and the split of a row into phases (every m-th element) and back,
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
        V_STORE_FIRST(p, v, (int32_t)left);
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

/// The m phases (m = 2 or 4) of m consecutive vectors v: phase q holds
/// elements q, q + m, q + 2m … of their m · VW floats.
static inline __attribute__((always_inline)) void FN(split_phases)(const int32_t m, const VEC *v, VEC *phase) {
    if (m == 2) {
        phase[0] = V_EVEN(v[0], v[1]);
        phase[1] = V_ODD(v[0], v[1]);
        return;
    }
    VEC even_ab = V_EVEN(v[0], v[1]), odd_ab = V_ODD(v[0], v[1]);
    VEC even_cd = V_EVEN(v[2], v[3]), odd_cd = V_ODD(v[2], v[3]);
    phase[0] = V_EVEN(even_ab, even_cd);
    phase[1] = V_EVEN(odd_ab, odd_cd);
    phase[2] = V_ODD(even_ab, even_cd);
    phase[3] = V_ODD(odd_ab, odd_cd);
}

/// The inverse of split_phases: the m phases interleaved back into m
/// consecutive vectors.
static inline __attribute__((always_inline)) void FN(join_phases)(const int32_t m, const VEC *phase, VEC *v) {
    if (m == 2) {
        v[0] = V_ZIP_LO(phase[0], phase[1]);
        v[1] = V_ZIP_HI(phase[0], phase[1]);
        return;
    }
    VEC even_lo = V_ZIP_LO(phase[0], phase[2]), even_hi = V_ZIP_HI(phase[0], phase[2]);
    VEC odd_lo = V_ZIP_LO(phase[1], phase[3]), odd_hi = V_ZIP_HI(phase[1], phase[3]);
    v[0] = V_ZIP_LO(even_lo, odd_lo);
    v[1] = V_ZIP_HI(even_lo, odd_lo);
    v[2] = V_ZIP_LO(even_hi, odd_hi);
    v[3] = V_ZIP_HI(even_hi, odd_hi);
}
