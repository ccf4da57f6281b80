/* The LED clock's timing logic for the latched rows and the counter: pure C, no hardware, so it compiles for
 * the host too (tests/boards/test_firmware.py checks it against the board file's model).
 *
 * The state describes the LEDs during one tick [n * LC_TICK_NS, (n + 1) * LC_TICK_NS) of board time; it is
 * advanced one tick at a time (no division: the AVR has no divide instruction and a tick is 2560 cycles). */
#ifndef LEDCLOCK_LOGIC_H
#define LEDCLOCK_LOGIC_H

#include <stdint.h>

#include "ledclock_board.h"

/* The 74HC595 chain's outputs: the latched rows' LEDs one after another, then the counter's LEDs (top bit
 * first), rounded up to whole registers. Output j is bit (j % 8) of byte j / 8: register j / 8, pin Q(j % 8). */
#define LC_COUNTER_OFFSET LC_LATCHED_LEDS_TOTAL
#define LC_CHAIN_OUTPUTS (LC_COUNTER_OFFSET + LC_COUNTER_BITS)
#define LC_CHAIN_BYTES ((LC_CHAIN_OUTPUTS + 7) / 8)

typedef struct {
    uint32_t tick;                      /* ticks since board time 0 (wraps after 2^32 ticks, 7.9 days) */
    uint16_t phase[LC_LATCHED_ROWS];    /* ticks into the current step of each latched row */
    uint8_t led[LC_LATCHED_ROWS];       /* the LED lit in each latched row */
    uint32_t unit_phase;                /* ticks into the current counter unit */
    uint32_t units;                     /* counter units since board time 0, modulo 2^LC_COUNTER_BITS */
} lc_state;

/* The state at board time 0: LED 0 of every row lit, counter 0. */
void lc_init(lc_state *s);

/* The state one tick later. */
void lc_advance(lc_state *s);

/* The Gray-coded word the counter shows. */
uint32_t lc_gray(const lc_state *s);

/* The chain's outputs for this state (1 = LED lit). */
void lc_chain(const lc_state *s, uint8_t out[LC_CHAIN_BYTES]);

#endif
