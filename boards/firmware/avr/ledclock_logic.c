/* See ledclock_logic.h. */
#include "ledclock_logic.h"

static const uint16_t step_ticks[LC_LATCHED_ROWS] = LC_LATCHED_STEP_TICKS;
static const uint8_t leds[LC_LATCHED_ROWS] = LC_LATCHED_LEDS;

_Static_assert(LC_COUNTER_BITS >= 1 && LC_COUNTER_BITS <= 32, "the counter holds 1 to 32 bits");

void lc_init(lc_state *s)
{
    s->tick = 0;
    for (uint8_t r = 0; r < LC_LATCHED_ROWS; r++) {
        s->phase[r] = 0;
        s->led[r] = 0;
    }
    s->unit_phase = 0;
    s->units = 0;
}

void lc_advance(lc_state *s)
{
    s->tick++;
    for (uint8_t r = 0; r < LC_LATCHED_ROWS; r++) {
        if (++s->phase[r] == step_ticks[r]) {
            s->phase[r] = 0;
            if (++s->led[r] == leds[r])
                s->led[r] = 0;
        }
    }
    if (++s->unit_phase == LC_COUNTER_UNIT_TICKS) {
        s->unit_phase = 0;
        s->units++;
#if LC_COUNTER_BITS < 32
        s->units &= (1UL << LC_COUNTER_BITS) - 1;
#endif
    }
}

uint32_t lc_gray(const lc_state *s)
{
    return s->units ^ (s->units >> 1);
}

void lc_chain(const lc_state *s, uint8_t out[LC_CHAIN_BYTES])
{
    static const uint8_t bit[8] = {1, 2, 4, 8, 16, 32, 64, 128};
    for (uint8_t k = 0; k < LC_CHAIN_BYTES; k++)
        out[k] = 0;
    uint8_t j = 0; /* the first output of the row */
    for (uint8_t r = 0; r < LC_LATCHED_ROWS; r++) {
        uint8_t lit = (uint8_t)(j + s->led[r]);
        out[lit >> 3] |= bit[lit & 7];
        j = (uint8_t)(j + leds[r]);
    }
    /* j == LC_COUNTER_OFFSET when LC_LATCHED_LEDS_TOTAL is right (the host test checks it) */
    uint32_t word = lc_gray(s);
    for (uint32_t mask = 1UL << (LC_COUNTER_BITS - 1); mask; mask >>= 1, j++) { /* top bit first */
        if (word & mask)
            out[j >> 3] |= bit[j & 7];
    }
}
